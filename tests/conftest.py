"""Personas and service switches shared by the whole suite."""

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.factories import OrderLineFactory, ProductFactory, UserFactory
from tests.processes import batch_queue, tasks_through, worker_database_url

CHROMIUM = "/usr/bin/chromium"


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Skip, with a reason shown in the summary, every test whose service is missing here."""
    missing = {
        "postgres": None if _on_postgres() else "needs PostgreSQL: set DATABASE_URL=postgres://...",
        "redis": None if os.environ.get("REDIS_URL") else "needs Redis: set REDIS_URL=redis://...",
        "browser": None if shutil.which(CHROMIUM) else f"needs Chromium at {CHROMIUM} (apt-get install chromium)",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def shopper(db: None) -> Any:
    """A signed-up visitor with no purchases."""
    return UserFactory(display_name="Shopper")


@pytest.fixture
def buyer(db: None) -> Any:
    """A user with a genuine purchase in the last year."""
    user = UserFactory(display_name="Buyer")
    OrderLineFactory(buyer=user, product=ProductFactory())
    return user


@pytest.fixture
def staff(db: None) -> Any:
    return UserFactory(display_name="Staff", is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """Each test starts in the site's default language: a request's language stays active in the thread
    after the response, and would otherwise leak into the next test."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media_of_its_own(settings: Any, tmp_path: Path) -> None:
    """Files a test makes (open-data releases) go to a folder of its own: never the checkout's media/, where
    they would sit beside (and be taken for) the files of the database the developer serves."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Each test starts with an empty cache, as pages cache what is expensive."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def cache_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the cache operations made from here on, in order: against Redis each is one round trip. Only
    the outermost call counts (the in-process cache of a run without Redis makes ``get_many`` of ``get``)."""
    from django.core.cache import caches

    backend, calls, depth = caches["default"], [], [0]

    def recording(name: str, call: Any) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            if not depth[0]:
                calls.append(name)
            depth[0] += 1
            try:
                return call(*args, **kwargs)
            finally:
                depth[0] -= 1

        return recorded

    for name in ("get", "get_many", "has_key", "set", "set_many", "add", "delete", "delete_many", "incr"):
        monkeypatch.setattr(backend, name, recording(name, getattr(backend, name)))
    return calls


@pytest.fixture
def celery_worker(transactional_db: None) -> Any:
    """A real Celery worker process on Redis, sharing the test database through committed rows.

    Tasks sent while this fixture is active go through the broker instead of running inline.
    Needs PostgreSQL (a second process cannot see SQLite's in-memory test database) and Redis.
    """
    import subprocess
    import sys
    import time
    import uuid

    from xhs.celery import app

    if not (_on_postgres() and os.environ.get("REDIS_URL")):
        pytest.skip("a real Celery worker needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    database_url = worker_database_url()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "xhs.settings", "TEST_QUEUE": queue}
    worker = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.worker_app",
            "worker",
            "-P",
            "solo",
            "-Q",
            f"{queue},{batch_queue(queue)}",
            "-n",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )

    def answers() -> bool:
        try:
            return bool(app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5))
        except (RedisConnectionError, OSError):
            # a broker connection that an earlier test's Redis restart closed: drop it, ask again
            app.close()
            return False

    try:
        with tasks_through(queue):
            deadline = time.monotonic() + 30
            while not answers():
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Celery worker did not start")
            yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=20)
