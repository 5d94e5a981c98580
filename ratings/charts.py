"""Server-rendered SVG charts for a product's rating page.

The charts are plain SVG strings built on the server rather than drawn by a JavaScript library:
they show without JS, they can be cached with the page, and they pass a strict CSP (no scripts, no
``style`` attributes, only presentation attributes). Each one is an ``<svg role="img">`` labelled by
its own ``<title>`` and a ``<desc>`` that spells out every number, and the page shows the same
numbers in a text table beside it, so nothing is available only as a picture.

The output goes into pages through ``mark_safe``: every caller-supplied string passes through
``escape`` here, and ``id_prefix`` is checked so the ids stay valid and unique on the page. Numbers
use '.' and one decimal whatever the locale, because they are chart coordinates as much as text.
The root has a ``viewBox`` and no width or height: it fills its container, which the page sizes.
"""

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

BRAND = "#ff2442"
DARK_RED = "#d91a35"
SOFT_RED = "#fff0f2"
INK = "#1f2328"
MUTED = "#667085"
LINES = "#e6e8eb"
FONT = "-apple-system, 'PingFang SC', 'Noto Sans CJK SC', sans-serif"

# In "em": ten CJK characters, or about eighteen Latin ones, fit before the ellipsis.
LABEL_MAX_EM = 10.0
_NARROW_EM = 0.55
_ID_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


@dataclass(frozen=True)
class FactorBar:
    label: str
    mean: float | None  # None when the factor has no counted votes
    low: float | None  # 95% confidence interval; None when it cannot be computed (n < 2)
    high: float | None
    votes: int


def _n(value: float) -> str:
    """A value as text: one decimal and '.', never localised."""
    return f"{value:.1f}"


def _c(value: float) -> str:
    """A coordinate, rounded to keep the markup small ("12", not "12.0"; never "-0")."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _em(text: str) -> float:
    """Rough rendered width in em: SVG cannot measure text, and CJK glyphs are about twice as wide."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else _NARROW_EM for ch in text)


def _truncate(label: str, max_em: float = LABEL_MAX_EM) -> str:
    if _em(label) <= max_em:
        return label
    kept, width = "", _NARROW_EM  # room for the ellipsis
    for ch in label:
        width += _em(ch)
        if width > max_em:
            break
        kept += ch
    return kept.rstrip() + "…"


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _ticks(low: float, high: float) -> list[float]:
    """Whole numbers across the scale when there are a sensible few, else five even steps."""
    whole = list(range(math.ceil(low), math.floor(high) + 1))
    if 2 <= len(whole) <= 11 and whole[0] == low and whole[-1] == high:
        return [float(v) for v in whole]
    return [low + (high - low) * i / 4 for i in range(5)]


def _svg(
    body: Iterable[str], *, kind: str, id_prefix: str, title: str, desc: str, view_box: tuple[float, ...]
) -> SafeString:
    if not _ID_PREFIX.match(id_prefix):
        raise ValueError(f"id_prefix must be a letter then letters, digits, '-' or '_': {id_prefix!r}")
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="{" ".join(_c(v) for v in view_box)}" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" font-family="{FONT}" fill="{INK}">'
        f'<title id="{title_id}">{escape(title)}</title><desc id="{desc_id}">{escape(desc)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every caller string is escaped  # nosec B308, B703


def _text(x: float, y: float, content: str, *, size: float, anchor: str = "start", extra: str = "") -> str:
    return (
        f'<text x="{_c(x)}" y="{_c(y)}" font-size="{_c(size)}" text-anchor="{anchor}"{extra}>{escape(content)}</text>'
    )


