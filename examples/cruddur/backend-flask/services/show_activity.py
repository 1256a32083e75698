from datetime import datetime, timedelta, timezone

class ShowActivity:
  def run(activity_uuid):
    now = datetime.now(timezone.utc).astimezone()
    results = [{
      'uuid': activity_uuid,
      'handle': 'Andrew Brown',
      'display_name': 'Andrew Brown',
      'message': 'Cloud is fun!',
      'created_at': (now - timedelta(days=2)).isoformat(),
      'expires_at': (now + timedelta(days=5)).isoformat(),
      'likes_count': 0,
      'replies_count': 0,
      'reposts_count': 0,
      'replies': []
    }]
    return results
