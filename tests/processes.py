"""What a second process (a Celery worker, a web server) needs to reach the test's own services."""

from django.db import connection


def worker_database_url() -> str:
    """The test database (pytest-django's test_… name) as a DATABASE_URL for another process."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
