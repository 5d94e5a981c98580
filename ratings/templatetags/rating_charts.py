"""Template tags that draw a product's rating as server-rendered SVG (``ratings.charts``)."""

from collections.abc import Sequence

from django import template
from django.core.cache import cache
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from catalog.models import Product
from ratings import charts
from ratings.brand_dashboard import ProductReport
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


@register.simple_tag
def brand_compare(report: ProductReport) -> SafeString:
    """A brand's product against its category, factor by factor (``/brand/``)."""
    bars = [
        charts.ComparedBar(label=row.name, mean=row.mean, average=row.category_average, votes=row.votes)
        for row in report.factors
    ]
    return charts.compare_bars_svg(
        bars,
        title=gettext("%(product)s against its category, factor by factor") % {"product": report.product.name},
        id_prefix=f"compare-{report.product.pk}",
        average_label=gettext("category average"),
        no_votes_label=gettext("no votes"),
    )


@register.simple_tag
def brand_trend(report: ProductReport) -> SafeString:
    """A brand's product's average score month by month (``/brand/``)."""
    points = [
        charts.TrendPoint(label=point.month.strftime("%Y-%m"), mean=point.mean, votes=point.votes)
        for point in report.trend
    ]
    return charts.trend_svg(
        points,
        title=gettext("%(product)s: average score by month") % {"product": report.product.name},
        id_prefix=f"trend-{report.product.pk}",
        no_votes_label=gettext("no votes"),
    )