def radar_svg(
    axes: Sequence[tuple[str, float | None]],
    *,
    title: str,
    id_prefix: str,
    max_value: float = 5.0,
    min_value: float = 1.0,
) -> SafeString:
    """A spider chart of every factor's mean; "" when fewer than three axes make no polygon.

    A missing mean is drawn at ``min_value`` and labelled "—". The minimum sits on a small inner ring
    rather than the centre (as on a 0–5 scale) so that low scores still make a visible shape.
    """
    if max_value <= min_value:
        raise ValueError(f"max_value must be above min_value, got {min_value}..{max_value}")
    if len(axes) < 3:
        return mark_safe("")  # an empty string  # nosec B308, B703
    radius, inner, label_gap, size = 100.0, 0.2, 12.0, 13.0
    ticks = _ticks(min_value, max_value)

    def point(index: int, value: float, extra: float = 0.0) -> tuple[float, float]:
        share = (_clamp(value, min_value, max_value) - min_value) / (max_value - min_value)
        distance = radius * (inner + (1 - inner) * share) + extra
        angle = -math.pi / 2 + 2 * math.pi * index / len(axes)  # first axis at the top, then clockwise
        return distance * math.cos(angle), distance * math.sin(angle)

    def polygon(points: list[tuple[float, float]], attrs: str) -> str:
        return f'<polygon points="{" ".join(f"{_c(x)},{_c(y)}" for x, y in points)}" {attrs}/>'

    ring = [point(i, max_value) for i in range(len(axes))]
    body = [polygon(ring, f'fill="{SOFT_RED}" stroke="none"')]
    body += [
        polygon([point(i, tick) for i in range(len(axes))], f'class="grid" fill="none" stroke="{LINES}"')
        for tick in ticks
    ]
    body += [f'<line x1="0" y1="0" x2="{_c(x)}" y2="{_c(y)}" stroke="{LINES}"/>' for x, y in ring]

    values = [min_value if mean is None else mean for _label, mean in axes]
    vertices = [point(i, value) for i, value in enumerate(values)]
    body.append(
        polygon(
            vertices,
            f'class="area" fill="{BRAND}" fill-opacity="0.22" stroke="{BRAND}" stroke-width="2" '
            'stroke-linejoin="round"',
        )
    )
    body += [f'<circle cx="{_c(x)}" cy="{_c(y)}" r="3.5" fill="{BRAND}" stroke="#fff"/>' for x, y in vertices]
    # Scale numbers go over the shape, with a white halo, so the shape can never hide them.
    halo = f' fill="{MUTED}" stroke="#fff" stroke-width="2.5" paint-order="stroke"'
    body += [_text(point(0, tick)[0] + 4, point(0, tick)[1] + 3, f"{tick:g}", size=9, extra=halo) for tick in ticks]

    # The view box grows to hold the longest label, but never below six CJK characters' room on
    # each side, so text on a page with short labels is not blown up to a larger size than elsewhere.
    floor = radius + label_gap + 6 * size
    left, right, top, bottom = -floor, floor, -radius - 2 * label_gap, radius + 2 * label_gap
    # A centred label at the top or bottom must stay clear of its neighbours, which sit closer with many axes.
    centred_em = min(LABEL_MAX_EM, (2 * (radius + label_gap) * math.sin(2 * math.pi / len(axes)) - 8) / size)
    for i, (label, mean) in enumerate(axes):
        x, y = point(i, max_value, label_gap)
        cos, sin = x / (radius + label_gap), y / (radius + label_gap)
        anchor = "start" if cos > 0.3 else "end" if cos < -0.3 else "middle"
        # Two lines (label, then value): above the ring at the top, below it at the bottom, centred beside it.
        first = y - size * 1.3 - 3 if sin < -0.3 else y + size if sin > 0.3 else y - 2
        shown = _truncate(label, centred_em if anchor == "middle" else LABEL_MAX_EM)
        value = "—" if mean is None else _n(mean)
        body.append(
            f'<text x="{_c(x)}" y="{_c(first)}" font-size="{_c(size)}" text-anchor="{anchor}">{escape(shown)}'
            f'<tspan x="{_c(x)}" dy="{_c(size * 1.3)}" fill="{DARK_RED}" font-weight="600">{value}</tspan></text>'
        )
        width = max(_em(shown), _em(value) * 1.1) * size
        start = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
        left, right = min(left, start - 4), max(right, start + width + 4)
        top, bottom = min(top, first - size - 2), max(bottom, first + size * 1.6 + 2)

    desc = "; ".join(f"{label}: {'—' if mean is None else _n(mean)}" for label, mean in axes)
    view_box = (left, top, right - left, bottom - top)
    return _svg(body, kind="radar", id_prefix=id_prefix, title=title, desc=desc, view_box=view_box)


