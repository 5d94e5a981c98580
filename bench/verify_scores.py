"""Bench: ``verify_scores`` beside the scoring job it checks, on the scoring bench's data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scorebench .venv/bin/python bench/verify_scores.py \
        --prepare [--scale tiny|medium|full]                                # once, as bench/scoring.py --prepare
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scorebench .venv/bin/python bench/verify_scores.py

Smoke test (CI, seconds): on the demo data (``tests/test_benches.py``).

Measures, in this process, each after a CHECKPOINT:

1. the job: ``scoring.run_all`` on empty result tables (``bench/scoring.py``'s ``output_reset`` and
   ``run_job``), and within it the input fingerprints (``fingerprints.votes_digests``: the counted scores
   the job read sorted, written as lines and hashed in numpy), so their share of the job shows;
2. ``verify_scores`` from the database: the run's files written by SQL (``COPY``), then every figure
   recomputed from them (``verification.database_verify`` is the two);
3. ``verify_scores`` from an export: the recomputation alone, from files already written.

Exits 1 unless both find 0 differences.
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xhs.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench import scoring as scoring_bench  # noqa: E402
from ratings import fingerprints, verification  # noqa: E402


@contextmanager
def digest_clock() -> Iterator[list[float]]:
    """Adds up the time the job spends in ``fingerprints.votes_digests`` (by wrapping the module function)."""
    spent = [0.0]
    original: Callable[..., Any] = fingerprints.votes_digests

    def clocked(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    fingerprints.votes_digests = clocked
    try:
        yield spent
    finally:
        fingerprints.votes_digests = original


def measure() -> int:
    scale = scoring_bench.sql_rows(
        "SELECT (SELECT COUNT(*) FROM ratings_vote), (SELECT COUNT(*) FROM ratings_factorscore),"
        " (SELECT COUNT(*) FROM ratings_campaign)"
    )[0]
    print(f"data: {scale[0]:,} votes, {scale[1]:,} factor scores, {scale[2]:,} campaigns", flush=True)
    scoring_bench.output_reset()
    load = scoring_bench.settle()
    print(f"the scoring job (load average {load})", flush=True)
    with digest_clock() as digests:
        job, waited, run, _per_category, _bootstrap = scoring_bench.run_job()
    print(f"  {job:.1f} s, of which {digests[0]:.2f} s input fingerprints", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as scratch:
        directory = Path(scratch)
        load = scoring_bench.settle()
        print(f"verify_scores from the database (load average {load})", flush=True)
        started = time.perf_counter()
        verification.export_write(run_id=run.pk, directory=directory)
        written = time.perf_counter() - started
        from_database = verification.export_verify(directory)
        database_seconds = time.perf_counter() - started
        size_mb = sum(path.stat().st_size for path in directory.iterdir()) / 1e6
        print(f"  {database_seconds:.1f} s ({written:.1f} s writing {size_mb:.1f} MB of CSV)", flush=True)
        load = scoring_bench.settle()
        print(f"verify_scores from the export (load average {load})", flush=True)
        started = time.perf_counter()
        from_export = verification.export_verify(directory)
        export_seconds = time.perf_counter() - started
        print(f"  {export_seconds:.1f} s", flush=True)

    rows = [
        ("scoring job (run_all, one process)", f"{job:.2f} s", f"{waited:.2f} s waiting for the database"),
        (
            "  of which input fingerprints",
            f"{digests[0]:.2f} s",
            f"{100 * digests[0] / job:.1f}% of the job" if job else "",
        ),
        (
            "verify_scores from the database",
            f"{database_seconds:.2f} s",
            f"{written:.2f} s SQL into CSV + {database_seconds - written:.2f} s recomputing",
        ),
        ("verify_scores from an export", f"{export_seconds:.2f} s", ""),
        ("verify_scores (database) ÷ job", f"{database_seconds / job:.2f}×" if job else "-", ""),
        ("verify_scores (export) ÷ job", f"{export_seconds / job:.2f}×" if job else "-", ""),
        (
            "products / figures recomputed",
            f"{from_database.products:,} / {from_database.figures:,}",
            f"run {run.pk}",
        ),
        (
            "differences (database / export)",
            f"{len(from_database.differences)} / {len(from_export.differences)}",
            "0 expected",
        ),
    ]
    width = max(len(name) for name, *_ in rows)
    print()
    for name, figure, note in rows:
        print(f"{name:<{width}}  {figure:>16}  {note}")
    for difference in (from_database.differences + from_export.differences)[:10]:
        print(f"  {difference}")
    return 1 if from_database.differences or from_export.differences else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", action="store_true", help="build the data set as bench/scoring.py --prepare")
    parser.add_argument("--scale", choices=sorted(scoring_bench.SCALES), default="full", help="--prepare: how much")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL: set DATABASE_URL")
    settings.DEBUG = False  # no query log
    if args.prepare:
        scoring_bench.prepare(
            scale=args.scale, seed=args.seed, per_category=32, cap=100, purchase_days=560, voting=0.99
        )
        return
    raise SystemExit(measure())


if __name__ == "__main__":
    main()
