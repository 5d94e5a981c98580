"""A signed-in page kept whole in the cache, the request's own parts put in as it is served.

A page whose body is the same for a minute still cost a full render of the site's shell at every request
(context processors, ``{% extends %}``, two CSRF tokens, the language form): on the brand page about as much
CPU as the rest of the request. A kept page is rendered once without the request, with stand-ins (slots) for
what differs between two requests of the same account, and served by replacing them:

* the CSRF token (``CSRF_SLOT``): Django's ``get_token`` of this request, as ``{% csrf_token %}`` would put;
* the path the language form returns to (``PATH_SLOT``): this request's ``get_full_path``, escaped.

What differs between accounts or over time is in the key instead (``_page_key``): the account and the row's
``updated_at`` (a new name, staff status) and the language; the header's figures (unread messages, manager link;
``accounts.header``) are kept with the page, which is rendered again when they no longer match. A request
carrying messages (after a form) is rendered afresh, as any other page. Tests compare a kept page with the same
page rendered afresh, so a variable the shell starts to read and this module does not supply shows up as a
difference.

One cache round trip serves a kept page: the page, the header's figures and the condition the page needs (a
brand's link, ``Gate``) are read together. The page is kept as UTF-8 bytes, so serving it neither decodes
nor encodes its ~90 KB.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import get_language

from accounts.header import header_get, header_key
from accounts.models import User

#: Stand-ins in a kept page; plain letters and digits, so escaping leaves them as they are.
CSRF_SLOT = "keptpageCSRFslot7f3c"
PATH_SLOT = "keptpagePATHslot7f3c"
_CSRF, _PATH = CSRF_SLOT.encode(), PATH_SLOT.encode()


class _Request:
    """What the shell reads of the request when a page is rendered to be kept."""

    @staticmethod
    def get_full_path() -> str:
        return PATH_SLOT


@dataclass(frozen=True)
class Gate:
    """What the account must be for the page to be shown (linked to a brand, say): the cache key it is kept under
    and ``check``, given the value found there (None when missing), which answers, reading the truth on a miss."""

    key: str
    check: Callable[[object], bool]


def _page_key(user: User, name: str) -> str:
    stamp = user.updated_at.timestamp() if user.updated_at else 0
    return f"accounts:kept:{user.pk}:{stamp}:{get_language()}:{name}"


def kept_page(
    request: HttpRequest,
    *,
    user: User,
    name: str,
    seconds: int,
    template: str,
    context: Callable[[], dict[str, Any] | None],
    gate: Gate,
) -> HttpResponse | None:
    """``template`` rendered with ``context()``, kept ``seconds`` as ``name`` for this account; None when the
    account does not pass ``gate`` or ``context()`` is None (nothing to show this account: nothing is kept)."""
    key = _page_key(user, name)
    found = cache.get_many([gate.key, header_key(user.pk), key])
    if not gate.check(found.get(gate.key)):
        return None
    if len(get_messages(request)):  # loaded, not consumed: the fresh render shows them
        values = context()
        return None if values is None else render(request, template, values)
    header = header_get(user=user, kept=found.get(header_key(user.pk)))
    kept = found.get(key)
    if isinstance(kept, tuple) and len(kept) == 3 and kept[:2] == (header.unread, header.is_manager):
        page = kept[2]
    else:
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
        page = render_to_string(template, {**shell, **values}).encode()
        cache.set(key, (header.unread, header.is_manager, page), seconds)
    path = escape(request.get_full_path()).encode()
    return HttpResponse(page.replace(_CSRF, get_token(request).encode()).replace(_PATH, path))
