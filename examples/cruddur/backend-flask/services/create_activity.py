import uuid
from datetime import datetime, timedelta, timezone

class CreateActivity:
  def run(message, user_handle, ttl):
    model = {
      'errors': None,
      'data': None
    }

    now = datetime.now(timezone.utc).astimezone()

    ttl_offsets = {
      '30-days': timedelta(days=30),
      '7-days': timedelta(days=7),
      '3-days': timedelta(days=3),
      '1-day': timedelta(days=1),
      '12-hours': timedelta(hours=12),
      '3-hours': timedelta(hours=3),
      '1-hour': timedelta(hours=1)
    }

    if ttl not in ttl_offsets:
      model['errors'] = ['ttl_blank']

    if user_handle == None or len(user_handle) < 1:
      model['errors'] = ['user_handle_blank']

    if message == None or len(message) < 1:
      model['errors'] = ['message_blank']
    elif len(message) > 280:
      model['errors'] = ['message_exceed_max_chars']

    if model['errors']:
      model['data'] = {
        'handle': user_handle,
        'message': message
      }
    else:
      model['data'] = {
        'uuid': str(uuid.uuid4()),
        'display_name': 'Andrew Brown',
        'handle': user_handle,
        'message': message,
        'created_at': now.isoformat(),
        'expires_at': (now + ttl_offsets[ttl]).isoformat()
      }
    return model
