"""A signed-in page kept whole in the cache, the request's own parts put in as it is served.

A page whose body is the same for a minute still cost a full render of the site's shell at every request
(context processors, ``{% extends %}``, two CSRF tokens, the language form): on the brand page about as much
CPU as the rest of the request. A kept page is rendered once without the request, with stand-ins (slots) for
what differs between two requests of the same account, and served by replacing them:

* the CSRF token (``CSRF_SLOT``): a masked token of this request's secret, as ``{% csrf_token %}`` would put
  (``csrf_token``);
* the path the language form returns to (``PATH_SLOT``): this request's ``get_full_path``, escaped;
* whatever the page puts in per request (``slot(name)``, ``kept_serve``'s ``fills``): a signed-in reader's
  product page is such a shell, kept per account and language, filled with the product's kept parts and
  comments (``catalog.views._reader_page``).

What differs between accounts is in the key instead (``_page_key``: the account, the language); what differs
over time is kept with the page, which is rendered again when it no longer matches: the row's ``updated_at`` (a
new name, staff status) and the header's figures (unread messages, manager link; ``accounts.header``). A request
carrying messages (after a form) is rendered afresh, as any other page. Tests compare a kept page with the same
page rendered afresh, so a variable the shell starts to read and this module does not supply shows up as a
difference.

One cache round trip serves a kept page (``reader_read``): the session with the account and everything the page
needs (the page's version, the header's figures, the keys the page names: a brand's link, ``Gate``; a product's
parts), read together. Naming those keys takes the account's id before the session is read, so the page gives the
browser that id back in a cookie (``HINT_COOKIE``): a hint, never trusted. Its keys are read beside the session and
used only when the session's account is that one; otherwise (a first visit, another account signed in on the same
browser, a forged cookie) a second trip reads the session's account's keys. The account's copy goes to Django's
sign-in through ``accounts.backends.accounts_read_with``, which still makes all its checks. So the page cannot sit
behind ``login_required``, which reads the account first: ``kept_page`` sends a visitor who is not signed in to sign
in itself. The page is kept as UTF-8 bytes cut at its slots, so serving it joins the pieces once, neither decoding,
encoding nor searching its ~90 KB; and a process holds the bodies it served (``xhs.held``), so the round trip reads
a page's version, not its body: that read and its unpickling took ~70 µs of a warm brand page's ~1.1 ms of CPU.
"""

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import get_language

from accounts.backends import accounts_read_with, user_key
from accounts.header import header_get, header_key
from accounts.models import User
from xhs.held import held, hold
from xhs.sessions import SessionStore


def slot(name: str) -> str:
    """A stand-in in a kept page, filled per request. Its NULs keep it apart from any text the page shows (a name,
    a comment): PostgreSQL stores no NUL in text and Django's form fields refuse one, so no such text can be
    written to look like a slot and be filled; and escaping leaves a NUL as it is."""
    return f"\x00{name}\x00"


CSRF_SLOT = slot("CSRF")
PATH_SLOT = slot("PATH")
_CSRF, _PATH = CSRF_SLOT.encode(), PATH_SLOT.encode()
_SLOTS = re.compile(rb"(\x00[A-Z]+\x00)")
#: The account a kept page was last served to in this browser: which keys to read beside the session.
HINT_COOKIE = "kept_for"
#: A mask character and a secret's character to the token's: the secret's shifted by the mask's (Django's cipher).
_CIPHER = {
    (shift, char): CSRF_ALLOWED_CHARS[(i + j) % len(CSRF_ALLOWED_CHARS)]
    for j, shift in enumerate(CSRF_ALLOWED_CHARS)
    for i, char in enumerate(CSRF_ALLOWED_CHARS)
}
#: A random byte to a mask character: bytes below 248 = 4 × 62, taken modulo the number of characters, are
#: uniform over them; the others are dropped (``_NOT_UNIFORM``).
_MASK_CHARS = bytes(ord(CSRF_ALLOWED_CHARS[byte % len(CSRF_ALLOWED_CHARS)]) for byte in range(256))
_NOT_UNIFORM = bytes(range(256 - 256 % len(CSRF_ALLOWED_CHARS), 256))
#: Where a request keeps the token drawn for it.
_DRAWN = "_kept_pages_csrf_token"


