from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import selectors
from accounts.models import User
from accounts.services import notifications_mark_read
from ratings import selectors as rating_selectors

INBOX_PAGE_SIZE = 20


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """The user's messages, newest first; the ones shown are marked read (showing them is reading them)."""
    user = cast(User, request.user)
    page = Paginator(selectors.user_notifications(user=user), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    notifications = list(page.object_list)
    items = selectors.inbox_items(notifications)
    unread_ids = [n.pk for n in notifications if n.read_at is None]
    notifications_mark_read(user_id=user.pk, notification_ids=unread_ids)
    # The header badge counts after marking, so it agrees with what the page shows.
    return render(request, "accounts/inbox.html", {"page": page, "items": items, "unread_ids": set(unread_ids)})


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    verified = list(rating_selectors.verified_purchases(user=user))
    return render(request, "accounts/profile.html", {"profile_user": user, "verified": verified})
