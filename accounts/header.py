"""What the signed-in header shows of an account: its unread messages and whether it is a manager now.

Every signed-in page shows both; counted there, they were two queries a page. They are kept in the cache
a while per account (one read a page) and forgotten when they change: messages added or read
(``accounts.services`` and the services that add messages themselves), a manager term granted, ended or
restored (``moderation.services``). Forgotten again after the commit, so a page rendered meanwhile cannot
keep the old figures. A change made elsewhere (a term running out at its end date) shows within
``HEADER_SECONDS``; the header is only a signpost: the moderation pages check the term themselves.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache

from accounts.models import Notification, User
from xhs.cache import NOT_READ, forget_later

#: How long an account's header figures are kept when nothing forgets them sooner.
HEADER_SECONDS = 60


@dataclass(frozen=True)
class Header:
    unread: int
    is_manager: bool


def header_key(user_id: int) -> str:
    """Where the account's figures are kept; a page that reads other keys too reads this one with them
    (``header_get(user=..., kept=...)``)."""
    return f"accounts:header:{user_id}"


def header_get(*, user: User, kept: object = NOT_READ) -> Header:
    """The account's header figures: ``kept``, the value under ``header_key`` when the caller read it already,
    else from the cache; counted (two queries) and kept when missing."""
    cached = cache.get(header_key(user.pk)) if kept is NOT_READ else kept
    if isinstance(cached, tuple) and len(cached) == 2:
        return Header(*cached)
    from moderation.services import current_term  # moderation depends on accounts, not the reverse at import

    header = Header(
        unread=Notification.objects.filter(user=user, read_at__isnull=True).count(),
        is_manager=current_term(user=user) is not None,
    )
    cache.set(header_key(user.pk), (header.unread, header.is_manager), HEADER_SECONDS)
    return header


def header_forget(user_ids: Iterable[int]) -> None:
    """Forget these accounts' header figures, now and again when the current transaction commits: now for the
    pages this transaction renders, at the commit for those another process rendered in between."""
    forget_later([header_key(pk) for pk in set(user_ids)])
