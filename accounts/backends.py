"""Sign-in backends that read the signed-in account from the cache.

Every signed-in page loads its account (Django's ``get_user``): from PostgreSQL that was a query a page, and
building and compiling it through the ORM cost more CPU than the rest of a cached page. These backends keep a
copy of the account a few minutes per id (one cache read a page) and the database stays the truth:

* the copy is forgotten whenever the account is saved or deleted (admin, ban, password change, sign-in's
  ``last_login``), now and again when the transaction commits (``xhs.cache.forget_later``), so no page
  rendered meanwhile can keep the old row;
* Django still checks, at every request, the session's hash of the password against the copy, and the backend
  still refuses an inactive account;
* a miss (expired, evicted, Redis down: our cache fails soft) reads the row and keeps it again.

The one window: an account changed while Redis is unreachable keeps its old copy until ``USER_SECONDS`` end, as
a session's copy does (``xhs/sessions.py``). A change written past the ORM (``QuerySet.update``) must call
``user_forget``; none does today.
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from allauth.account import auth_backends
from django.contrib.auth import backends
from django.core.cache import cache

from accounts.models import User
from xhs.cache import NOT_READ, forget_later

#: How long the cache keeps a copy of an account.
USER_SECONDS = 300

#: Values a caller read from the cache with the account's copy, in one round trip (``accounts_read_with``).
_read_ahead: ContextVar[Mapping[str, object]] = ContextVar("accounts_read_ahead", default=MappingProxyType({}))


def user_key(user_id: Any) -> str:
    """Where the account's copy is kept; a page that reads other keys too reads this one with them
    (``accounts_read_with``)."""
    return f"accounts:user:{user_id}"


def user_forget(user_ids: Iterable[int]) -> None:
    """Forget these accounts' copies (see the module docstring)."""
    forget_later([user_key(pk) for pk in set(user_ids)])


def user_changed(sender: Any, instance: User, **kwargs: Any) -> None:
    """A ``post_save``/``post_delete`` receiver: forget the account's copy."""
    user_forget([instance.pk])


@contextmanager
def accounts_read_with(found: Mapping[str, object]) -> Iterator[None]:
    """Within the block, an account's copy is taken from ``found`` (the values of a ``cache.get_many`` that read
    ``user_key`` with the keys the page needs) instead of being read again. Django's checks stay as they are:
    the caller signs the request in through ``request.user`` inside the block."""
    token = _read_ahead.set(found)
    try:
        yield
    finally:
        _read_ahead.reset(token)


class _CachedUser(backends.ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        key = user_key(user_id)
        user = _read_ahead.get().get(key, NOT_READ)
        if user is NOT_READ:
            user = cache.get(key)
        if not isinstance(user, User):
            try:
                user = User._default_manager.get(pk=user_id)
            except User.DoesNotExist:
                return None
            cache.set(key, user, USER_SECONDS)
        return user if self.user_can_authenticate(user) else None


class ModelBackend(_CachedUser):
    """Django's email-and-password backend (``force_login`` and the admin's sign-in), accounts from the cache."""


class AuthenticationBackend(_CachedUser, auth_backends.AuthenticationBackend):  # type: ignore[misc]  # allauth is untyped
    """allauth's backend (the site's sign-in), accounts from the cache."""
