"""The manager's case cards, rendered once and cached: the dashboard's cost does not grow with its cards.

A card shows the rule and its text, the content, a rating's scores, screening's reasons and the
reporters' own words; never another manager's vote (votes stay blind), never whether the case is an
audit. It holds nothing personal to the manager who reads it (the vote form, with its CSRF token, is
rendered around it), so one rendering serves every manager. The key carries the case's stamp
(``selectors.QueueEntry``: the case's and its content's ``updated_at`` and its report count) and the
language, so a changed case is never served stale; entries also expire. The cache is a shortcut, not
the truth: when Redis fails the cards are rendered from the database.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from moderation import selectors

CARD_SECONDS = 10 * 60
TEMPLATE = "moderation/_case_card.html"


@dataclass(frozen=True)
class Card:
    pk: int
    html: SafeString


def _key(entry: selectors.QueueEntry) -> str:
    return f"moderation:card:v1:{get_language()}:{entry.pk}:{entry.stamp}"


def case_cards(entries: Sequence[selectors.QueueEntry]) -> list[Card]:
    """The cards of these queue entries, in their order: cached ones from the cache, the rest rendered
    (three queries for all of them, ``selectors.cards_load``) and cached."""
    keys = {entry.pk: _key(entry) for entry in entries}
    found: dict[str, str] = cache.get_many(list(keys.values()))  # xhs.cache fails soft: {} when Redis is down
    missing = [entry.pk for entry in entries if keys[entry.pk] not in found]
    fresh: dict[str, str] = {}
    for pk, case in selectors.cards_load(missing).items():
        fresh[keys[pk]] = render_to_string(TEMPLATE, {"case": case})
    if fresh:
        cache.set_many(fresh, timeout=CARD_SECONDS)
    html = found | fresh
    # a case that left the queue between the two queries has no card: it is left out
    return [Card(pk=entry.pk, html=mark_safe(html[keys[entry.pk]])) for entry in entries if keys[entry.pk] in html]  # noqa: S308 - rendered by our template


def case_card(case_id: int, case: object) -> Card:
    """One card rendered from a case ``selectors.cards_load`` loaded (the case page: never cached)."""
    return Card(pk=case_id, html=mark_safe(render_to_string(TEMPLATE, {"case": case})))  # noqa: S308 - our template
