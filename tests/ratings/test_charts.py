"""The rating page's SVG charts: well-formed, escaped, accessible, and drawn to scale."""

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from django.utils import translation
from django.utils.safestring import SafeString

from ratings.charts import FactorBar, factor_bars_svg, heart_meter_svg, histogram_svg, radar_svg

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script> & co"
SHAMPOO = [("清洁力", 4.3), ("香味", 3.8), ("去屑", 2.6), ("顺滑度", 4.9), ("滋润度", 3.1), ("防脱", None)]


def parse(svg: str) -> ET.Element:
    # The input is our own output, never an upload, so the stdlib parser's XML-bomb caveat does not apply.
    return ET.fromstring(svg)  # noqa: S314


def find_all(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    return [el for el in root.iter(SVG + tag) if cls is None or el.get("class") == cls]


def polygon_points(polygon: ET.Element) -> list[tuple[float, float]]:
    pairs = (pair.split(",") for pair in polygon.attrib["points"].split())
    return [(float(x), float(y)) for x, y in pairs]


def ids(root: ET.Element) -> set[str]:
    return {el.attrib["id"] for el in root.iter() if "id" in el.attrib}


def all_text(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in find_all(root, "text")]


CHARTS: dict[str, Callable[[str, str], SafeString]] = {
    "radar": lambda title, prefix: radar_svg(SHAMPOO, title=title, id_prefix=prefix),
    "bars": lambda title, prefix: factor_bars_svg(
        [FactorBar("清洁力", 4.3, 4.1, 4.5, 120), FactorBar("防脱", None, None, None, 0)], title=title, id_prefix=prefix
    ),
    "histogram": lambda title, prefix: histogram_svg([3, 5, 20, 48, 61], title=title, id_prefix=prefix),
    "meter": lambda title, prefix: heart_meter_svg(4.3, title=title, id_prefix=prefix),
}


@pytest.mark.parametrize("kind", CHARTS)
def test_every_chart_is_an_accessible_image_labelled_by_its_own_title_and_desc(kind: str) -> None:
    root = parse(CHARTS[kind]("Shampoo 评分", "p1"))

    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert len(root.attrib["viewBox"].split()) == 4
    # It scales with its container: no fixed size, and no style attribute that a strict CSP would block.
    assert "width" not in root.attrib and "height" not in root.attrib
    assert not [el for el in root.iter() if "style" in el.attrib]
    labelled_by = root.attrib["aria-labelledby"].split()
    by_id = {el.attrib["id"]: el for el in root.iter() if "id" in el.attrib}
    assert [by_id[ref].tag for ref in labelled_by] == [SVG + "title", SVG + "desc"]
    assert by_id[labelled_by[0]].text == "Shampoo 评分"
    assert by_id[labelled_by[1]].text


@pytest.mark.parametrize("kind", CHARTS)
def test_two_charts_with_different_prefixes_share_no_id(kind: str) -> None:
    first, second = parse(CHARTS[kind]("t", "product-1-chart")), parse(CHARTS[kind]("t", "product-2-chart"))

    assert ids(first) and ids(second)
    assert ids(first).isdisjoint(ids(second))


def test_an_id_prefix_that_would_break_the_markup_is_refused() -> None:
    with pytest.raises(ValueError, match="id_prefix"):
        radar_svg(SHAMPOO, title="t", id_prefix='x" onload="alert(1)')


def test_a_hostile_label_and_title_are_escaped_and_their_text_survives() -> None:
    charts = [
        radar_svg([(HOSTILE, 4.0), ("b", 3.0), ("c", 2.0)], title=HOSTILE, id_prefix="r"),
        factor_bars_svg([FactorBar(HOSTILE, 4.0, 3.5, 4.5, 10)], title=HOSTILE, id_prefix="b"),
        histogram_svg([1, 2, 3, 4, 5], title=HOSTILE, id_prefix="h", labels=[HOSTILE, "2", "3", "4", "5"]),
        heart_meter_svg(3.0, title=HOSTILE, id_prefix="m"),
    ]

    for svg in charts:
        assert "<script" not in svg
        root = parse(svg)
        assert not find_all(root, "script")
        assert find_all(root, "title")[0].text == HOSTILE
    for svg in charts[:2]:
        root = parse(svg)
        assert HOSTILE in (find_all(root, "desc")[0].text or "")
        # The visible label may be shortened, but it is the label's own text, not markup.
        assert any(text.startswith("<script>") for text in all_text(root))


@pytest.mark.parametrize("count", range(3, 13))
def test_the_radar_has_one_vertex_and_one_dot_per_axis(count: int) -> None:
    root = parse(radar_svg([(f"f{i}", 3.0) for i in range(count)], title="t", id_prefix="r"))

    [area] = find_all(root, "polygon", "area")
    assert len(polygon_points(area)) == count
    assert len(find_all(root, "circle")) == count


def test_radar_means_of_five_reach_the_outer_ring_and_means_of_one_or_none_the_innermost() -> None:
    axes = [("top", 5.0), ("low", 1.0), ("none", None), ("mid", 3.0), ("too high", 7.0)]
    root = parse(radar_svg(axes, title="t", id_prefix="r"))

    rings = [polygon_points(ring) for ring in find_all(root, "polygon", "grid")]
    outer = max(rings, key=lambda ring: max(x for x, _ in ring) - min(x for x, _ in ring))
    cx, cy = sum(x for x, _ in outer) / len(outer), sum(y for _, y in outer) / len(outer)
    radii = sorted(math.dist((cx, cy), ring[0]) for ring in rings)
    assert len(radii) == 5  # one ring per whole score, 1 to 5
    points = polygon_points(find_all(root, "polygon", "area")[0])
    distances = [math.dist((cx, cy), point) for point in points]

    assert distances[0] == pytest.approx(radii[-1], abs=0.2)
    assert distances[1] == pytest.approx(radii[0], abs=0.2)
    assert distances[2] == pytest.approx(radii[0], abs=0.2)
    assert distances[3] == pytest.approx(radii[2], abs=0.2)
    assert distances[4] == pytest.approx(radii[-1], abs=0.2)
    # The minimum is near the centre, yet far enough out that low scores still make a visible shape.
    assert radii[-1] / 10 < radii[0] < radii[-1] / 3
    # The first factor points straight up.
    assert points[0][0] == pytest.approx(cx, abs=0.2) and points[0][1] < cy


def test_radar_labels_show_each_mean_and_long_labels_are_shortened_but_kept_whole_in_desc() -> None:
    long_latin = "Fragrance that lasts all day long"
    long_cjk = "这是一个非常非常长的因子名称"
    root = parse(radar_svg([(long_latin, 4.25), (long_cjk, None), ("香味", 3.0)], title="t", id_prefix="r"))

    texts = all_text(root)
    assert any(text.startswith("Fragrance that") and "…" in text and text.endswith("4.2") for text in texts)
    assert any(text.startswith("这是一个") and "…" in text and text.endswith("—") for text in texts)
    assert "香味3.0" in texts
    desc = find_all(root, "desc")[0].text or ""
    assert long_latin in desc and long_cjk in desc


def test_radar_labels_sit_outside_the_ring_and_are_anchored_away_from_it() -> None:
    root = parse(radar_svg([("top", 3.0), ("right", 3.0), ("bottom", 3.0), ("left", 3.0)], title="t", id_prefix="r"))

    labels = [text for text in find_all(root, "text") if text.text in {"top", "right", "bottom", "left"}]
    assert [text.get("text-anchor") for text in labels] == ["middle", "start", "middle", "end"]
    ring = polygon_points(max(find_all(root, "polygon", "grid"), key=lambda p: -polygon_points(p)[0][1]))
    top, right, bottom, left = ring
    assert float(labels[0].attrib["y"]) < top[1]
    assert float(labels[1].attrib["x"]) > right[0]
    assert float(labels[2].attrib["y"]) > bottom[1]
    assert float(labels[3].attrib["x"]) < left[0]


@pytest.mark.parametrize("axes", [[], [("a", 3.0)], [("a", 3.0), ("b", 4.0)]])
def test_fewer_than_three_radar_axes_draw_nothing(axes: list[tuple[str, float | None]]) -> None:
    assert radar_svg(axes, title="t", id_prefix="r") == ""


def grid_scale(root: ET.Element) -> Callable[[float], float]:
    """Where a score falls, read off the chart's own gridlines at 1 and 5."""
    xs = sorted(float(line.attrib["x1"]) for line in find_all(root, "line", "grid"))
    assert len(xs) == 5
    return lambda score: xs[0] + (score - 1) / 4 * (xs[-1] - xs[0])


def test_bar_widths_are_proportional_to_the_mean_above_the_scale_minimum() -> None:
    bars = [FactorBar("a", 2.0, None, None, 1), FactorBar("b", 4.0, None, None, 1), FactorBar("c", 1.0, None, None, 1)]
    root = parse(factor_bars_svg(bars, title="t", id_prefix="b"))

    x_at = grid_scale(root)
    rects = find_all(root, "rect", "bar")
    widths = [float(rect.attrib["width"]) for rect in rects]
    assert widths[1] == pytest.approx(3 * widths[0], abs=0.3)
    assert widths[2] == 0
    assert all(float(rect.attrib["x"]) == pytest.approx(x_at(1.0), abs=0.1) for rect in rects)
    assert "4.0" in all_text(root) and "2.0" in all_text(root)


def test_whisker_ends_sit_at_the_interval_and_clamp_to_the_scale() -> None:
    bars = [
        FactorBar("inside", 3.0, 2.5, 3.5, 40),
        FactorBar("beyond", 3.0, 0.2, 5.8, 3),
        FactorBar("single vote", 4.0, None, None, 1),
    ]
    root = parse(factor_bars_svg(bars, title="t", id_prefix="b"))

    x_at = grid_scale(root)
    whiskers = find_all(root, "g", "whisker")
    assert len(whiskers) == 2  # no interval, no whisker
    spans = [whisker.find(SVG + "line") for whisker in whiskers]
    ends = [(float(span.attrib["x1"]), float(span.attrib["x2"])) for span in spans if span is not None]
    assert ends[0] == pytest.approx((x_at(2.5), x_at(3.5)), abs=0.1)
    assert ends[1] == pytest.approx((x_at(1.0), x_at(5.0)), abs=0.1)


def test_a_factor_without_votes_shows_the_no_votes_label_instead_of_a_bar() -> None:
    bars = [FactorBar("清洁力", 4.3, 4.1, 4.5, 120), FactorBar("防脱", None, None, None, 0)]
    root = parse(factor_bars_svg(bars, title="t", id_prefix="b", no_votes_label="暂无评分"))

    assert len(find_all(root, "rect", "bar")) == 1
    assert "暂无评分" in all_text(root)


def test_the_bar_chart_grows_taller_with_each_row() -> None:
    def height(rows: int) -> float:
        bars = [FactorBar(f"f{i}", 3.0, None, None, 1) for i in range(rows)]
        return float(parse(factor_bars_svg(bars, title="t", id_prefix="b")).attrib["viewBox"].split()[3])

    assert height(5) < height(6) < height(10)
    # Every row adds the same height, so long factor lists are not squeezed.
    assert height(10) - height(5) == pytest.approx(5 * (height(6) - height(5)), abs=0.1)


def histogram(counts: list[int]) -> tuple[list[float], list[float], list[str]]:
    root = parse(histogram_svg(counts, title="t", id_prefix="h"))
    rects = find_all(root, "rect", "bar")
    heights = [float(rect.attrib["height"]) for rect in rects]
    bottoms = [float(rect.attrib["y"]) + float(rect.attrib["height"]) for rect in rects]
    return heights, bottoms, ["".join(text.itertext()) for text in find_all(root, "text", "percent")]


def test_histogram_bars_are_proportional_to_counts_and_stand_on_one_baseline() -> None:
    heights, bottoms, _ = histogram([1, 2, 0, 4, 8])

    assert heights[4] > 0
    assert [h / heights[4] for h in heights] == pytest.approx([1 / 8, 2 / 8, 0, 4 / 8, 1], abs=0.01)
    assert max(bottoms) - min(bottoms) < 0.2


def test_the_most_given_score_fills_the_whole_column() -> None:
    root = parse(histogram_svg([0, 3, 1, 0, 0], title="t", id_prefix="h"))

    columns = [rect for rect in find_all(root, "rect") if rect.get("class") is None]
    bars = find_all(root, "rect", "bar")
    assert float(bars[1].attrib["height"]) == pytest.approx(float(columns[1].attrib["height"]), abs=0.1)
    assert float(bars[1].attrib["y"]) == pytest.approx(float(columns[1].attrib["y"]), abs=0.1)


def test_histogram_percents_add_up_to_exactly_one_hundred() -> None:
    _, _, percents = histogram([1, 1, 1, 0, 0])

    assert percents[3:] == ["0%", "0%"]
    assert sum(int(p.rstrip("%")) for p in percents) == 100
    assert sorted(percents[:3]) == ["33%", "33%", "34%"]


def test_a_histogram_with_no_votes_draws_empty_bars() -> None:
    heights, _, percents = histogram([0, 0, 0, 0, 0])

    assert heights == [0, 0, 0, 0, 0]
    assert percents == ["0%"] * 5


def test_histogram_shows_the_callers_labels_under_the_bars() -> None:
    root = parse(histogram_svg([1, 2, 3, 4, 5], title="t", id_prefix="h", labels=[f"{i}★" for i in range(1, 6)]))

    assert [text for text in all_text(root) if "★" in text] == ["1★", "2★", "3★", "4★", "5★"]


@pytest.mark.parametrize("counts", [[1, 2, 3, 4], [1, 2, 3, 4, 5, 6], [], [1, 2, -3, 4, 5]])
def test_histogram_refuses_anything_but_five_counts(counts: list[int]) -> None:
    with pytest.raises(ValueError):
        histogram_svg(counts, title="t", id_prefix="h")


def test_histogram_refuses_a_label_per_score_that_does_not_match() -> None:
    with pytest.raises(ValueError):
        histogram_svg([1, 2, 3, 4, 5], title="t", id_prefix="h", labels=["1", "2"])


def test_the_heart_meter_fills_in_proportion_to_the_score_and_stays_on_its_track() -> None:
    def fill(score: float) -> float:
        return float(
            find_all(parse(heart_meter_svg(score, title="t", id_prefix="m")), "rect", "bar")[0].get("width", "")
        )

    assert fill(1.0) == 0
    assert fill(3.0) == pytest.approx(fill(5.0) / 2, abs=0.1)
    assert fill(9.0) == fill(5.0) and fill(-2.0) == 0
    root = parse(heart_meter_svg(3.0, title="t", id_prefix="m"))
    assert find_all(root, "rect", "bar")[0].get("clip-path") == "url(#m-track)"
    assert "m-track" in ids(root)


def test_numbers_use_a_point_whatever_the_active_language() -> None:
    with translation.override("de"):
        radar = radar_svg(SHAMPOO, title="t", id_prefix="r")
        bars = factor_bars_svg([FactorBar("a", 4.25, 3.5, 4.75, 9)], title="t", id_prefix="b")

    assert "4.3" in radar and "4,3" not in radar
    desc = find_all(parse(bars), "desc")[0].text or ""
    assert desc.startswith("a: 4.2 (") and "3.5–4.8" in desc


def test_a_scale_without_range_is_refused_rather_than_divided_by_zero() -> None:
    with pytest.raises(ValueError, match="max_value"):
        radar_svg(SHAMPOO, title="t", id_prefix="r", min_value=5.0, max_value=5.0)
    with pytest.raises(ValueError, match="scale_max"):
        factor_bars_svg([], title="t", id_prefix="b", scale_min=3.0, scale_max=1.0)
