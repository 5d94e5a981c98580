"""A signed-in page kept whole in the cache, the request's own parts put in as it is served.

A page whose body is the same for a minute still cost a full render of the site's shell at every request
(context processors, ``{% extends %}``, two CSRF tokens, the language form): on the brand page about as much
CPU as the rest of the request. A kept page is rendered once without the request, with stand-ins (slots) for
what differs between two requests of the same account, and served by replacing them:

* the CSRF token (``CSRF_SLOT``): Django's ``get_token`` of this request, as ``{% csrf_token %}`` would put;
* the path the language form returns to (``PATH_SLOT``): this request's ``get_full_path``, escaped.

What differs between accounts or over time is in the key instead (``_page_key``): the account and the row's
``updated_at`` (a new name, staff status), the language, and the header's figures (unread messages, manager
link; ``accounts.header``). A request carrying messages (after a form) is rendered afresh, as any other page.
Tests compare a kept page with the same page rendered afresh, so a variable the shell starts to read and this
module does not supply shows up as a difference.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import get_language

from accounts.header import Header, header_get
from accounts.models import User

#: Stand-ins in a kept page; plain letters and digits, so escaping leaves them as they are.
CSRF_SLOT = "keptpageCSRFslot7f3c"
PATH_SLOT = "keptpagePATHslot7f3c"


class _Request:
    """What the shell reads of the request when a page is rendered to be kept."""

    @staticmethod
    def get_full_path() -> str:
        return PATH_SLOT


def _page_key(user: User, header: Header, name: str) -> str:
    stamp = user.updated_at.timestamp() if user.updated_at else 0
    return f"accounts:kept:{user.pk}:{stamp}:{get_language()}:{header.unread}:{int(header.is_manager)}:{name}"


def kept_page(
    request: HttpRequest,
    *,
    user: User,
    name: str,
    seconds: int,
    template: str,
    context: Callable[[], dict[str, Any] | None],
) -> HttpResponse | None:
    """``template`` rendered with ``context()``, kept ``seconds`` as ``name`` for this account; None when
    ``context()`` is None (nothing to show this account: nothing is kept)."""
    if len(get_messages(request)):  # loaded, not consumed: the fresh render shows them
        values = context()
        return None if values is None else render(request, template, values)
    header = header_get(user=user)
    key = _page_key(user, header, name)
    page = cache.get(key)
    if not isinstance(page, str):
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
        page = render_to_string(template, {**shell, **values})
        cache.set(key, page, seconds)
    return HttpResponse(page.replace(CSRF_SLOT, get_token(request)).replace(PATH_SLOT, escape(request.get_full_path())))
