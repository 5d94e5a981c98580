"""Recompute Little Red Heart scores and lists from open-data releases (see README.md in the zip).

    python recompute.py little-red-heart-2026-11.zip [more releases ...] [--out scores.csv]

Standard library only. Every counted vote weighs the same: a factor's score is the mean of its 1-5 scores,
a product's comprehensive score the weighted mean of its factor means, its ranking score that score
pulled toward the category average as if PRIOR_STRENGTH more votes sat at the average, and a category's
list the products with at least MIN_VOTES_TO_PUBLISH raters whose ranking score reaches LIST_THRESHOLD,
best first, ties to the product more people rated, then to the smaller product id.
"""

import argparse
import csv
import io
import json
import sys
import zipfile
from collections import defaultdict
from typing import Any, TextIO

Row = dict[str, Any]


def member(release: zipfile.ZipFile, name: str) -> str:
    """A file of the release, wherever the zip's folder puts it."""
    return next(n for n in release.namelist() if n.rsplit("/", 1)[-1] == name)


def read(paths: list[str]) -> tuple[list[Row], dict[str, dict[str, Row]], dict[str, Row], dict[str, Any]]:
    ratings: list[Row] = []
    factors: dict[str, dict[str, Row]] = {}
    products: dict[str, Row] = {}
    policy: dict[str, Any] = {}
    for path in paths:
        with zipfile.ZipFile(path) as release:
            month = json.loads(release.read(member(release, "policy.json")))
            policy = month  # the latest release's parameters
            text = io.TextIOWrapper(release.open(member(release, "ratings.csv")), encoding="utf-8")
            # Pseudonyms are per release: the same person has another one in another month.
            ratings += [dict(r, rater=f"{month['month']}/{r['rater']}") for r in csv.DictReader(text)]
            text = io.TextIOWrapper(release.open(member(release, "factors.csv")), encoding="utf-8")
            for r in csv.DictReader(text):
                factors.setdefault(r["product_id"], {})[r["factor_key"]] = r
            text = io.TextIOWrapper(release.open(member(release, "products.csv")), encoding="utf-8")
            products.update({r["product_id"]: r for r in csv.DictReader(text)})
    return ratings, factors, products, policy


def scores(
    ratings: list[Row], factors: dict[str, dict[str, Row]], products: dict[str, Row], policy: dict[str, Any]
) -> list[Row]:
    histograms: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    raters: dict[str, set[str]] = defaultdict(set)
    for r in ratings:
        histograms[(r["product_id"], r["factor_key"])][int(r["score"]) - 1] += 1
        raters[r["product_id"]].add(r["rater"])
    rows: list[Row] = []
    for product_id, product in products.items():
        means: list[float] = []
        weights: list[float] = []
        for key, factor in sorted(factors.get(product_id, {}).items(), key=lambda kv: int(kv[1]["position"])):
            h = histograms.get((product_id, key))
            if h and sum(h):
                means.append(sum((i + 1) * n for i, n in enumerate(h)) / sum(h))
                weights.append(float(factor["weight"]))
        total = sum(weights)
        comprehensive = sum(m * w for m, w in zip(means, weights, strict=True)) / total if means and total > 0 else None
        rows.append(
            {
                "product_id": product_id,
                "category_id": product["category_id"],
                "name_en": product["name_en"],
                "raters": len(raters[product_id]),
                "comprehensive": comprehensive,
            }
        )
    by_category: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row["comprehensive"] is not None:
            by_category[row["category_id"]].append(row)
    k = policy["prior_strength"]
    for members in by_category.values():
        votes = sum(r["raters"] for r in members)
        prior = sum(r["comprehensive"] * r["raters"] for r in members) / votes if votes else 3.0
        for r in members:
            r["published"] = r["raters"] >= policy["min_votes_to_publish"]
            r["ranking_score"] = (r["raters"] * r["comprehensive"] + k * prior) / (r["raters"] + k)
        listed = [r for r in members if r["published"] and r["ranking_score"] >= policy["list_threshold"]]
        listed.sort(key=lambda r: (-r["ranking_score"], -r["raters"], int(r["product_id"])))
        for place, r in enumerate(listed[: policy["list_size"]], start=1):
            r["rank"] = place
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("releases", nargs="+")
    parser.add_argument("--out", default="-")
    args = parser.parse_args(argv)
    rows = scores(*read(args.releases))
    columns = ["category_id", "rank", "product_id", "name_en", "raters", "comprehensive", "ranking_score"]
    rows.sort(key=lambda r: (int(r["category_id"]), r.get("rank") or 10**9, -(r.get("ranking_score") or 0)))
    if args.out == "-":
        write(sys.stdout, rows, columns)
    else:
        with open(args.out, "w", newline="", encoding="utf-8") as out:
            write(out, rows, columns)


def write(out: TextIO, rows: list[Row], columns: list[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


if __name__ == "__main__":
    main()
