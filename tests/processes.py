"""What a second process (a Celery worker, a web server) needs to reach the test's own services."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


def batch_queue(queue: str) -> str:
    """The test's own stand-in for the "batch" queue of the nightly jobs (CELERY_TASK_ROUTES)."""
    return f"{queue}-batch"


def route_to_test_queues(app: Any, queue: str) -> None:
    """Send ``app``'s tasks to the test's queues: ``queue`` by default, the nightly jobs to its batch queue.

    Celery reads the routes once into its router, so the router is built again from them.
    """
    app.conf.task_default_queue = queue
    app.conf.task_routes = {name: {"queue": batch_queue(queue)} for name in settings.CELERY_TASK_ROUTES}
    app.amqp.flush_routes()
    app.amqp.router = app.amqp.Router()


@contextmanager
def tasks_through(queue: str) -> Iterator[None]:
    """Tasks sent in this block go through the broker (REDIS_URL) to ``queue`` and its batch queue instead of
    running inline; a worker started with ``-Q queue,batch_queue(queue)`` takes them."""
    from xhs.celery import app

    previous = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes)
    app.conf.task_always_eager = False
    route_to_test_queues(app, queue)
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes = previous
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()
