"""Bench: the scoring job against a tight bare-SQL bound measured in the same run.

    createdb -h 127.0.0.1 -U postgres scorebench                       # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scorebench .venv/bin/python bench/scoring.py \
        --prepare [--scale tiny|medium|full]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scorebench .venv/bin/python bench/scoring.py \
        [--rounds 3] [--rescores 30] [--explain]

Smoke test (CI, seconds): ``--prepare --scale tiny`` then ``--rounds 1 --rescores 3``.

``--prepare`` builds the data once and replaces everything in the database: ``migrate``, the seed at
``--scale`` (full: 500k users, 20k products, ~10M order lines, about 10 minutes; medium: a fifth of
that, a few minutes; tiny: the demo's sizes, seconds; 93 rating-ready categories at every scale),
the eligibility job in this process (32 products per category, a cap high enough that
every eligible buyer is invited, a purchase window of 560 days instead of 365 so that about 3M are at
full scale: ~3,000 campaigns, ~2.9M invitations), then in bulk SQL: 99% of the
invitations answered with a vote (1% stay accepted, the reserve the re-score step votes with), and
one 1–5 score per vote and frozen factor of its campaign (~20M), drawn as campaign quality + factor
offset + rater leniency + noise, rounded and clipped, so products differ. 97% of the votes count,
2% are excluded by screening, 1% are held for review. The votes and scores go in sorted on their
unique keys, with the secondary indexes and foreign keys set aside and put back (validated) as the
seed does. Random draws come from ``setseed()``. VACUUM ANALYZE at the end (autovacuum may be off).

The default run measures, in this process acting as the worker (categories one after another):

1. the job: ``scoring.run_all`` on empty result tables (every product gets its first result), with
   the time of each category and of the rank intervals' bootstrap within it (its vote scores binned from
   the job's one read of the scores, and its numpy), printed as its share of the job;
2. the re-run with no new data (must write no result): every category is carried over unchanged
   (``scoring._carry_over_unchanged``: no score is read), and its lists, priors and reliability must equal
   the job's (the carry-over check, or the bench fails);
3. the bound, written here independently of the job: one scan of all factor scores grouped by frozen
   factor into 1–5 histograms and means, the votes that do not count left out by a hashed anti-join
   (``NOT IN``) and no per-product semi-join; one scan of the votes by verdict per product and one of
   the invitations per campaign; two ``CREATE UNLOGGED TABLE … AS SELECT``. The bound's rows are
   compared with the job's stored results (the result check: "0 rows differ" or the bench fails),
   then dropped;
4. the re-score after a vote, for ``--rescores`` random campaigns: a new counted vote with its
   scores is stored, ``rescore_request`` flags the campaign, and ``campaign_rescore`` is timed;
5. then a full run, as the night after those votes: their categories are scored (reading only their
   products' scores when they are a fifth of the categories or fewer), the others carried over; then the
   bound again and its result check.

Steps 1–3 are repeated ``--rounds`` times (each round on emptied result tables) and the round with
the median ratio is printed in full: the machine is shared, and one round can take half again as
long as the next. Each measurement starts after a CHECKPOINT; the load average at that moment is
printed beside it, and so is the time the job spent waiting for the database.
``--explain`` then runs EXPLAIN (ANALYZE, BUFFERS) on the slowest queries the job sends for its
slowest category (captured in a transaction that is rolled back). The result tables keep the job's
rows for inspection; the next run empties them and removes the votes this bench added.
"""

import argparse
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xhs.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.eligibility import run_job as eligibility_job  # noqa: E402
from ratings import eligibility, rank_intervals, scoring  # noqa: E402
from ratings.models import (  # noqa: E402
    CampaignFactor,
    FactorResult,
    FactorScore,
    Invitation,
    RatingPolicy,
    ScoringRun,
    Vote,
)
from ratings.statistics import t_quantile  # noqa: E402
from seeding import schema  # noqa: E402
from seeding.generator import DEMO, FULL, SeedSizes  # noqa: E402
from seeding.loading import seed_database  # noqa: E402

