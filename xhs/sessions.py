"""Sessions kept in PostgreSQL, read from the cache: Django's ``cached_db`` with the cached copy kept minutes.

Every signed-in page loads its session; from the database that was a query a page, from the cache one Redis
read. The database stays the truth: a session is written there first, and a cache miss (an expired copy, Redis
down, evicted) reads it back from there. Sign-out deletes both (``flush``), and a password change is still
caught at every request by the session's hash of the password (``django.contrib.auth.get_user``), which
reads the account itself.

Why minutes, not the session's two weeks: our cache fails soft (``xhs/cache.py``), so a sign-out while Redis
is unreachable deletes the database row but not the copy. Kept at most ``COPY_SECONDS``, such a copy
outlives the sign-out by minutes at worst, and a session costs one database read per ``COPY_SECONDS``.
"""

from collections.abc import Mapping
from typing import Any, cast

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.core.cache.backends.base import BaseCache

#: How long the cache keeps a copy of a session.
COPY_SECONDS = 300


class SessionStore(cached_db.SessionStore):
    _cache: BaseCache  # set by cached_db's __init__, undeclared in the stubs

    def load_from(self, found: Mapping[str, object]) -> None:
        """Take this session's cached copy from ``found``, values read together with others in one cache round
        trip (a key it was asked for: ``cache_key``), so that the session costs no trip of its own. Without a
        copy there (or a session key) it loads as usual, when first read."""
        data = found.get(self.cache_key) if self.session_key else None
        if isinstance(data, dict) and not hasattr(self, "_session_cache"):
            self._session_cache = data
            self.accessed = True  # as a read: the response varies on the cookie

    def load(self) -> dict[str, Any]:
        data = self._cache.get(self.cache_key)
        if data is not None:
            return cast(dict[str, Any], data)
        stored = self._get_session_from_db()  # type: ignore[attr-defined]  # private, undeclared in the stubs
        if stored is None:
            return {}
        data = self.decode(stored.session_data)
        self._cache.set(self.cache_key, data, min(COPY_SECONDS, self.get_expiry_age(expiry=stored.expire_date)))
        return data

    def save(self, must_create: bool = False) -> None:
        DatabaseStore.save(self, must_create)
        session = self._get_session()  # type: ignore[attr-defined]  # private, undeclared in the stubs
        self._cache.set(self.cache_key, session, min(COPY_SECONDS, self.get_expiry_age()))
