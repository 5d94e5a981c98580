"""What a second process (a Celery worker, a web server) needs to reach the test's own services."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

#: The rate-limit counters in the cache: allauth's (sign-in) and the API's.
RATE_LIMIT_KEYS = ("*allauth:rl:*", "*api:rate:*")


def worker_database_url() -> str:
    """The test database (pytest-django's test_… name) as a DATABASE_URL for another process."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def rate_limits_forgotten() -> Iterator[None]:
    """No sign-in or API count from before, and none left after: the counters deleted from the cache Redis
    the web processes share (CACHE_REDIS_URL, not the broker's database)."""
    import redis

    client = redis.Redis.from_url(settings.CACHE_REDIS_URL, socket_timeout=5)

    def forget() -> None:
        for pattern in RATE_LIMIT_KEYS:
            for key in client.scan_iter(match=pattern, count=500):
                client.delete(key)

    try:
        forget()
        yield
        forget()
    finally:
        client.close()
