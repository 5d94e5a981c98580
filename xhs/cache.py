"""A Redis cache that fails soft: while Redis is unreachable every read is a miss and every write a no-op.

Nothing we cache is the truth: pages, figures and lists are rebuilt from PostgreSQL on a miss. So an
outage of the cache's Redis should cost speed, never pages: Django's RedisCache raises on ``get``,
which turned every public page into a 500 while Redis was down (see docs and RELIABILITY.md).

While Redis is unreachable:

* ``get``/``get_many``/``has_key`` miss, ``set``/``set_many``/``delete`` store nothing, ``incr`` raises
  ``ValueError`` as for a missing key;
* ``hit`` (a rate-limit counter) answers None: the caller's limit fails open;
* ``add`` answers True ("the key was absent, as far as we know"). allauth takes its rate-limit lock
  with ``add`` and refuses the request when it cannot: answering False would lock everybody out of
  sign-in during an outage. Rate limits (and any other ``add`` lock) therefore fail OPEN, logged;
* after a failure the backend stops asking Redis for ``RETRY_AFTER`` seconds (each page would
  otherwise wait for a timeout per cache call when Redis hangs rather than refuses), and it logs one
  warning per ``WARN_EVERY`` seconds, with the number of operations served without Redis since.

``ping`` raises instead: the readiness probe (xhs/health.py) must see the outage.
"""

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import redis
from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import transaction
from redis import exceptions as redis_errors

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: "The caller did not read this key": for functions that can take a value their caller read with other keys
#: in one round trip (``cache.get_many``), where None means the key was missing.
NOT_READ: Any = object()

#: What an unreachable, restarting, read-only (failed-over) or full Redis raises; not programming errors.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,  # includes BusyLoadingError, MaxConnectionsError
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    redis_errors.OutOfMemoryError,
    OSError,
)


class _ClientPerPool(RedisCacheClient):
    """Django's client, keeping one ``redis.Redis`` per connection pool. Django builds a new one for every cache
    operation, and its constructor sets up some two hundred reply callbacks: about 50 µs of CPU each time, a
    quarter of a signed-in page's five cache reads. A ``redis.Redis`` holds no connection of its own (it takes
    one from the pool per command, and the pool starts afresh in a forked worker), so sharing it is safe."""

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}
        self._reader = threading.local()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # undeclared in the stubs
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = redis.Redis(connection_pool=pool)
        return client

    def read_many(self, keys: list[str]) -> list[bytes | None]:
        """MGET on a connection this thread keeps past the pool. A command through ``redis.Redis`` cost ~70 µs of
        CPU here against ~35 µs sent on a connection directly (taking the connection from the pool and giving it
        back, the check that it holds no stale reply, the retry wrappers): every cached page pays one. The
        connection is the pool's kind with the pool's settings; made again in a forked process; dropped after any
        error (no stale reply is ever read), and a command that failed is sent once more on a new one, so a
        connection Redis closed while idle costs a reconnect, not a miss."""
        pool = self._get_connection_pool(False)  # type: ignore[attr-defined]  # undeclared in the stubs
        kept = getattr(self._reader, "kept", None)
        if kept is None or kept[0] != os.getpid() or kept[1] is not pool:
            kept = self._reader.kept = (os.getpid(), pool, pool.connection_class(**pool.connection_kwargs))
        connection = kept[2]
        try:
            connection.send_command("MGET", *keys)
            return cast(list[bytes | None], connection.read_response())
        except OUTAGE_ERRORS:
            connection.disconnect()
        connection.send_command("MGET", *keys)
        try:
            return cast(list[bytes | None], connection.read_response())
        except OUTAGE_ERRORS:
            connection.disconnect()
            raise


