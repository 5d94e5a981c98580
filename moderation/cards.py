"""The manager's case cards, rendered once and cached: the dashboard's cost does not grow with its cards.

A card shows the rule and its text, the content, a rating's scores, screening's reasons and the
reporters' own words, with the vote and undo forms; never another manager's vote (votes stay blind),
never whether the case is an audit. It holds nothing of the manager who reads it: the forms' CSRF field
is a slot (``accounts.kept_pages.CSRF_SLOT``) that each request fills with its own token, so one rendering
serves every manager. The
key carries the case's stamp (``selectors.QueueEntry``: the case's and its content's ``updated_at`` and
its report count) and the language, so a changed case is never served stale; entries also expire. The
cache is a shortcut, not the truth: while Redis is down (``xhs.cache`` fails soft) cards are rendered
from the database.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from accounts.kept_pages import CSRF_SLOT, csrf_token
from moderation import selectors
from moderation.models import Case

CARD_SECONDS = 10 * 60
TEMPLATE = "moderation/_case.html"


@dataclass(frozen=True)
class Card:
    pk: int
    html: SafeString


def _key(entry: selectors.QueueEntry) -> str:
    return f"moderation:card:v3:{get_language()}:{entry.pk}:{entry.stamp}"


def _render(case: Case, *, voting: bool = True) -> str:
    return render_to_string(TEMPLATE, {"case": case, "voting": voting, "csrf_slot": CSRF_SLOT})


def _personal(html: str, token: str) -> SafeString:
    """The card with this request's CSRF token (masked once for all its cards) in its slots."""
    return mark_safe(html.replace(CSRF_SLOT, token))  # noqa: S308 - our template; the token's characters are [a-zA-Z0-9]  # nosec B308 B703


def case_cards(entries: Sequence[selectors.QueueEntry], request: HttpRequest) -> list[Card]:
    """The cards of these queue entries, in their order, with this request's CSRF field: cached ones from
    the cache, the rest rendered (three queries for all of them, ``selectors.cards_load``) and cached."""
    keys = {entry.pk: _key(entry) for entry in entries}
    found: dict[str, str] = cache.get_many(list(keys.values()))
    missing = [entry.pk for entry in entries if keys[entry.pk] not in found]
    fresh = {keys[pk]: _render(case) for pk, case in selectors.cards_load(missing).items()}
    if fresh:
        cache.set_many(fresh, timeout=CARD_SECONDS)
    html = found | fresh
    token = csrf_token(request)
    # a case that left the queue between the two queries has no card: it is left out
    return [
        Card(pk=entry.pk, html=_personal(html[keys[entry.pk]], token)) for entry in entries if keys[entry.pk] in html
    ]


def case_card(case: Case, request: HttpRequest, *, voting: bool) -> Card:
    """One card for the case page, rendered from a case ``selectors.cards_load`` loaded (never cached)."""
    return Card(pk=case.pk, html=_personal(_render(case, voting=voting), csrf_token(request)))
