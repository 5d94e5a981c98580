"""Liveness and readiness probes, for load balancers, orchestrators and monitoring.

* ``/healthz/`` (liveness): the process answers. It touches nothing, so a dependency's outage never
  gets a healthy process restarted.
* ``/readyz/`` (readiness): the database, the cache and the Celery broker, each checked on its own with
  a short timeout; 200 when all answer, 503 otherwise, with a JSON body naming each check's state.
  While the cache or broker is down the site still serves (xhs/cache.py, robust enqueues and the
  sweeps), so alert on a 503 and hold deploys on it; whether to take an instance out of rotation on
  "cache" or "broker" alone is the operator's choice (README, "Health probes").

Error details go to the log, not the body: exception messages name internal hosts and ports.
"""

import logging
from collections.abc import Callable

from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from xhs.cache import FailSoftRedisCache

logger = logging.getLogger(__name__)

#: Seconds a broker check may take before it counts as down.
BROKER_TIMEOUT = 1


def database_check() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def cache_check() -> None:
    backend = caches["default"]
    if isinstance(backend, FailSoftRedisCache):
        backend.ping()  # the backend itself would hide an outage as a miss
        return
    backend.set("xhs:readyz", "ok", 10)
    if backend.get("xhs:readyz") != "ok":
        raise RuntimeError("the cache did not return what was just stored")


def broker_check() -> None:
    from xhs.celery import app

    # A hung Redis still accepts connections: its answer to the client's handshake must be waited on briefly.
    options = {**app.conf.broker_transport_options, "socket_timeout": BROKER_TIMEOUT}
    with app.connection_for_write(transport_options=options) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT)


CHECKS: dict[str, Callable[[], None]] = {"database": database_check, "cache": cache_check, "broker": broker_check}


@require_GET
def liveness(request: HttpRequest) -> HttpResponse:
    """The process answers, nothing more."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
@never_cache
def readiness(request: HttpRequest) -> JsonResponse:
    """Each dependency checked separately: 503 naming the ones that failed."""
    checks: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; logged with its cause
            logger.warning("Readiness: %s unavailable: %s: %s", name, type(exc).__name__, exc)
            checks[name] = "unavailable"
        else:
            checks[name] = "ok"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)
