from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import Notification


def inbox(request: HttpRequest) -> dict[str, Any]:
    """The unread count for the header badge; counted only when a page shows it (one query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    return {
        "unread_notifications": SimpleLazyObject(
            lambda: Notification.objects.filter(user=user, read_at__isnull=True).count()
        )
    }