class _Request:
    """What the shell reads of the request when a page is rendered to be kept."""

    @staticmethod
    def get_full_path() -> str:
        return PATH_SLOT


class GateCheck(Protocol):
    def __call__(self, user_id: int, *, kept: object) -> bool: ...


@dataclass(frozen=True)
class Gate:
    """What the account must be for the page to be shown (linked to a brand, say): ``key(user_id)``, the cache key
    it is kept under, and ``check(user_id, kept=value)``, given the value found there (None when missing), which
    answers, reading the truth on a miss."""

    key: Callable[[int], str]
    check: GateCheck


def _page_key(user_id: int, name: str) -> str:
    return f"accounts:kept:{user_id}:{get_language()}:{name}"


def _stamp(user: User) -> float:
    """The account row's version: a new name or staff status renders the page again."""
    return user.updated_at.timestamp() if user.updated_at else 0.0


def _keys(user_id: int, name: str) -> list[str]:
    return [user_key(user_id), header_key(user_id), _page_key(user_id, name)]


def _hinted_user_id(request: HttpRequest) -> int | None:
    value = request.COOKIES.get(HINT_COOKIE, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _read_with_session(request: HttpRequest, keys: list[str]) -> dict[str, Any]:
    """``keys`` and the session's cached copy in one round trip; the session takes its copy from there."""
    session = request.session
    if not isinstance(session, SessionStore) or not session.session_key:
        return cast(dict[str, Any], cache.get_many(keys))
    found = cast(dict[str, Any], cache.get_many([session.cache_key, *keys]))
    session.load_from(found)
    return found


def _body_valid(value: object) -> bool:
    return isinstance(value, tuple) and all(isinstance(part, bytes) for part in value)


def _body_size(parts: tuple[bytes, ...]) -> int:
    return sum(map(len, parts))


def _session_user_id(request: HttpRequest) -> int | None:
    try:
        return int(request.session[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Reader:
    """A signed-in request's account and what the one cache round trip found beside the session."""

    user: User
    found: dict[str, Any]


def reader_read(request: HttpRequest, *, name: str, keys: Callable[[int], list[str]]) -> Reader | None:
    """The request's account, read with the session, its kept page ``name`` and ``keys(account id)`` in one cache
    round trip (two when the hint cookie is missing or names another account); None when nobody is signed in."""
    hint = _hinted_user_id(request)
    found = _read_with_session(request, [*_keys(hint, name), *keys(hint)]) if hint is not None else {}
    user_id = _session_user_id(request)
    if user_id != hint:
        found = cache.get_many([*_keys(user_id, name), *keys(user_id)]) if user_id is not None else {}
    with accounts_read_with(found):
        signed_in = request.user.is_authenticated
    if not signed_in:
        return None
    # The account behind the middleware's lazy stand-in (``LazyObject._wrapped``, set once it is read): each
    # attribute read through the stand-in cost ~1 µs, some twenty a page. Whoever set ``request.user`` decides.
    user = cast(User, getattr(request.user, "_wrapped", request.user))
    request.user = user
    return Reader(user, found)


def kept_serve(
    request: HttpRequest,
    reader: Reader,
    *,
    name: str,
    seconds: int,
    template: str,
    context: Callable[[], dict[str, Any] | None],
    fills: dict[str, str | bytes] | None = None,
) -> HttpResponse | None:
    """The reader's kept page ``name`` (``template`` rendered with ``context()`` and the shell's stand-ins, kept
    ``seconds``), its slots filled: this request's CSRF token and path, and ``fills`` (slot: HTML, as text or UTF-8
    bytes) for the slots the context put in (``slot``). None when ``context`` gives None (nothing to show: nothing
    is kept)."""
    user = reader.user  # every value below is looked up under its own id, never the session's
    header = header_get(user=user, kept=reader.found.get(header_key(user.pk)))
    key = _page_key(user.pk, name)
    kept = reader.found.get(key)
    version = (_stamp(user), header.unread, header.is_manager)
    body = None
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == version:
        body = held(kept[1], valid=_body_valid, size=_body_size)
    if body is None:
        values = context()
        if values is None:
            return None
        shell = {
            "user": user,
            "request": _Request(),
            "csrf_token": CSRF_SLOT,
            "is_manager": header.is_manager,
            "unread_notifications": header.unread,
            "messages": (),
        }
        body = tuple(_SLOTS.split(render_to_string(template, {**shell, **values}).encode()))
        cache.set(key, (version, hold(body, size=_body_size(body), seconds=seconds)), seconds)
    parts = list(body)
    filled = {_CSRF: csrf_token(request).encode(), _PATH: escape(request.get_full_path()).encode()}
    filled |= {
        slot.encode(): html if isinstance(html, bytes) else html.encode() for slot, html in (fills or {}).items()
    }
    parts[1::2] = [filled.get(piece, piece) for piece in parts[1::2]]  # a name written like a slot stays
    response = HttpResponse(b"".join(parts))
    hint_give(request, response)
    return response


def hint_give(request: HttpRequest, response: HttpResponse) -> None:
    """Give the browser of a signed-in request the hint to its account (``HINT_COOKIE``) when it holds no hint or
    another: a page that reads its keys with the session (``reader_read``) calls it on the pages it renders too."""
    user_id = _session_user_id(request)
    if user_id is not None and _hinted_user_id(request) != user_id:
        _hint_set(response, str(user_id), max_age=settings.SESSION_COOKIE_AGE)


def kept_page(
    request: HttpRequest,
    *,
    name: str,
    seconds: int,
    template: str,
    context: Callable[[User], dict[str, Any] | None],
    gate: Gate,
) -> HttpResponse | None:
    """``template`` rendered with ``context(user)``, kept ``seconds`` as ``name`` for the signed-in account; None
    when the account does not pass ``gate`` or ``context`` gives None (nothing to show this account: nothing is
    kept). A visitor not signed in is sent to sign in, as ``login_required`` would."""
    reader = reader_read(request, name=name, keys=lambda user_id: [gate.key(user_id)])
    if reader is None:
        to_sign_in = redirect_to_login(request.get_full_path())
        if _hinted_user_id(request) is not None:
            _hint_set(to_sign_in, "", max_age=0)  # gone, with the same attributes as it was set with
        return to_sign_in
    user = reader.user
    if not gate.check(user.pk, kept=reader.found.get(gate.key(user.pk))):
        return None
    if len(get_messages(request)):  # loaded, not consumed: the fresh render shows them
        values = context(user)
        return None if values is None else render(request, template, values)
    return kept_serve(request, reader, name=name, seconds=seconds, template=template, context=lambda: context(user))


def _hint_set(response: HttpResponse, value: str, *, max_age: int) -> None:
    """The hint cookie, as private as the session's: HTTPS only in production, never read by scripts."""
    response.set_cookie(
        HINT_COOKIE, value, max_age=max_age, secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax"
    )


def csrf_token(request: HttpRequest) -> str:
    """Django's ``get_token``: this request's CSRF secret under a fresh mask. Django draws the mask's 32
    characters with 32 reads of the system's randomness, 45-50 µs, a twentieth of a kept page; here one read (3 µs).
    The token is Django's format (the mask, then each character of the secret shifted by the mask's, over
    ``CSRF_ALLOWED_CHARS``), so the middleware checks it as its own (tested), and a fresh mask per request keeps
    the page's text from repeating the secret (BREACH): one per request, as one template's ``{% csrf_token %}``
    tags share one. Without a secret yet, Django's own makes one."""
    secret = request.META.get("CSRF_COOKIE")  # set by CsrfViewMiddleware from a well-formed cookie only
    if not isinstance(secret, str) or len(secret) != CSRF_SECRET_LENGTH:
        return get_token(request)
    drawn = vars(request).get(_DRAWN)
    if isinstance(drawn, str):
        return drawn
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # as get_token: the cookie is sent again, its expiry renewed
    mask = ""
    while len(mask) < CSRF_SECRET_LENGTH:
        mask += secrets.token_bytes(2 * CSRF_SECRET_LENGTH).translate(_MASK_CHARS, _NOT_UNIFORM).decode()
    mask = mask[:CSRF_SECRET_LENGTH]
    token = mask + "".join(map(_CIPHER.__getitem__, zip(mask, secret, strict=True)))
    vars(request)[_DRAWN] = token
    return token
