"""Reads of the signed-in user's own pages (inbox, profile). Fixed query counts per page."""

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import Notification, User
from ratings.models import Invitation


@dataclass(frozen=True)
class InboxItem:
    notification: Notification
    #: The invitation an invitation or refund message is about (None if it is gone, or for other kinds).
    invitation: Invitation | None


#: Kinds of message whose subject is an invitation.
ABOUT_INVITATIONS = (Notification.Kind.INVITATION, Notification.Kind.REFUND)


def user_notifications(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def inbox_items(notifications: list[Notification]) -> list[InboxItem]:
    """Pair each message with what it is about, in one query: the text is rendered from live rows in
    the reader's language rather than from what was stored when it was sent."""
    invitation_ids = [n.subject_id for n in notifications if n.kind in ABOUT_INVITATIONS]
    invitations = (
        Invitation.objects.select_related("campaign__product__brand")
        .filter(user_id=notifications[0].user_id)
        .in_bulk(invitation_ids)
        if invitation_ids
        else {}
    )
    return [
        InboxItem(
            notification=n,
            invitation=invitations.get(n.subject_id) if n.kind in ABOUT_INVITATIONS else None,
        )
        for n in notifications
    ]
