"""Where the cache lives: its own Redis database, apart from the Celery broker's.

Cached pages can be pushed out at any time; queued tasks must never be. Redis applies its memory
limit and eviction policy per server, so production gives the cache a Redis server of its own
(``CACHE_REDIS_URL``; docker-compose's "cache" service: 256 MB, ``allkeys-lru``) and the broker one
that never evicts. Without ``CACHE_REDIS_URL`` the cache takes the next database number on the
broker's server: the keyspaces stay apart (``FLUSHDB`` on one leaves the other) but share its limit.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

#: Redis's default number of databases ("databases 16"): 0..15.
DATABASES = 16


def _database(parts_path: str, query: dict[str, str], url: str) -> int:
    raw = query.get("db") or parts_path.strip("/") or "0"
    if not raw.isdigit() or not 0 <= int(raw) < DATABASES:
        raise ImproperlyConfigured(f"REDIS_URL names database {raw!r}: expected 0..{DATABASES - 1} in {url!r}.")
    return int(raw)


def cache_redis_url(broker_url: str | None, explicit: str | None) -> str | None:
    """The cache's Redis URL: ``CACHE_REDIS_URL`` when set, else the broker's server, next database.

    ``redis://host:6379/0`` gives ``redis://host:6379/1``; database 15 gives 14. None without either.
    """
    if explicit:
        return explicit
    if not broker_url:
        return None
    parts = urlsplit(broker_url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"REDIS_URL must be a redis://, rediss:// or unix:// URL, not {broker_url!r}.")
    query = dict(parse_qsl(parts.query))
    database = _database("" if parts.scheme == "unix" else parts.path, query, broker_url)
    cache_database = database + 1 if database + 1 < DATABASES else database - 1
    if parts.scheme == "unix":
        query["db"] = str(cache_database)
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query)}"
    if "db" in query:
        query["db"] = str(cache_database)
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{cache_database}"))
