"""Template tags that draw a product's rating as server-rendered SVG (``ratings.charts``)."""

from collections.abc import Sequence

from django import template
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from ratings import charts
from ratings.selectors import ProductRating

register = template.Library()


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
def score_histogram(counts: Sequence[int], id_prefix: str = "histogram") -> SafeString:
    return charts.histogram_svg(
        counts,
        title=gettext("How the scores are spread"),
        id_prefix=id_prefix,
        labels=[f"{score}♥" for score in range(1, 6)],
    )


@register.simple_tag
def score_meter(score: float) -> SafeString:
    return charts.heart_meter_svg(score, title=gettext("Comprehensive score on the 1–5 scale"), id_prefix="meter")
