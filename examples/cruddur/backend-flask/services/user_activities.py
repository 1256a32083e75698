from datetime import datetime, timedelta, timezone

class UserActivities:
  def run(user_handle):
    model = {
      'errors': None,
      'data': None
    }

    now = datetime.now(timezone.utc).astimezone()

    if user_handle == None or len(user_handle) < 1:
      model['errors'] = ['blank_user_handle']
    else:
      results = [{
        'uuid': '248959df-3079-4947-b847-9e0892d1bab4',
        'handle': user_handle,
        'display_name': user_handle,
        'message': 'Cloud is fun!',
        'created_at': (now - timedelta(days=1)).isoformat(),
        'expires_at': (now + timedelta(days=31)).isoformat(),
        'likes_count': 0,
        'replies_count': 0,
        'reposts_count': 0,
        'replies': []
      }]
      model['data'] = results
    return model
