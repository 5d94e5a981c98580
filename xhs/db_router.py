"""Anonymous reads of the public pages from a read replica (DATABASE_REPLICA_URL); everything else from the primary.

Installed only when DATABASE_REPLICA_URL is set (xhs/settings.py). An anonymous GET or HEAD of a public,
read-only view (``PUBLIC_VIEWS``, and the JSON API) reads from "replica": a visitor who is not signed in
has written nothing they expect to see at once, so the replica's lag (normally under a second) shows
them nothing wrong. Writes, signed-in users (who must read their own writes), the admin, moderation,
jobs, management commands and Celery tasks use "default": the router sends a read to the replica only
inside such a request, marked by ``PublicReadsMiddleware`` in a context variable.
Django reads ``get_or_create`` on the write alias, so a page that fetches a singleton that way
(``policy_get``) reads that one row from the primary.

An unreachable replica costs speed, not pages: the middleware connects to it before the view runs and,
if that fails (after DATABASE_CONNECT_TIMEOUT), the request reads from the primary and the process
leaves the replica alone for ``REPLICA_RETRY_SECONDS``. A replica lost in the middle of a request
fails that request only; the next one finds the connection unusable and falls back.
"""

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.db import OperationalError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

#: The public read-only pages, by URL name; every view of the JSON API (namespace "api-v1") too.
PUBLIC_VIEWS = frozenset(
    {
        "catalog:home",
        "catalog:categories",
        "catalog:category",
        "catalog:product",
        "catalog:product_image",
        "catalog:search",
        "ratings:heart_list",
        "ratings:methodology",
    }
)
PUBLIC_NAMESPACES = frozenset({"api-v1"})
#: After a failed connection, how long a process reads the public pages from the primary before trying again.
REPLICA_RETRY_SECONDS = 30

_public_read: ContextVar[bool] = ContextVar("public_read", default=False)


class ReplicaRouter:
    """Reads go to "replica" inside a public read (the context variable), everything else to "default"."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        return "replica" if _public_read.get() else "default"

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        # Said outright: Django would otherwise write an instance back to the alias it was read from.
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same rows on both aliases

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == "default"  # the replica follows the primary's schema by streaming


class PublicReadsMiddleware:
    """Marks an anonymous GET or HEAD of a public view as a public read while it runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.replica_down_until = 0.0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _public_read.set(False)
        try:
            return self.get_response(request)
        finally:
            _public_read.reset(token)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> None:
        match = request.resolver_match
        public = match is not None and (
            match.view_name in PUBLIC_VIEWS or not PUBLIC_NAMESPACES.isdisjoint(match.namespaces)
        )
        if public and request.method in ("GET", "HEAD") and not request.user.is_authenticated:
            _public_read.set(self.replica_answers())

    def replica_answers(self) -> bool:
        if time.monotonic() < self.replica_down_until:
            return False
        replica = connections["replica"]
        try:
            replica.close_if_health_check_failed()
            replica.ensure_connection()
        except OperationalError:
            logger.warning(
                "read replica unreachable: public pages read from the primary for %ss", REPLICA_RETRY_SECONDS
            )
            self.replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
            return False
        return True
