from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.header import header_get


def header(request: HttpRequest) -> dict[str, Any]:
    """The signed-in header's unread badge and manager link (``accounts.header``): read only when a page shows
    them, one cache read for both."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    figures = SimpleLazyObject(lambda: header_get(user=user))
    looked_up = getattr(request, "manager_term", None) is not None  # the moderation pages found the term already
    return {
        "unread_notifications": SimpleLazyObject(lambda: figures.unread),
        "is_manager": True if looked_up else SimpleLazyObject(lambda: figures.is_manager),
    }
