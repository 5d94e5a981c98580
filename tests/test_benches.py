"""Every script in bench/ runs at a tiny scale and prints its table, so none breaks silently.

A bench is measured at full scale by hand, rarely; meanwhile the schema and the services it calls move on
(a ``TRUNCATE`` without ``CASCADE`` broke the eligibility bench once new tables referenced the ratings
tables, and nobody noticed). Here each one runs as it is run by hand, as a separate process, with the
smallest arguments it accepts, and must exit 0 and print its table. The figures are not asserted.

The benches that need PostgreSQL share one scratch database, made from the migrated test database and
dropped at the end; they run in this file's order, each building on what the previous ones left:
``seed_full.py --scale tiny`` seeds it, the eligibility and import benches run on that, then the demo's
ratings and moderation data are added (as ``seed --scale demo`` adds them) for the page, dashboard,
mixed-load, scoring, batch-workers, verify_scores and screening benches. The server benches (product page,
dashboard, mixed load) start gunicorn and a Celery worker on the test's Redis database, which mixed_load and
batch_workers flush.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections

BENCH = Path(settings.BASE_DIR) / "bench"
#: Seconds one bench may take at tiny scale before the test gives up on it.
TIMEOUT = 300
#: The scale ``seed_full.py`` seeds here: 300 users, 200 products, ~3,000 order lines.
TINY = "tiny"

#: The demo's ratings and moderation data on top of the seeded catalog, as ``seed --scale demo`` adds them.
DEMO_DATA = """
import django

django.setup()

from moderation.demo import demo_moderation_seed
from ratings.demo import demo_brand_account_link, demo_ratings_seed
from seeding.people import BRAND, BUYER, MANAGER, PERSONAS