#: The comment of the votes the re-score step adds, so the next run can remove them.
BENCH_COMMENT = "bench/scoring.py: a vote for the re-score step"
SCORING_OUTPUT = (
    "ratings_factorresult",
    "ratings_productresult",
    "ratings_heartlistentry",
    "ratings_factorreliability",
    "ratings_scoringruncategory",
    "ratings_scoringrun",
)
COMMENTS = ("好用", "质量不错，推荐", "包装很好", "A bit pricey for what it is", "Works well, would buy again")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def sql(statement: str, params: object = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def sql_rows(statement: str, params: object = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


def settle() -> str:
    """Flush dirty buffers now, not during the next measurement; returns the load average."""
    sql("CHECKPOINT")
    return load_average()


@contextmanager
def timed(into: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        into[name] = time.perf_counter() - started
        print(f"  {name}: {into[name]:.1f} s (load average {load_average()})", flush=True)


# --- Preparing the data ---------------------------------------------------------------------------

# The invitations as answered: the table is rewritten (same ids, sorted on its unique key) rather than
# updated in place, which would leave every row twice on disk (autovacuum may be off).
ANSWERED = """
    CREATE TEMP TABLE bench_answered ON COMMIT DROP AS
    SELECT id, campaign_id, user_id, purchase_id, CASE WHEN x < %(voting)s THEN 'voted' ELSE 'accepted' END AS status,
           expires_at, created_at + y * (statement_timestamp() - created_at) AS responded_at, run_id, created_at
      FROM (SELECT *, random() AS x, random() AS y FROM ratings_invitation) drawn
"""
ANSWERED_BACK = """
    INSERT INTO ratings_invitation (id, campaign_id, user_id, purchase_id, status, expires_at, responded_at, run_id,
                                    created_at, updated_at)
    SELECT id, campaign_id, user_id, purchase_id, status, expires_at, responded_at, run_id, created_at, responded_at
      FROM bench_answered
     ORDER BY campaign_id, user_id
"""

VOTES = """
    INSERT INTO ratings_vote (campaign_id, user_id, invitation_id, product_id, comment, seconds_to_fill, ip_hash,
                              user_agent_hash, revision_count, verdict, exclusion_reason, created_at, submitted_at,
                              updated_at)
    SELECT campaign_id, user_id, invitation_id, product_id,
           CASE WHEN c < 0.1 THEN (%(comments)s::text[])[1 + floor(c * 50)::int] ELSE '' END,
           20 + floor(t * 400)::int,
           md5('ip' || user_id %% 200000) || md5('ip+' || user_id %% 200000),
           md5('ua' || user_id %% 5000) || md5('ua+' || user_id %% 5000),
           0,
           CASE WHEN v < 0.97 THEN 'counted' WHEN v < 0.99 THEN 'excluded' ELSE 'review' END,
           CASE WHEN v >= 0.97 AND v < 0.99 THEN 'screening' ELSE '' END,
           responded_at, responded_at, responded_at
      FROM (
          SELECT i.campaign_id, i.user_id, i.id AS invitation_id, c.product_id, i.responded_at,
                 random() AS c, random() AS t, random() AS v
            FROM ratings_invitation i JOIN ratings_campaign c ON c.id = i.campaign_id
           WHERE i.status = 'voted'
      ) drawn
     ORDER BY campaign_id, user_id
"""

# A campaign's quality, 2.9–4.5, plus a factor offset of ±0.4: the level its scores centre on.
FACTOR_LEVELS = """
    CREATE TEMP TABLE bench_factor_level ON COMMIT DROP AS
    SELECT f.id AS factor_id, f.campaign_id, q.quality + (random() - 0.5) * 0.8 AS level
      FROM ratings_campaignfactor f
      JOIN (SELECT id, 2.9 + 1.6 * random() AS quality FROM ratings_campaign) q ON q.id = f.campaign_id
"""

# Each rater leans ±0.5 (one draw per vote, hence the materialised CTE); each score adds noise of sd 0.8.
SCORES = """
    INSERT INTO ratings_factorscore (vote_id, factor_id, product_id, score)
    WITH votes AS MATERIALIZED (
        SELECT id, campaign_id, product_id, random() - 0.5 AS leniency FROM ratings_vote
    )
    SELECT v.id, f.factor_id, v.product_id,
           LEAST(5, GREATEST(1, round(f.level + v.leniency + (random() + random() + random() - 1.5) * 1.6)))
      FROM votes v JOIN bench_factor_level f ON f.campaign_id = v.campaign_id
     ORDER BY v.id, f.factor_id
"""


#: Seed sizes per bench scale. "tiny" (the demo's sizes) prepares and runs in seconds: CI's smoke test
#: runs every bench at it. "medium" (a fifth of full, ~600k votes) prepares in a few minutes: for
#: profiling on a shared machine. "full" is the scale the ratios in the issue were measured at.
SCALES = {
    "tiny": DEMO,
    "medium": SeedSizes(
        users=100_000, products=4_000, brands=300, order_lines=2_000_000, notes=60_000, engagements=600_000
    ),
    "full": FULL,
}


def prepare(*, scale: str, seed: int, per_category: int, cap: int, purchase_days: int, voting: float) -> None:
    timings: dict[str, float] = {}
    print(f"preparing (load average {settle()})", flush=True)
    wall = time.perf_counter()
    with timed(timings, "migrate"):
        call_command("migrate", verbosity=0)
    with timed(timings, f"seed ({scale} scale, flushed)"):
        seed_database(sizes=SCALES[scale], seed=seed, as_of=timezone.localdate(), flush=True)
    with timed(timings, "ANALYZE after the seed"):
        sql("ANALYZE")

    sql(
        "TRUNCATE ratings_factorscore, ratings_voterevision, ratings_voteverdictchange, ratings_vote,"
        " ratings_invitation, ratings_campaignfactor,"
        " ratings_campaign, ratings_eligibilityruncategory, ratings_eligibilityrun, "
        + ", ".join(SCORING_OUTPUT)
        + " CASCADE"
    )
    policy = eligibility.policy_get()
    RatingPolicy.objects.filter(pk=policy.pk).update(
        products_per_category=per_category, max_open_invitations=cap, purchase_days=purchase_days
    )
    with timed(timings, "eligibility job (campaigns, invitations)"):
        job = eligibility_job(notify_too=False)
    print(f"    {job.campaigns:,} campaigns, {job.invitations:,} invitations")

    fraction = (seed % 10_000) / 10_000
    tables = [Invitation._meta.db_table, Vote._meta.db_table, FactorScore._meta.db_table]
    in_transaction = time.perf_counter()
    with transaction.atomic():
        sql("SET LOCAL work_mem = '512MB'")
        state = schema.set_aside(tables)
        with timed(timings, "invitations answered (rewritten)"):
            sql("SELECT setseed(%s)", [fraction])
            sql(ANSWERED, {"voting": voting})
            sql("TRUNCATE ratings_invitation")  # nothing references it now: the votes' foreign keys are set aside
            sql(ANSWERED_BACK)
        with timed(timings, "invitations: indexes and foreign keys"):
            schema.put_back(state, Invitation._meta.db_table)
        with timed(timings, "votes (INSERT … SELECT)"):
            sql("SELECT setseed(%s)", [fraction])
            votes = sql(VOTES, {"comments": list(COMMENTS)})
        with timed(timings, "votes: indexes and foreign keys"):
            schema.put_back(state, Vote._meta.db_table)
        sql("ANALYZE ratings_vote, ratings_campaignfactor, ratings_campaign")
        with timed(timings, "factor scores (INSERT … SELECT)"):
            sql("SELECT setseed(%s)", [fraction])
            sql(FACTOR_LEVELS)
            scores = sql(SCORES)
        with timed(timings, "factor scores: indexes and foreign keys"):
            schema.put_back(state, FactorScore._meta.db_table)
        schema.verify_unchanged(state, tables)
    in_transaction = time.perf_counter() - in_transaction
    with timed(timings, "VACUUM ANALYZE of the new rows"):
        # What autovacuum would have done by the time a nightly run reads them (it may be off here):
        # statistics, and the visibility map that lets index-only scans skip the heap.
        sql("VACUUM (ANALYZE) ratings_invitation, ratings_vote, ratings_factorscore, ratings_campaignfactor")
        sql("ANALYZE")

    verdicts = dict(sql_rows("SELECT verdict, COUNT(*) FROM ratings_vote GROUP BY verdict"))
    reserve = Invitation.objects.filter(status=Invitation.Status.ACCEPTED).count()
    factors = CampaignFactor.objects.count()
    print()
    print(f"{votes:,} votes ({', '.join(f'{k} {v:,}' for k, v in sorted(verdicts.items()))}), {scores:,} factor scores")
    print(f"{factors:,} frozen factors; {reserve:,} accepted invitations kept for the re-score step")
    width = max(len(name) for name in timings)
    for name, seconds in timings.items():
        print(f"  {name:<{width}}  {seconds:8.1f} s")
    print(f"  {'the six steps above, one transaction':<{width}}  {in_transaction:8.1f} s (commit included)")
    print(f"  {'total':<{width}}  {time.perf_counter() - wall:8.1f} s")


# --- Measuring ------------------------------------------------------------------------------------


def output_reset() -> int:
    """Empty the scoring output and take back the votes an earlier run of this bench added."""
    added = sql(
        "DELETE FROM ratings_factorscore WHERE vote_id IN (SELECT id FROM ratings_vote WHERE comment = %s)",
        [BENCH_COMMENT],
    )
    sql(
        "UPDATE ratings_invitation SET status = 'accepted' WHERE id IN (SELECT invitation_id FROM ratings_vote"
        " WHERE comment = %s)",
        [BENCH_COMMENT],
    )
    for table in ("moderation_votescreening", "ratings_voteverdictchange", "ratings_voterevision"):
        # what screening (bench/batch_workers.py screens every vote) or an amendment left about those votes
        sql(f"DELETE FROM {table} WHERE vote_id IN (SELECT id FROM ratings_vote WHERE comment = %s)", [BENCH_COMMENT])  # noqa: S608
    sql("DELETE FROM ratings_vote WHERE comment = %s", [BENCH_COMMENT])
    sql(f"TRUNCATE {', '.join(SCORING_OUTPUT)} CASCADE")
    sql("UPDATE ratings_campaign SET rescore_requested_at = NULL WHERE rescore_requested_at IS NOT NULL")
    sql(
        "UPDATE catalog_product SET rating_score = NULL, ranking_score = NULL, rated_by = 0, heart_rank = NULL,"
        " heart_rank_low = NULL, heart_rank_high = NULL"
        " WHERE rating_score IS NOT NULL OR ranking_score IS NOT NULL OR rated_by <> 0 OR heart_rank IS NOT NULL"
    )
    return added


@contextmanager
def category_clock() -> Iterator[dict[int, float]]:
    """Times each ``scoring.run_category`` call that ``run_all`` makes (by wrapping the module function)."""
    seconds: dict[int, float] = {}
    original: Callable[..., Any] = scoring.run_category

    def clocked(*, run_id: int, category_id: int) -> Any:
        started = time.perf_counter()
        try:
            return original(run_id=run_id, category_id=category_id)
        finally:
            seconds[category_id] = time.perf_counter() - started

    scoring.run_category = clocked  # type: ignore[assignment]
    try:
        yield seconds
    finally:
        scoring.run_category = original  # type: ignore[assignment]


@contextmanager
def database_clock() -> Iterator[list[float]]:
    """Adds up the time spent waiting for the database's answers (every statement sent, fetching included)."""
    waited = [0.0]

    def clocked(execute: Callable[..., Any], statement: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            waited[0] += time.perf_counter() - started

    with connection.execute_wrapper(clocked):
        yield waited


@contextmanager
def bootstrap_clock() -> Iterator[list[float]]:
    """Adds up the time of the rank intervals' bootstrap: in all (its vote scores binned from the job's read,
    its bins gathered and the numpy) and in its numpy alone, by wrapping ``scoring._vote_scores``,
    ``scoring._rank_intervals`` and ``rank_intervals.rank_intervals``."""
    spent = [0.0, 0.0]
    binned: Callable[..., Any] = scoring._vote_scores
    whole: Callable[..., Any] = scoring._rank_intervals
    arrays: Callable[..., Any] = rank_intervals.rank_intervals

    def clocked(into: int, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[into] += time.perf_counter() - started

        return call

    scoring._vote_scores = clocked(0, binned)  # type: ignore[assignment]
    scoring._rank_intervals = clocked(0, whole)  # type: ignore[assignment]
    rank_intervals.rank_intervals = clocked(1, arrays)  # type: ignore[assignment]
    try:
        yield spent
    finally:
        scoring._vote_scores = binned  # type: ignore[assignment]
        scoring._rank_intervals = whole  # type: ignore[assignment]
        rank_intervals.rank_intervals = arrays  # type: ignore[assignment]


# The carried-over run's lists, priors and reliability against the run it carried them from: rows that differ.
CARRY_CHECK = """
    SELECT (SELECT COUNT(*) FROM (
                (SELECT category_id, product_id, rank, ranking_score, rank_low, rank_high
                   FROM ratings_heartlistentry WHERE run_id = %(carried)s
                 EXCEPT ALL
                 SELECT category_id, product_id, rank, ranking_score, rank_low, rank_high
                   FROM ratings_heartlistentry WHERE run_id = %(scored)s)
                UNION ALL
                (SELECT category_id, product_id, rank, ranking_score, rank_low, rank_high
                   FROM ratings_heartlistentry WHERE run_id = %(scored)s
                 EXCEPT ALL
                 SELECT category_id, product_id, rank, ranking_score, rank_low, rank_high
                   FROM ratings_heartlistentry WHERE run_id = %(carried)s)) lists)
         + (SELECT COUNT(*) FROM ratings_scoringruncategory a JOIN ratings_scoringruncategory b USING (category_id)
             WHERE a.run_id = %(carried)s AND b.run_id = %(scored)s
               AND (a.prior, a.input_fingerprint, a.products_published, a.products_listed)
                   IS DISTINCT FROM (b.prior, b.input_fingerprint, b.products_published, b.products_listed))
         + (SELECT COUNT(*) FROM (
                (SELECT category_id, factor_id, products, votes, icc FROM ratings_factorreliability
                  WHERE run_id = %(carried)s
                 EXCEPT ALL
                 SELECT category_id, factor_id, products, votes, icc FROM ratings_factorreliability
                  WHERE run_id = %(scored)s)
                UNION ALL
                (SELECT category_id, factor_id, products, votes, icc FROM ratings_factorreliability
                  WHERE run_id = %(scored)s
                 EXCEPT ALL
                 SELECT category_id, factor_id, products, votes, icc FROM ratings_factorreliability
                  WHERE run_id = %(carried)s)) reliability)
"""


def carried(run: ScoringRun) -> int:
    """How many of the run's categories were carried over unchanged."""
    return run.categories.filter(carried_from__isnull=False).count()


def run_job() -> tuple[float, float, ScoringRun, dict[int, float], list[float]]:
    """Returns (seconds, seconds waiting for the database, the run, seconds per category, the bootstrap's
    seconds in all and in numpy)."""
    with category_clock() as per_category, database_clock() as waited, bootstrap_clock() as bootstrap:
        started = time.perf_counter()
        run = scoring.run_all(triggered_by="bench")
        seconds = time.perf_counter() - started
    errors = list(run.categories.exclude(error="").values_list("error", flat=True)[:3])
    if errors or run.status != ScoringRun.Status.FINISHED:
        raise SystemExit(f"the scoring run did not finish cleanly: {run.status} {errors}")
    return seconds, waited[0], run, per_category, bootstrap


# The tight bound: the same figures in the cheapest honest form, written here and never taken from the job.
# One scan of every factor score grouped by frozen factor, the votes that do not count left out by a
# hashed anti-join (``NOT IN`` over a subquery small enough for work_mem: the planner hashes it once and
# probes it per row), and no semi-join to "the products being scored": the bench's data holds one
# campaign per product, so every factor is one the job scores, and the check below proves it.
BOUND_FACTORS = """
    CREATE UNLOGGED TABLE bench_factor_bound AS
    SELECT factor_id, s1, s2, s3, s4, s5, s1 + s2 + s3 + s4 + s5 AS n,
           (s1 + 2 * s2 + 3 * s3 + 4 * s4 + 5 * s5)::float8 / NULLIF(s1 + s2 + s3 + s4 + s5, 0) AS mean
      FROM (
          SELECT factor_id,
                 COUNT(*) FILTER (WHERE score = 1) AS s1, COUNT(*) FILTER (WHERE score = 2) AS s2,
                 COUNT(*) FILTER (WHERE score = 3) AS s3, COUNT(*) FILTER (WHERE score = 4) AS s4,
                 COUNT(*) FILTER (WHERE score = 5) AS s5
            FROM ratings_factorscore
           WHERE vote_id NOT IN (SELECT id FROM ratings_vote WHERE verdict <> 'counted')
           GROUP BY factor_id
      ) histogram
"""

# Votes by verdict per product and invitations per product: one scan of each table, no semi-join.
BOUND_CAMPAIGNS = """
    CREATE UNLOGGED TABLE bench_campaign_bound AS
    WITH votes AS (
        SELECT product_id, COUNT(*) AS voted,
               COUNT(*) FILTER (WHERE verdict = 'counted') AS counted,
               COUNT(*) FILTER (WHERE verdict = 'review') AS under_review,
               COUNT(*) FILTER (WHERE verdict = 'excluded' AND exclusion_reason = 'screening') AS excluded_screening,
               COUNT(*) FILTER (WHERE verdict = 'excluded' AND exclusion_reason = 'moderation') AS excluded_moderation,
               COUNT(*) FILTER (WHERE verdict = 'excluded' AND exclusion_reason = 'refund') AS excluded_refund,
               MAX(submitted_at) AS last_vote_at
          FROM ratings_vote
         GROUP BY product_id
    ),
    invited AS (
        SELECT campaign_id, COUNT(*) AS invited FROM ratings_invitation GROUP BY campaign_id
    )
    SELECT c.id AS campaign_id, c.product_id, COALESCE(i.invited, 0) AS invited,
           COALESCE(v.voted, 0) AS voted, COALESCE(v.counted, 0) AS counted,
           COALESCE(v.under_review, 0) AS under_review, COALESCE(v.excluded_screening, 0) AS excluded_screening,
           COALESCE(v.excluded_moderation, 0) AS excluded_moderation,
           COALESCE(v.excluded_refund, 0) AS excluded_refund, v.last_vote_at
      FROM ratings_campaign c LEFT JOIN votes v ON v.product_id = c.product_id
      LEFT JOIN invited i ON i.campaign_id = c.id
"""

# Rows where the job's latest results and the bound disagree (both must be empty).
BOUND_CHECK_FACTORS = """
    SELECT COUNT(*) FROM bench_factor_bound b
      FULL JOIN (SELECT fr.* FROM ratings_factorresult fr
                   JOIN ratings_productresult pr ON pr.id = fr.result_id AND pr.is_latest) j
        ON j.campaign_factor_id = b.factor_id
     WHERE j.id IS NULL
        OR (COALESCE(b.s1, 0), COALESCE(b.s2, 0), COALESCE(b.s3, 0), COALESCE(b.s4, 0), COALESCE(b.s5, 0))
           IS DISTINCT FROM (j.scores_1, j.scores_2, j.scores_3, j.scores_4, j.scores_5)
        OR abs(b.mean - j.mean) > 1e-9
"""
BOUND_CHECK_CAMPAIGNS = """
    SELECT COUNT(*) FROM bench_campaign_bound b
      FULL JOIN (SELECT * FROM ratings_productresult WHERE is_latest) j ON j.campaign_id = b.campaign_id
     WHERE b.campaign_id IS NULL OR j.id IS NULL
        OR (b.invited, b.voted, b.counted, b.under_review, b.excluded_screening, b.excluded_moderation,
            b.excluded_refund, b.last_vote_at)
           IS DISTINCT FROM (j.invited, j.voted, j.counted, j.under_review, j.excluded_screening,
                             j.excluded_moderation, j.excluded_refund, j.last_vote_at)
"""


def run_bound() -> tuple[float, float, int, int, int]:
    """Returns (factor seconds, campaign seconds, factor rows, campaign rows, rows that differ from the job's)."""
    sql("DROP TABLE IF EXISTS bench_factor_bound, bench_campaign_bound")
    started = time.perf_counter()
    factor_rows = sql(BOUND_FACTORS)
    factors = time.perf_counter() - started
    started = time.perf_counter()
    campaign_rows = sql(BOUND_CAMPAIGNS)
    campaigns = time.perf_counter() - started
    differ = sql_rows(BOUND_CHECK_FACTORS)[0][0] + sql_rows(BOUND_CHECK_CAMPAIGNS)[0][0]
    sql("DROP TABLE bench_factor_bound, bench_campaign_bound")
    return factors, campaigns, factor_rows, campaign_rows, int(differ)


def rescores(*, count: int, seed: int) -> tuple[list[float], int]:
    """Vote once on ``count`` random campaigns and time the re-score each vote asks for (ms); and how many
    re-scores wrote a new result."""
    rng = random.Random(seed)
    campaigns = sorted(
        Invitation.objects.filter(status=Invitation.Status.ACCEPTED, vote__isnull=True)
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    times: list[float] = []
    changed = 0
    for campaign_id in rng.sample(campaigns, min(count, len(campaigns))):
        invitation = (
            Invitation.objects.filter(campaign_id=campaign_id, status=Invitation.Status.ACCEPTED, vote__isnull=True)
            .select_related("campaign")
            .order_by("pk")
            .first()
        )
        if invitation is None:
            continue
        now = timezone.now()
        with transaction.atomic():
            vote = Vote.objects.create(
                campaign_id=campaign_id,
                user_id=invitation.user_id,
                invitation=invitation,
                product_id=invitation.campaign.product_id,
                comment=BENCH_COMMENT,
                seconds_to_fill=rng.randint(20, 400),
                ip_hash="0" * 64,
                user_agent_hash="0" * 64,
                created_at=now,
            )
            FactorScore.objects.bulk_create(
                FactorScore(vote=vote, factor_id=factor_id, product_id=vote.product_id, score=rng.randint(1, 5))
                for factor_id in CampaignFactor.objects.filter(campaign_id=campaign_id).values_list("pk", flat=True)
            )
            Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.VOTED, updated_at=now)
            scoring.rescore_request(campaign_id=campaign_id, now=now)
        started = time.perf_counter()
        run = scoring.campaign_rescore(campaign_id=campaign_id, triggered_by="bench")
        times.append((time.perf_counter() - started) * 1000)
        changed += run.products_changed if run is not None else 0
    return times, changed


class _Rollback(Exception):
    pass


def explain_category(category_id: int, *, top: int) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) the slowest queries of one category's scoring, captured and rolled back."""
    captured: list[dict[str, str]] = []
    try:
        with transaction.atomic():
            run, _ = scoring.run_start(triggered_by="bench explain")
            with CaptureQueriesContext(connection) as context:
                scoring.run_category(run_id=run.pk, category_id=category_id)
            captured = list(context.captured_queries)
            raise _Rollback
    except _Rollback:
        pass
    print()
    print(f"category {category_id}: {len(captured)} queries; the slowest {top} explained (ANALYZE, BUFFERS)")
    for query in sorted(captured, key=lambda q: -float(q["time"]))[:top]:
        text = query["sql"]
        print()
        print(f"-- {float(query['time']) * 1000:.0f} ms in the job: {text[:1500]}{' …' if len(text) > 1500 else ''}")
        if not text.lstrip().upper().startswith("SELECT"):
            continue
        try:
            with transaction.atomic():
                for (line,) in sql_rows(f"EXPLAIN (ANALYZE, BUFFERS) {text}"):
                    print(f"   {line}")
                raise _Rollback
        except _Rollback:
            pass


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Round:
    """One round: the job on empty result tables, its re-run, the bound; each after a CHECKPOINT."""

    job: float
    job_database: float
    #: The rank intervals' bootstrap within the job: in all, and its numpy alone.
    job_bootstrap: float
    job_bootstrap_numpy: float
    results: int
    factor_results: int
    per_category: dict[int, float]
    rerun: float
    rerun_database: float
    rerun_written: int
    rerun_carried: int
    rerun_differ: int
    bound_factors: float
    bound_campaigns: float
    bound_factor_rows: int
    bound_campaign_rows: int
    differ: int
    loads: dict[str, str]

    @property
    def bound(self) -> float:
        return self.bound_factors + self.bound_campaigns

    @property
    def ratio(self) -> float:
        return self.job / self.bound


def measure_round() -> Round:
    output_reset()
    loads = {"job": settle()}
    job, job_database, run, per_category, (bootstrap, bootstrap_numpy) = run_job()
    factor_results = FactorResult.objects.count()
    loads["re-run"] = settle()
    rerun, rerun_database, again, _, _ = run_job()
    rerun_differ = sql_rows(CARRY_CHECK, {"carried": again.pk, "scored": run.pk})[0][0]
    loads["bound"] = settle()
    bound_factors, bound_campaigns, bound_factor_rows, bound_campaign_rows, differ = run_bound()
    return Round(
        job=job,
        job_database=job_database,
        job_bootstrap=bootstrap,
        job_bootstrap_numpy=bootstrap_numpy,
        results=run.products_changed,
        factor_results=factor_results,
        per_category=per_category,
        rerun=rerun,
        rerun_database=rerun_database,
        rerun_written=again.products_changed,
        rerun_carried=carried(again),
        rerun_differ=int(rerun_differ),
        bound_factors=bound_factors,
        bound_campaigns=bound_campaigns,
        bound_factor_rows=bound_factor_rows,
        bound_campaign_rows=bound_campaign_rows,
        differ=differ,
        loads=loads,
    )


def measure(*, rounds: int, count: int, seed: int, explain: bool) -> None:
    if not Vote.objects.exists():
        raise SystemExit("no votes: run with --prepare first")
    if output_reset():
        sql("ANALYZE ratings_factorscore, ratings_vote, ratings_invitation")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone() or ("?",)
    sizes = dict(
        sql_rows(
            "SELECT 'votes', COUNT(*) FROM ratings_vote UNION ALL SELECT 'scores', reltuples::bigint FROM pg_class"
            " WHERE relname = 'ratings_factorscore' UNION ALL SELECT 'campaigns', COUNT(*) FROM ratings_campaign"
        )
    )
    print(
        f"PostgreSQL {version}, {os.cpu_count()} cores; {sizes['campaigns']:,} campaigns, {sizes['votes']:,} votes,"
        f" ~{sizes['scores']:,} factor scores",
        flush=True,
    )

    warm_load = settle()
    started = time.perf_counter()
    t_quantile(2)  # scipy, imported lazily: a worker pays this once per process, not once per run
    scipy_import = time.perf_counter() - started
    started = time.perf_counter()
    sql_rows("SELECT SUM(score) FROM ratings_factorscore")  # the pages into the OS cache, as every step after
    sql_rows("SELECT COUNT(*) FROM ratings_vote WHERE verdict = 'counted'")
    sql_rows("SELECT COUNT(*) FROM ratings_invitation WHERE status = 'voted'")
    warm = time.perf_counter() - started

    done: list[Round] = []
    for number in range(1, rounds + 1):
        done.append(measure_round())
        r = done[-1]
        print(
            f"round {number}: result check {r.differ} rows differ; job {r.job:.2f} s (database {r.job_database:.2f} s,"
            f" bootstrap {r.job_bootstrap:.2f} s),"
            f" bound {r.bound:.2f} s, ratio {r.ratio:.2f} ×; re-run {r.rerun:.2f} s, {r.rerun / r.bound:.2f} ×;"
            f" load average {r.loads['job']} / {r.loads['bound']}",
            flush=True,
        )
    rss_after_jobs = peak_rss_mb()
    r = sorted(done, key=lambda r: r.ratio)[(len(done) - 1) // 2]  # the round with the median ratio

    rescore_load = settle()
    times, rescored = rescores(count=count, seed=seed)
    nightly_load = settle()
    nightly, nightly_database, night, _, _ = run_job()
    night_bound_factors, night_bound_campaigns, _, _, night_differ = run_bound()
    night_bound = night_bound_factors + night_bound_campaigns
    night_carried = carried(night)

    slowest = max(r.per_category, key=lambda pk: r.per_category[pk])
    rows = [
        ("warm-up: read scores, votes, invitations", warm, "", "", warm_load),
        ("warm-up: import scipy (once per worker)", scipy_import, "", "", ""),
        (
            f"job: scoring.run_all, {len(r.per_category)} categories",
            r.job,
            f"{r.results:,} results, {r.factor_results:,} factor results",
            f"{r.ratio:.2f} ×",
            r.loads["job"],
        ),
        ("  of which in the database (execute)", r.job_database, f"{r.job_database / r.job:.0%} of the job", "", ""),
        (
            "  of which the rank intervals' bootstrap",
            r.job_bootstrap,
            f"{r.job_bootstrap / r.job:.0%} of the job; numpy {r.job_bootstrap_numpy:.2f} s",
            f"{r.job_bootstrap / r.bound:.2f} ×",
            "",
        ),
        (
            f"  slowest category ({slowest})",
            r.per_category[slowest],
            f"median {statistics.median(r.per_category.values()):.2f} s",
            "",
            "",
        ),
        (
            "job re-run (no new data)",
            r.rerun,
            f"{r.rerun_carried} of {len(r.per_category)} carried; {r.rerun_written} written",
            f"{r.rerun / r.bound:.2f} ×",
            r.loads["re-run"],
        ),
        (
            "bare SQL: factor histograms and sums",
            r.bound_factors,
            f"{r.bound_factor_rows:,} factors",
            "",
            r.loads["bound"],
        ),
        ("bare SQL: votes by verdict, invitations", r.bound_campaigns, f"{r.bound_campaign_rows:,} campaigns", "", ""),
        ("bare SQL: bound", r.bound, f"{r.differ} rows differ from the job's", "1.00 ×", ""),
    ]
    print()
    if len(done) > 1:
        print(f"the round with the median ratio of {len(done)}:")
    print(f"{'step':<44} {'time':>9}  {'rows':<40} {'÷ bound':>8}  load average")
    for name, seconds, note, ratio, load in rows:
        print(f"{name:<44} {seconds:8.2f}s  {note:<40} {ratio:>8}  {load}")
    print(f"result check: {r.differ} rows differ between the bound and the job's stored results")
    print(f"ratio job / bound: {r.ratio:.2f} × (target ≤ 1.5 ×)")
    print(
        f"bootstrap share: {r.job_bootstrap / r.job:.1%} of the job ({r.job_bootstrap:.2f} s, numpy"
        f" {r.job_bootstrap_numpy:.2f} s); ratio without it {(r.job - r.job_bootstrap) / r.bound:.2f} ×"
    )
    print(
        f"ratio re-run / bound: {r.rerun / r.bound:.2f} × (target ≤ 0.5 ×); {r.rerun_written} results written,"
        f" {r.rerun_carried} categories carried over; carry-over check: {r.rerun_differ} rows differ from the job's"
    )
    if times:
        print(
            f"re-score after a vote ({len(times)} campaigns, {rescored} new results): median"
            f" {statistics.median(times):.1f} ms, p90 {percentile(times, 0.9):.1f} ms, max {max(times):.1f} ms"
            f" (target: median < 50 ms); load average before {rescore_load}"
        )
    scored_categories = night.categories.count() - night_carried
    print(
        f"the night after those votes: {nightly:.2f} s (database {nightly_database:.2f} s), {scored_categories}"
        f" categories scored, {night_carried} carried over, {night.products_changed} results written;"
        f" bound {night_bound:.2f} s, ratio {nightly / night_bound:.2f} ×; result check: {night_differ} rows differ;"
        f" load average before {nightly_load}"
    )
    print(f"peak RSS: {rss_after_jobs:.0f} MB after the jobs, {peak_rss_mb():.0f} MB at the end")
    if explain:
        explain_category(slowest, top=4)
    if any(r.differ or r.rerun_differ for r in done) or any(r.rerun_written for r in done) or night_differ:
        raise SystemExit("the job's results differ from the bound's, or its re-run wrote results or carried others")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", action="store_true", help="build the data set (replaces the database's data)")
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default="full",
        help="--prepare: how much data (tiny: seconds, for CI's smoke test; medium: minutes; full: ~10 minutes)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--per-category", type=int, default=32, help="--prepare: campaigns per category")
    parser.add_argument("--cap", type=int, default=100, help="--prepare: open invitations per user (invite all)")
    parser.add_argument(
        "--purchase-days", type=int, default=560, help="--prepare: purchase window (~3M invitations at 560 days)"
    )
    parser.add_argument("--voting", type=float, default=0.99, help="--prepare: share of invitations answered")
    parser.add_argument("--rounds", type=int, default=1, help="job, re-run and bound this many times (median)")
    parser.add_argument("--rescores", type=int, default=30, help="re-scores after a vote to time")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the slowest category's slowest queries")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL: set DATABASE_URL")
    settings.DEBUG = False  # no query log
    if args.prepare:
        prepare(
            scale=args.scale,
            seed=args.seed,
            per_category=args.per_category,
            cap=args.cap,
            purchase_days=args.purchase_days,
            voting=args.voting,
        )
    else:
        measure(rounds=args.rounds, count=args.rescores, seed=args.seed, explain=args.explain)


if __name__ == "__main__":
    main()
