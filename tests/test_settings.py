"""Configuration comes from the environment and fails fast: each case starts manage.py in a fresh process
with exactly the variables it sets."""

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "example.com",
    # Parsed, never connected to: `check --deploy` does not touch the database or Redis.
    "DATABASE_URL": "postgres://xhs:secret@db:5432/xhs",
    "REDIS_URL": "redis://redis:6379/0",
}

SHOW_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "debug": settings.DEBUG,
}))
"""


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run manage.py with only PATH and the given variables in its environment."""
    return subprocess.run(  # noqa: S603 - our own interpreter and script, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "xhs.settings", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_with_nothing_set_it_runs_on_sqlite_with_eager_celery() -> None:
    result = manage("shell", "--no-imports", "-c", SHOW_SETTINGS)

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown == {"engine": "django.db.backends.sqlite3", "eager": True, "debug": True}


def test_with_redis_and_postgres_set_it_uses_them_and_real_workers() -> None:
    result = manage("shell", "--no-imports", "-c", SHOW_SETTINGS, env=PRODUCTION)

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown == {"engine": "django.db.backends.postgresql", "eager": False, "debug": False}


SHOW_CELERY_TIMES = """
import json
from django.conf import settings
print(json.dumps([
    settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"],
    settings.CELERY_TASK_SOFT_TIME_LIMIT,
    settings.CELERY_TASK_TIME_LIMIT,
    settings.JOB_STALLED_AFTER_SECONDS,
]))
"""


def test_by_default_a_dead_workers_task_comes_back_within_minutes_and_no_task_outlives_the_wait() -> None:
    result = manage("shell", "--no-imports", "-c", SHOW_CELERY_TIMES, env=PRODUCTION)

    assert result.returncode == 0, result.stderr
    visibility, soft, hard, stalled = json.loads(result.stdout.strip().splitlines()[-1])
    assert visibility <= 10 * 60
    assert soft < hard < visibility < visibility + hard < stalled


def test_production_without_a_secret_key_refuses_to_start() -> None:
    result = manage("check", env={"DEBUG": "0", "ALLOWED_HOSTS": "example.com"})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("CONN_MAX_AGE", "a minute", "CONN_MAX_AGE must be an integer"),
        ("DATABASE_URL", "postgress//db/xhs", "DATABASE_URL is not a valid database URL"),
        ("SECURE_HSTS_SECONDS", "1y", "SECURE_HSTS_SECONDS must be an integer"),
        ("EMAIL_USE_TLS", "sometimes", "EMAIL_USE_TLS must be a boolean"),
        ("CELERY_VISIBILITY_TIMEOUT", "300", "< CELERY_VISIBILITY_TIMEOUT: a task that outlives"),
        ("JOB_STALLED_AFTER_SECONDS", "900", "Set JOB_STALLED_AFTER_SECONDS above CELERY_VISIBILITY_TIMEOUT"),
    ],
)
def test_a_malformed_value_stops_the_start_naming_the_variable(variable: str, value: str, message: str) -> None:
    env = {**PRODUCTION, "EMAIL_HOST": "smtp.example.com", variable: value}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_settings_pass_the_deploy_check_without_a_single_warning() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_env_example_lists_every_variable_the_settings_read() -> None:
    settings_source = (ROOT / "xhs" / "settings.py").read_text()
    read = set(re.findall(r"env_(?:str|bool|int|list|optional)\(\s*\"([A-Z0-9_]+)\"", settings_source))
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z0-9_]+)=", example, flags=re.MULTILINE))

    assert read, "the pattern no longer finds the settings' environment readers"
    assert read <= listed, f"missing from .env.example: {sorted(read - listed)}"


SHOW_DATABASES = """
import json
from django.conf import settings
print(json.dumps({
    "aliases": sorted(settings.DATABASES),
    "routers": settings.DATABASE_ROUTERS,
    "middleware": "xhs.db_router.PublicReadsMiddleware" in settings.MIDDLEWARE,
    "replica": settings.DATABASES.get("replica"),
}))
"""


def shown_databases(env: dict[str, str]) -> dict[str, Any]:
    result = manage("shell", "--no-imports", "-c", SHOW_DATABASES, env=env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_without_a_replica_url_there_is_no_replica_and_no_router() -> None:
    shown = shown_databases(PRODUCTION)

    assert shown == {"aliases": ["default"], "routers": [], "middleware": False, "replica": None}


def test_a_replica_url_adds_the_replica_with_the_primarys_options_and_the_router() -> None:
    replica_url = "postgres://reader:secret@db-replica:5432/xhs"

    shown = shown_databases({**PRODUCTION, "DATABASE_REPLICA_URL": replica_url, "DATABASE_CONNECT_TIMEOUT": "3"})

    assert shown["aliases"] == ["default", "replica"]
    assert shown["routers"] == ["xhs.db_router.ReplicaRouter"]
    assert shown["middleware"] is True
    replica = shown["replica"]
    assert (replica["HOST"], replica["USER"], replica["CONN_MAX_AGE"]) == ("db-replica", "reader", 60)
    assert replica["CONN_HEALTH_CHECKS"] is True
    assert replica["OPTIONS"]["connect_timeout"] == 3


def test_a_replica_url_without_a_database_url_stops_the_start() -> None:
    result = manage("check", env={"DATABASE_REPLICA_URL": "postgres://reader@db-replica/xhs"})

    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL is a replica of DATABASE_URL" in result.stderr