demo_ratings_seed(seed=42, buyer_email=PERSONAS[BUYER].email)
demo_brand_account_link(email=PERSONAS[BRAND].email)
demo_moderation_seed(seed=42, manager_email=PERSONAS[MANAGER].email)
"""


def run(script: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run ``bench/<script>`` (or ``-c`` code) with our interpreter; fail with its output unless it exits 0.

    Without REDIS_URL, as the benches are run by hand: tasks run eagerly in the process (the server
    benches are given the Redis URL as an argument and start their own worker).
    """
    argv = [sys.executable, *(["-c", script] if "\n" in script else [str(BENCH / script)]), *args]
    inherited = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and scripts
        argv,
        env={**inherited, "DJANGO_SETTINGS_MODULE": "xhs.settings", **(env or {})},
        cwd=cwd or settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode:
        pytest.fail(f"{script} exited {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


# --- Without a database ----------------------------------------------------------------------------


def test_the_quorum_simulation_prints_its_table() -> None:
    output = run("quorum_simulation.py", "--cases", "200")

    assert "adaptive 3/5/7" in output
    assert "wrong/1k" in output


@pytest.fixture
def honest_ratings(tmp_path: Path) -> Path:
    """A tiny ratings parquet file with MovieLens's columns (the real one comes in a wheel we do not ship)."""
    pa = pytest.importorskip("pyarrow", reason="bench/movielens.py reads parquet with pyarrow (requirements-dev)")
    import numpy as np
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    rows = 3_000
    table = pa.table(
        {
            "user_id": rng.integers(1, 120, rows),
            "movie_id": rng.integers(1, 200, rows),
            "rating": rng.integers(1, 6, rows),
            "timestamp": np.sort(rng.integers(874_724_710, 893_286_638, rows)),
        }
    )
    path = tmp_path / "ratings.parquet"
    pq.write_table(table, path)
    return path


def test_movielens_converts_the_ratings_and_screening_null_prints_its_table(
    honest_ratings: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "ratings.csv"

    converted = run("movielens.py", str(honest_ratings), str(csv))
    screened = run("screening_null.py", str(csv), "--fingerprints")

    assert "3,000 ratings" in converted
    assert "flagged" in screened
    assert "shared_device" in screened


# --- On PostgreSQL, in one scratch database, in this order -------------------------------------------


@dataclass
class BenchDatabase:
    url: str
    redis_url: str
    #: What is in it so far: "seeded" (catalog and accounts), then "demo" (ratings and moderation too).
    stages: set[str] = field(default_factory=set)

    @property
    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url}

    def run(self, script: str, *args: str) -> str:
        return run(script, *args, env=self.env)

    def seeded(self) -> str:
        """Seed the tiny scale (the seed bench itself); returns its output."""
        output = self.run("seed_full.py", "--scale", TINY)
        self.stages = {"seeded"}
        return output

    def with_demo_data(self) -> None:
        if "seeded" not in self.stages:
            self.seeded()
        if "demo" not in self.stages:
            self.run(DEMO_DATA)
            self.stages.add("demo")

    def server_args(self) -> list[str]:
        """The server benches' smallest load: one gunicorn worker, two connections, one measured second."""
        return ["--database-url", self.url, "--redis-url", self.redis_url, "--workers", "1", "--seconds", "1"]


@pytest.fixture(scope="module")
def bench_database(django_db_setup: None, django_db_blocker: Any) -> Iterator[BenchDatabase]:
    """A copy of the migrated test database for the benches' processes, dropped afterwards."""
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("the benches need PostgreSQL: set DATABASE_URL=postgres://...")
    if not os.environ.get("REDIS_URL"):
        pytest.skip("the server benches need Redis: set REDIS_URL=redis://...")
    from tests.processes import worker_database_url

    with django_db_blocker.unblock():
        template = connection.settings_dict["NAME"]
        name = f"{template}_benches"
        connections.close_all()  # a template database must have no other session
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = worker_database_url().rsplit("/", 1)[0] + f"/{name}"
    try:
        yield BenchDatabase(url=url, redis_url=os.environ["REDIS_URL"])
    finally:
        with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_the_seed_bench_seeds_the_tiny_scale_and_prints_its_table(bench_database: BenchDatabase) -> None:
    output = bench_database.seeded()

    assert "catalog_orderline" in output
    assert "ratio seed / bound (COPY of the same bytes)" in output


@pytest.mark.postgres
def test_the_eligibility_bench_agrees_with_its_bound_and_prints_its_table(bench_database: BenchDatabase) -> None:
    if "seeded" not in bench_database.stages:
        bench_database.seeded()

    output = bench_database.run("eligibility.py", "--per-category", "2")
    bench_database.stages.discard("demo")  # it empties the ratings tables

    assert "ratio job / bound" in output
    assert "result check: rows differing" in output  # the bench exits 1 unless 0 rows differ


@pytest.mark.postgres
def test_the_purchase_import_bench_prints_its_table(bench_database: BenchDatabase) -> None:
    output = bench_database.run("import_purchases.py", "200")

    assert "ratio to the bound" in output


@pytest.mark.postgres
def test_the_product_page_bench_prints_its_table(bench_database: BenchDatabase) -> None:
    bench_database.with_demo_data()

    output = bench_database.run(
        "product_page_load.py",
        *bench_database.server_args(),
        *("--connections", "2", "--client-processes", "1", "--warmup", "0", "--cold-seconds", "0"),
    )

    assert "CPU a request" in output and "signed in: req/s ÷ /healthz/" in output


@pytest.mark.postgres
def test_the_api_bench_prints_its_table(bench_database: BenchDatabase) -> None:
    bench_database.with_demo_data()

    output = bench_database.run(
        "api_load.py",
        *bench_database.server_args(),
        *("--connections", "2", "--client-processes", "1", "--warmup", "0"),
    )

    assert "÷ /healthz/ req/s" in output


@pytest.mark.postgres
def test_the_brand_page_bench_prints_its_table(bench_database: BenchDatabase) -> None:
    bench_database.with_demo_data()

    output = bench_database.run(
        "brand_page_load.py",
        *bench_database.server_args(),
        *("--connections", "2", "--client-processes", "1", "--warmup", "0", "--builds", "2"),
    )

    assert "÷ /healthz/ req/s" in output and "uncached builds of the figures" in output
    assert "median over 3 rounds" in output


@pytest.mark.postgres
def test_the_moderation_dashboard_bench_prints_its_table(bench_database: BenchDatabase) -> None:
    bench_database.with_demo_data()

    output = bench_database.run(
        "moderation_dashboard.py",
        *bench_database.server_args(),
        *("--connections", "2", "--client-processes", "1", "--warmup", "0", "--sql-runs", "1", "--cases", "10"),
    )

    assert "/moderation/ ÷ /healthz/" in output


@pytest.mark.postgres
def test_the_mixed_load_bench_loses_nothing_and_prints_its_table(bench_database: BenchDatabase) -> None:
    bench_database.with_demo_data()

    output = bench_database.run(
        "mixed_load.py",
        *bench_database.server_args(),
        *("--healthz-seconds", "1", "--warmup", "0", "--client-processes", "1", "--shoppers", "1"),
        *("--purchasers", "1", "--managers", "1", "--intruders", "1", "--purchaser-pool", "5"),
        *("--manager-pool", "2", "--cases", "5", "--drain-timeout", "120"),
    )

    assert "verified:" in output
    assert "5xx and exceptions: 0" in output


@pytest.mark.postgres
def test_the_scoring_bench_prints_its_table(bench_database: BenchDatabase) -> None:
    bench_database.with_demo_data()

    output = bench_database.run("scoring.py", "--rounds", "1", "--rescores", "1")

    assert "ratio job / bound" in output
    # the bench exits non-zero unless its result checks find 0 rows differing
    assert "categories carried over; carry-over check: 0 rows differ" in output
    assert "the night after those votes:" in output and "result check: 0 rows differ" in output


@pytest.mark.postgres
def test_the_batch_workers_bench_runs_the_nightly_jobs_on_real_workers_and_prints_its_table(
    bench_database: BenchDatabase,
) -> None:
    bench_database.with_demo_data()

    output = bench_database.run("batch_workers.py", "--redis-url", bench_database.redis_url, "--rounds", "1")

    assert "scoring (" in output  # the bench exits non-zero unless each scoring run finished
    assert "screening (" in output
    assert "speed-up" in output


@pytest.mark.postgres
def test_the_verify_scores_bench_finds_no_difference_and_prints_its_table(bench_database: BenchDatabase) -> None:
    bench_database.with_demo_data()

    output = bench_database.run("verify_scores.py")

    assert "verify_scores (database) ÷ job" in output  # the bench exits 1 unless 0 figures differ


@pytest.mark.postgres
def test_the_screening_bench_prepares_its_rings_and_prints_its_table(
    bench_database: BenchDatabase, tmp_path: Path
) -> None:
    bench_database.with_demo_data()
    # an earlier copy of the code to measure: the children must import it, not the checkout's (they stop if not)
    shutil.copytree(
        settings.BASE_DIR / "moderation", tmp_path / "moderation", ignore=shutil.ignore_patterns("__pycache__")
    )

    prepared = bench_database.run("screening.py", "--prepare", "--keep-base")
    output = bench_database.run("screening.py", "--code-root", str(tmp_path))

    assert f"code: {tmp_path} (moderation from {tmp_path / 'moderation'})" in output
    assert "ring accounts" in prepared
    assert "full bound (bulk SQL + numpy)" in output
    assert "bound's result check: 0 rows differ from the job's output" in output
    assert "detection of the injected rings:" in output
