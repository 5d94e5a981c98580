"""Template tags that draw a product's rating as server-rendered SVG (``ratings.charts``)."""

from collections.abc import Sequence

from django import template
from django.core.cache import cache
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from catalog.models import Product
from ratings import charts
from ratings.eligibility import policy_get
from ratings.selectors import ProductRating

register = template.Library()

POLICY_MIN_VOTES_KEY = "ratings:policy-min-votes"


@register.simple_tag
def factor_radar(rating: ProductRating) -> SafeString:
    return charts.radar_svg(
        [(factor.name, factor.mean) for factor in rating.factors],
        title=gettext("Every factor at a glance"),
        id_prefix="radar",
    )


@register.simple_tag
def factor_bars(rating: ProductRating) -> SafeString:
    bars = [
        charts.FactorBar(label=f.name, mean=f.mean, low=f.ci_low, high=f.ci_high, votes=f.votes) for f in rating.factors
    ]
    return charts.factor_bars_svg(
        bars,
        title=gettext("Factor scores with intervals (95%)"),
        id_prefix="bars",
        no_votes_label=gettext("no votes"),
    )


@register.simple_tag
def score_histogram(counts: Sequence[int], index: int = 0) -> SafeString:
    """One factor's spread of scores; ``index`` keeps the ids of several charts on a page apart."""
    return charts.histogram_svg(
        counts,
        title=gettext("How the scores are spread"),
        id_prefix=f"histogram-{index}",
        labels=[f"{score}♥" for score in range(1, 6)],
    )


@register.simple_tag
def score_meter(score: float) -> SafeString:
    return charts.heart_meter_svg(score, title=gettext("Comprehensive score on the 1–5 scale"), id_prefix="meter")


@register.simple_tag
def votes_needed(product: Product) -> int:
    """Counted votes the product needs before its score is published (its category's own minimum, else
    the policy's), for the "being gathered" line of a card. The policy's figure is cached briefly so a
    page of cards asks the database once at most."""
    if product.category.min_votes_to_publish:
        return int(product.category.min_votes_to_publish)
    needed = cache.get_or_set(POLICY_MIN_VOTES_KEY, lambda: policy_get().min_votes_to_publish, 60)
    return int(needed) if needed is not None else policy_get().min_votes_to_publish