def factor_bars_svg(
    bars: Sequence[FactorBar],
    *,
    title: str,
    id_prefix: str,
    scale_min: float = 1.0,
    scale_max: float = 5.0,
    no_votes_label: str = "—",
) -> SafeString:
    """One row per factor: its name and mean on a line, then a bar from ``scale_min`` to the mean with a
    whisker for its 95% interval, across the whole width.

    Stacked rather than label-beside-bar so the view box stays narrow (320 units): drawn in a phone's
    270-pixel column its 15-unit text is still 12.6 px, and no label has to be cut short.
    """
    if scale_max <= scale_min:
        raise ValueError(f"scale_max must be above scale_min, got {scale_min}..{scale_max}")
    width, size, row, bar_height, top, axis = 320.0, 15.0, 44.0, 12.0, 4.0, 22.0
    x0, x1 = 2.0, width - 2.0

    def x_at(value: float) -> float:
        return x0 + (x1 - x0) * (_clamp(value, scale_min, scale_max) - scale_min) / (scale_max - scale_min)

    bottom = top + row * len(bars)
    body: list[str] = []
    for tick in _ticks(scale_min, scale_max):
        body.append(f'<line class="grid" x1="{_c(x_at(tick))}" y1="{_c(top + size + 4)}" x2="{_c(x_at(tick))}" ')
        body[-1] += f'y2="{_c(bottom)}" stroke="{LINES}"/>'
        anchor = "start" if tick == scale_min else "end" if tick == scale_max else "middle"
        body.append(_text(x_at(tick), bottom + 16, f"{tick:g}", size=14, anchor=anchor, extra=f' fill="{MUTED}"'))

    descriptions = []
    for i, bar in enumerate(bars):
        baseline = top + row * i + size
        middle = baseline + 6 + bar_height
        label = _truncate(bar.label, (width - 60) / size)
        body.append(_text(x0, baseline, label, size=size))
        if bar.mean is None:
            body.append(_text(x1, baseline, no_votes_label, size=size, anchor="end", extra=f' fill="{MUTED}"'))
            descriptions.append(f"{bar.label}: {no_votes_label}")
            continue
        body.append(_text(x1, baseline, _n(bar.mean), size=size, anchor="end", extra=' font-weight="600"'))
        body.append(
            f'<rect class="bar" x="{_c(x0)}" y="{_c(middle - bar_height / 2)}" width="{_c(x_at(bar.mean) - x0)}" '
            f'height="{_c(bar_height)}" rx="3" fill="{BRAND}"/>'
        )
        votes = ngettext("%(count)d vote", "%(count)d votes", bar.votes) % {"count": bar.votes}
        if bar.low is None or bar.high is None:
            descriptions.append(f"{bar.label}: {_n(bar.mean)} ({votes})")
            continue
        low, high = x_at(bar.low), x_at(bar.high)
        body.append(
            f'<g class="whisker" stroke="{INK}" stroke-width="1.5" stroke-linecap="round">'
            f'<line x1="{_c(low)}" y1="{_c(middle)}" x2="{_c(high)}" y2="{_c(middle)}"/>'
            f'<line x1="{_c(low)}" y1="{_c(middle - 5)}" x2="{_c(low)}" y2="{_c(middle + 5)}"/>'
            f'<line x1="{_c(high)}" y1="{_c(middle - 5)}" x2="{_c(high)}" y2="{_c(middle + 5)}"/></g>'
        )
        interval = _("95%% interval %(low)s–%(high)s") % {"low": _n(bar.low), "high": _n(bar.high)}
        descriptions.append(f"{bar.label}: {_n(bar.mean)} ({interval}, {votes})")

    view_box = (0.0, 0.0, width, bottom + axis)
    desc = "; ".join(descriptions)
    return _svg(body, kind="bars", id_prefix=id_prefix, title=title, desc=desc, view_box=view_box)