class FailSoftRedisCache(RedisCache):
    """Django's RedisCache, with Redis errors turned into misses (see the module docstring)."""

    #: Seconds without asking Redis after a failure.
    RETRY_AFTER = 2.0
    #: Seconds between two warnings about the same outage.
    WARN_EVERY = 60.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientPerPool
        self._lock = threading.Lock()
        self._skip_until = 0.0
        self._last_warning = 0.0
        self._down_since: float | None = None
        self._missed = 0

    def validate_key(self, key: str) -> None:
        """Nothing to check: Django's base warns about keys memcached would refuse (over 250 characters, spaces or
        control characters), through a lazily compiled pattern, for every key of every call: 1.4 µs a key, 9 µs
        of a kept page's ~1 ms of CPU. Redis takes any key."""

    # --- the outage bookkeeping ------------------------------------------------------------------

    def _attempt(self, operation: str, call: Callable[[], T], fallback: T) -> T:
        if self._down_since is not None and time.monotonic() < self._skip_until:
            self._count_miss()
            return fallback
        try:
            result = call()
        except OUTAGE_ERRORS as exc:
            self._failed(operation, exc)
            return fallback
        if self._down_since is not None:
            self._recovered()
        return result

    def _count_miss(self) -> None:
        with self._lock:
            self._missed += 1

    def _failed(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._missed += 1
            if self._down_since is None:
                self._down_since = now
            self._skip_until = now + self.RETRY_AFTER
            warn = now - self._last_warning >= self.WARN_EVERY
            if warn:
                self._last_warning = now
                missed, self._missed = self._missed, 0
        if warn:
            logger.warning(
                "Cache unavailable (%s on %s: %s): serving without it, rate limits fail open;"
                " %d cache operations served without Redis since the last warning",
                type(exc).__name__,
                operation,
                exc,
                missed,
            )

    def _recovered(self) -> None:
        with self._lock:
            if self._down_since is None:
                return
            seconds, missed = time.monotonic() - self._down_since, self._missed
            self._down_since, self._missed, self._last_warning = None, 0, 0.0
        logger.warning("Cache reachable again after %.0f s (%d operations served without it)", seconds, missed)

    # --- the cache API ---------------------------------------------------------------------------

    def ping(self) -> None:
        """Ask Redis directly; raises when it does not answer (for the readiness probe)."""
        self._cache.get_client(write=True).ping()

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._attempt("add", lambda: RedisCache.add(self, key, value, timeout, version), True)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._attempt("get", lambda: RedisCache.get(self, key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._attempt("set", lambda: RedisCache.set(self, key, value, timeout, version), None)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._attempt("touch", lambda: RedisCache.touch(self, key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._attempt("delete", lambda: RedisCache.delete(self, key, version), False)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        """Django's ``get_many``, read by ``_ClientPerPool.read_many``: a page's one round trip."""

        def read() -> dict[Any, Any]:
            asked = {self.make_key(key, version=version): key for key in keys}
            client = cast(_ClientPerPool, self._cache)
            values = client.read_many(list(asked))
            loads = client._serializer.loads  # type: ignore[attr-defined]  # Django's, undeclared in the stubs
            return {key: loads(value) for key, value in zip(asked.values(), values, strict=True) if value is not None}

        return self._attempt("get_many", read, {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._attempt("has_key", lambda: RedisCache.has_key(self, key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        missing = object()
        value = self._attempt("incr", lambda: RedisCache.incr(self, key, delta, version), missing)
        if value is missing:
            raise ValueError(f"Key '{key}' not found (the cache is unavailable).")
        assert isinstance(value, int)  # noqa: S101 - Redis INCR answers an integer
        return value

    def hit(self, key: Any, timeout: int, version: int | None = None) -> int | None:
        """Count one hit on a counter that lives ``timeout`` seconds from its first hit, and answer the count.

        One round trip (SET NX EX then INCR, pipelined): a rate limit pays it on every request, where
        Django's ``add`` + ``incr`` cost three. Each command is atomic, and together they need no MULTI:
        whichever client's SET wins starts the counter, every INCR counts. None while Redis is unreachable."""

        def count() -> int:
            redis_key = self.make_and_validate_key(key, version=version)
            pipeline = self._cache.get_client(redis_key, write=True).pipeline(transaction=False)
            pipeline.set(redis_key, 0, ex=timeout, nx=True)
            pipeline.incr(redis_key)
            return int(pipeline.execute()[1])

        return self._attempt("hit", count, None)

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return self._attempt("set_many", lambda: RedisCache.set_many(self, data, timeout, version), list(data))

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._attempt("delete_many", lambda: RedisCache.delete_many(self, keys, version), None)

    def clear(self) -> None:
        self._attempt("clear", lambda: RedisCache.clear(self), None)


def forget_later(keys: list[str]) -> None:
    """Delete these keys now and again when the current transaction commits: now for the pages this transaction
    renders, at the commit for those another process rendered in between from the rows as they were."""
    if not keys:
        return
    cache.delete_many(keys)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: cache.delete_many(keys))