def _percents(counts: Sequence[int]) -> list[int]:
    """Whole percents that add up to exactly 100 (largest remainder), so the row never shows 101%."""
    total = sum(counts)
    if total == 0:
        return [0] * len(counts)
    exact = [100 * count / total for count in counts]
    whole = [math.floor(share) for share in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: whole[i] - exact[i])
    for i in by_remainder[: 100 - sum(whole)]:
        whole[i] += 1
    return whole


def histogram_svg(
    counts: Sequence[int], *, title: str, id_prefix: str, labels: Sequence[str] | None = None
) -> SafeString:
    """How many people gave each score from 1 to 5, with each score's share of the total above its bar."""
    if len(counts) != 5 or any(count < 0 for count in counts):
        raise ValueError(f"histogram_svg needs five non-negative counts (scores 1 to 5), got {list(counts)!r}")
    labels = [str(score) for score in range(1, 6)] if labels is None else list(labels)
    if len(labels) != 5:
        raise ValueError(f"histogram_svg needs five labels, got {len(labels)}")
    slot, bar_width, top, tallest = 60.0, 34.0, 22.0, 110.0
    baseline = top + tallest
    biggest = max(counts)
    body = []
    for i, (count, percent, label) in enumerate(zip(counts, _percents(counts), labels, strict=True)):
        centre = slot * i + slot / 2
        height = tallest * count / biggest if biggest else 0.0
        body.append(
            f'<rect x="{_c(centre - bar_width / 2)}" y="{_c(top)}" width="{_c(bar_width)}" height="{_c(tallest)}" '
            f'rx="3" fill="{SOFT_RED}"/>'
            f'<rect class="bar" x="{_c(centre - bar_width / 2)}" y="{_c(baseline - height)}" width="{_c(bar_width)}" '
            f'height="{_c(height)}" rx="3" fill="{BRAND}"/>'
        )
        body.append(
            _text(centre, baseline - height - 5, f"{percent}%", size=15, anchor="middle", extra=' class="percent"')
        )
        body.append(
            _text(centre, baseline + 19, _truncate(label, 4), size=15, anchor="middle", extra=f' fill="{MUTED}"')
        )
    body.append(f'<line x1="0" y1="{_c(baseline)}" x2="{_c(slot * 5)}" y2="{_c(baseline)}" stroke="{LINES}"/>')
    desc = "; ".join(
        ngettext("%(label)s: %(count)d vote", "%(label)s: %(count)d votes", count) % {"label": label, "count": count}
        for label, count in zip(labels, counts, strict=True)
    )
    view_box = (0.0, 0.0, slot * 5, baseline + 26)
    return _svg(body, kind="histogram", id_prefix=id_prefix, title=title, desc=desc, view_box=view_box)


def heart_meter_svg(score: float, *, title: str, id_prefix: str) -> SafeString:
    """A compact 1–5 gauge (a heart, then a track filled in red up to the score) for the overall score."""
    left, right, middle, track = 20.0, 100.0, 8.0, 8.0
    fill = (right - left) * (_clamp(score, 1.0, 5.0) - 1.0) / 4.0
    clip_id = f"{id_prefix}-track"
    body = [
        # The heart, 16 units wide: two arcs for the lobes and a point at the bottom.
        f'<path d="M8 14.5 L1.6 8.2 A3.9 3.9 0 0 1 8 3.2 A3.9 3.9 0 0 1 14.4 8.2 Z" fill="{BRAND}"/>',
        # Clipping the fill to the rounded track keeps its left end round and its right end square.
        f'<clipPath id="{clip_id}"><rect x="{_c(left)}" y="{_c(middle - track / 2)}" width="{_c(right - left)}" '
        f'height="{_c(track)}" rx="{_c(track / 2)}"/></clipPath>',
        f'<rect x="{_c(left)}" y="{_c(middle - track / 2)}" width="{_c(right - left)}" height="{_c(track)}" '
        f'rx="{_c(track / 2)}" fill="{LINES}"/>',
        f'<rect class="bar" x="{_c(left)}" y="{_c(middle - track / 2)}" width="{_c(fill)}" height="{_c(track)}" '
        f'fill="{BRAND}" clip-path="url(#{clip_id})"/>',
    ]
    desc = _("%(score)s out of 5") % {"score": _n(score)}
    return _svg(body, kind="meter", id_prefix=id_prefix, title=title, desc=desc, view_box=(0.0, 0.0, right, 16.0))


@dataclass(frozen=True)
class ComparedBar:
    label: str
    mean: float | None  # the product's average; None without counted votes
    average: float | None  # the category's average for the same factor; None when no product has one
    votes: int


def compare_bars_svg(
    bars: Sequence[ComparedBar],
    *,
    title: str,
    id_prefix: str,
    average_label: str,
    scale_min: float = 1.0,
    scale_max: float = 5.0,
    no_votes_label: str = "—",
) -> SafeString:
    """One row per factor, as ``factor_bars_svg``: the product's mean as a bar, the category's average as a
    dark mark across it, and both numbers on the label line ("4.3 · 3.9"). Built for a brand's report: where
    a product stands against its category, factor by factor, readable on a phone."""
    if scale_max <= scale_min:
        raise ValueError(f"scale_max must be above scale_min, got {scale_min}..{scale_max}")
    width, size, row, bar_height, top, axis = 320.0, 15.0, 44.0, 12.0, 4.0, 22.0
    x0, x1 = 2.0, width - 2.0

    def x_at(value: float) -> float:
        return x0 + (x1 - x0) * (_clamp(value, scale_min, scale_max) - scale_min) / (scale_max - scale_min)

    bottom = top + row * len(bars)
    body: list[str] = []
    for tick in _ticks(scale_min, scale_max):
        body.append(
            f'<line class="grid" x1="{_c(x_at(tick))}" y1="{_c(top + size + 4)}" x2="{_c(x_at(tick))}" '
            f'y2="{_c(bottom)}" stroke="{LINES}"/>'
        )
        anchor = "start" if tick == scale_min else "end" if tick == scale_max else "middle"
        body.append(_text(x_at(tick), bottom + 16, f"{tick:g}", size=14, anchor=anchor, extra=f' fill="{MUTED}"'))

    descriptions = []
    for i, bar in enumerate(bars):
        baseline = top + row * i + size
        middle = baseline + 6 + bar_height
        mean = no_votes_label if bar.mean is None else _n(bar.mean)
        average = no_votes_label if bar.average is None else _n(bar.average)
        body.append(_text(x0, baseline, _truncate(bar.label, (width - 100) / size), size=size))
        body.append(
            f'<text x="{_c(x1)}" y="{_c(baseline)}" font-size="{_c(size)}" text-anchor="end">'
            f'<tspan font-weight="600" fill="{DARK_RED}">{mean}</tspan>'
            f'<tspan fill="{MUTED}"> · {average}</tspan></text>'
        )
        body.append(
            f'<rect x="{_c(x0)}" y="{_c(middle - bar_height / 2)}" width="{_c(x1 - x0)}" height="{_c(bar_height)}" '
            f'rx="3" fill="{SOFT_RED}"/>'
        )
        if bar.mean is not None:
            body.append(
                f'<rect class="bar" x="{_c(x0)}" y="{_c(middle - bar_height / 2)}" '
                f'width="{_c(x_at(bar.mean) - x0)}" height="{_c(bar_height)}" rx="3" fill="{BRAND}"/>'
            )
        if bar.average is not None:
            at = x_at(bar.average)
            body.append(
                f'<line class="average" x1="{_c(at)}" y1="{_c(middle - 9)}" x2="{_c(at)}" y2="{_c(middle + 9)}" '
                f'stroke="{INK}" stroke-width="3" stroke-linecap="round"/>'
            )
        votes = ngettext("%(count)d vote", "%(count)d votes", bar.votes) % {"count": bar.votes}
        descriptions.append(f"{bar.label}: {mean} ({votes}); {average_label} {average}")

    view_box = (0.0, 0.0, width, bottom + axis)
    return _svg(body, kind="compare", id_prefix=id_prefix, title=title, desc="; ".join(descriptions), view_box=view_box)


@dataclass(frozen=True)
class TrendPoint:
    label: str  # the month, e.g. "2026-11"
    mean: float | None  # None in a month without counted votes
    votes: int


def trend_svg(
    points: Sequence[TrendPoint],
    *,
    title: str,
    id_prefix: str,
    scale_min: float = 1.0,
    scale_max: float = 5.0,
    no_votes_label: str = "—",
) -> SafeString:
    """The average score month by month: a line through the months with votes (a month without any is a gap,
    not a fall to zero), each point labelled, and small bars along the bottom for how many votes each month
    had. "" without points."""
    if scale_max <= scale_min:
        raise ValueError(f"scale_max must be above scale_min, got {scale_min}..{scale_max}")
    if not points:
        return mark_safe("")  # nosec B308, B703
    width, left, right, top, plot, gap, counts, axis = 320.0, 18.0, 8.0, 18.0, 120.0, 8.0, 26.0, 20.0
    step = (width - left - right) / len(points)
    bottom = top + plot

    def x_at(index: int) -> float:
        return left + step * index + step / 2

    def y_at(value: float) -> float:
        return bottom - plot * (_clamp(value, scale_min, scale_max) - scale_min) / (scale_max - scale_min)

    body: list[str] = []
    for tick in _ticks(scale_min, scale_max):
        body.append(
            f'<line class="grid" x1="{_c(left)}" y1="{_c(y_at(tick))}" x2="{_c(width - right)}" '
            f'y2="{_c(y_at(tick))}" stroke="{LINES}"/>'
        )
        body.append(_text(left - 4, y_at(tick) + 4, f"{tick:g}", size=11, anchor="end", extra=f' fill="{MUTED}"'))
    segments: list[list[tuple[float, float]]] = [[]]
    for i, point in enumerate(points):
        if point.mean is None:
            segments.append([])
        else:
            segments[-1].append((x_at(i), y_at(point.mean)))
    for segment in segments:
        if len(segment) > 1:
            path = " ".join(f"{_c(x)},{_c(y)}" for x, y in segment)
            body.append(
                f'<polyline class="line" points="{path}" fill="none" stroke="{BRAND}" stroke-width="2.5" '
                'stroke-linejoin="round"/>'
            )
    most = max(point.votes for point in points) or 1
    base = bottom + gap + counts
    label_every = 1 if len(points) <= 6 else 2 if len(points) <= 12 else 3
    for i, point in enumerate(points):
        x = x_at(i)
        if point.mean is not None:
            body.append(f'<circle cx="{_c(x)}" cy="{_c(y_at(point.mean))}" r="3.5" fill="{BRAND}" stroke="#fff"/>')
            if len(points) <= 12:
                body.append(_text(x, y_at(point.mean) - 7, _n(point.mean), size=11, anchor="middle"))
        height = counts * point.votes / most
        bar_width = min(18.0, step * 0.6)
        body.append(
            f'<rect class="votes" x="{_c(x - bar_width / 2)}" y="{_c(base - height)}" width="{_c(bar_width)}" '
            f'height="{_c(height)}" rx="2" fill="{LINES}"/>'
        )
        if (len(points) - 1 - i) % label_every == 0:  # the latest month is always labelled
            body.append(_text(x, base + 15, point.label, size=11, anchor="middle", extra=f' fill="{MUTED}"'))
    desc = "; ".join(
        f"{point.label}: {no_votes_label if point.mean is None else _n(point.mean)} "
        f"({ngettext('%(count)d vote', '%(count)d votes', point.votes) % {'count': point.votes}})"
        for point in points
    )
    return _svg(
        body, kind="trend", id_prefix=id_prefix, title=title, desc=desc, view_box=(0.0, 0.0, width, base + axis)
    )
