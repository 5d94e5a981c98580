"""Bench: the eligibility job against an independent bound of the same work, measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eligbench .venv/bin/python bench/eligibility.py \
        [--per-category N] [--cap N] [--skip-notify]

Needs a PostgreSQL database seeded with ``manage.py seed`` (``--scale full``: 500k users, ~10M order
lines, 93 rating-ready categories; ``--scale demo`` runs it in seconds, as the smoke test does). It
empties the ratings tables (campaigns, invitations, runs, and what references them) and the invitation
notifications, sets the policy to select ``--per-category`` products per category (32 × 93 ≈ 3,000)
with a cap high enough that every eligible buyer is invited, then measures, in this process acting as
the worker (categories one after another, as a single worker would):

1. the job: ``run_start`` (selection), ``run_category`` for every category (campaigns with frozen
   factors), ``run_invite`` (capped invitations, run records); then, timed apart, the inbox
   notifications of the new invitations (their own tasks, after the job);
2. the re-run of the job (nothing to insert);
3. the bound, written here and not taken from the job: the selection (one ranked aggregate over all
   categories) into a scratch campaign table, then the distinct active buyers of the selected
   products (timed alone, then again inside the insert) inserted sorted on the unique key into a
   scratch invitation table with the real one's indexes and checks and no foreign-key triggers;
4. the bound of the re-run: the selection again (the job's re-run selects too: it cannot know that nothing
   changed; its time as in step 3) and the same insert with an anti-join, which finds nothing;
5. the result check: invitations (product, person, purchase, expiry) found in one of the job's and
   the bound's tables and not the other; 0 expected, and the bench fails otherwise.

The bound acts as of the job's start, so both see the same data. Emails are sent by their own chunked
tasks after the job; one chunk is timed and extrapolated. Load averages are printed beside the figures
(a shared machine swings). The scratch tables are dropped at the end; the job's rows stay for inspection.
"""

import argparse
import os
import resource
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xhs.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from ratings import eligibility  # noqa: E402
from ratings.models import EligibilityRun, RatingPolicy  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sql(statement: str, params: object = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def scalar(statement: str, params: object = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.fetchone()[0])


def reset() -> None:
    """Empty the ratings tables. CASCADE: moderation cases, screenings and results reference votes
    and campaigns, and are emptied with them (a plain TRUNCATE is refused)."""
    sql(
        "TRUNCATE ratings_factorscore, ratings_voterevision, ratings_voteverdictchange, ratings_vote,"
        " ratings_invitation, ratings_campaignfactor,"
        " ratings_campaign, ratings_eligibilityruncategory, ratings_eligibilityrun CASCADE"
    )
    sql("DELETE FROM accounts_notification WHERE kind = 'invitation'")
    sql("ANALYZE")


@dataclass(frozen=True)
class JobRun:
    run: EligibilityRun
    seconds: float
    campaigns: int
    invitations: int
    #: Seconds of the inbox notifications, timed apart (their own tasks, after the job).
    notify: float
    notified: list[int]
    #: Seconds of the selection, the campaigns and the invitations (with their commit).
    steps: tuple[float, float, float]


def run_job(*, notify_too: bool = True) -> JobRun:
    """The steps the tasks take, in this process: start (selection), each category, the invitations."""
    started = time.perf_counter()
    plan = eligibility.run_start(triggered_by="bench")
    selected_at = time.perf_counter()
    for category_id, selected in plan.selections.items():
        eligibility.run_category(run_id=plan.run.pk, category_id=category_id, selected=selected)
    opened_at = time.perf_counter()
    per_category = eligibility.run_invite(run_id=plan.run.pk) or {}
    seconds = time.perf_counter() - started
    steps = (selected_at - started, opened_at - selected_at, started + seconds - opened_at)
    run = plan.run
    run.refresh_from_db()
    started = time.perf_counter()
    notified: list[int] = []
    for category_id in sorted(per_category) if notify_too else []:
        notified += eligibility.invitations_notify(run_id=run.pk, category_id=category_id)
    notify = time.perf_counter() - started
    errors = list(run.categories.exclude(error="").values_list("error", flat=True)[:3])
    if errors or run.status != "finished":
        raise SystemExit(f"the run did not finish cleanly: {run.status} {errors}")
    return JobRun(run, seconds, run.campaigns_opened, run.invitations_created, notify, notified, steps)


BOUND_SELECT = """
    INSERT INTO bench_campaign (product_id, category_id, status, opens_at, closes_at, selection_rank,
        selection_score, engagement_count, units_sold, created_at, updated_at)
    WITH products AS (
        SELECT p.id, p.category_id FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id
        WHERE c.rating_ready AND p.is_active
    ),
    engagement AS (
        SELECT np.product_id, COUNT(*) AS n FROM products p
        JOIN catalog_noteproduct np ON np.product_id = p.id
        JOIN catalog_note n ON n.id = np.note_id AND n.visibility = 'visible'
        JOIN catalog_engagement e ON e.note_id = n.id AND e.created_at >= %(popular_since)s AND e.created_at <= %(now)s
        GROUP BY np.product_id
    ),
    units AS (
        SELECT ol.product_id, SUM(ol.quantity) AS n FROM catalog_orderline ol
        WHERE ol.status = 'paid' AND ol.paid_at >= %(sales_since)s AND ol.paid_at <= %(now)s
        GROUP BY ol.product_id
    ),
    scored AS (
        SELECT p.id, p.category_id, COALESCE(e.n, 0) AS engagement, COALESCE(u.n, 0) AS units,
            %(w)s * PERCENT_RANK() OVER (PARTITION BY p.category_id ORDER BY COALESCE(e.n, 0))
              + (1.0 - %(w)s) * PERCENT_RANK() OVER (PARTITION BY p.category_id ORDER BY COALESCE(u.n, 0)) AS score
        FROM products p LEFT JOIN engagement e ON e.product_id = p.id LEFT JOIN units u ON u.product_id = p.id
        WHERE COALESCE(u.n, 0) >= %(min_units)s AND COALESCE(e.n, 0) >= %(min_engagement)s
    ),
    ranked AS (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY category_id ORDER BY score DESC, units DESC, id) AS rank FROM scored
    )
    SELECT id, category_id, 'open', %(now)s, %(closes)s, rank, score, engagement, units, %(now)s, %(now)s
    FROM ranked WHERE rank <= %(limit)s
    ORDER BY id
"""

#: The distinct active buyers of the selected products: who may be invited, with their latest purchase.
BUYERS = """
    SELECT c.id AS campaign_id, ol.buyer_id AS user_id, MAX(ol.id) AS purchase_id
    FROM bench_campaign c
    JOIN catalog_orderline ol ON ol.product_id = c.product_id
        AND ol.status = 'paid' AND ol.paid_at >= %(purchase_since)s AND ol.paid_at <= %(used_since)s
    JOIN accounts_user u ON u.id = ol.buyer_id
        AND u.is_active AND NOT u.is_banned AND u.last_seen_at >= %(active_since)s AND u.date_joined <= %(joined_by)s
    GROUP BY c.id, ol.buyer_id
"""

#: The same buyers written as invitations, sorted on the unique key: no cap window, no anti-join
#: (the table is empty), no foreign-key triggers.
BOUND_INVITE = f"""
    INSERT INTO bench_invitation (campaign_id, user_id, purchase_id, status, expires_at, run_id, created_at, updated_at)
    SELECT campaign_id, user_id, purchase_id, 'pending', %(expires)s, %(run)s, %(now)s, %(now)s
    FROM ({BUYERS}) buyers
    ORDER BY campaign_id, user_id
"""

#: The re-run's bound: the same buyers, all of them already invited, found by an anti-join.
BOUND_REINVITE = f"""
    INSERT INTO bench_invitation (campaign_id, user_id, purchase_id, status, expires_at, run_id, created_at, updated_at)
    SELECT campaign_id, user_id, purchase_id, 'pending', %(expires)s, %(run)s, %(now)s, %(now)s
    FROM ({BUYERS}) buyers
    WHERE NOT EXISTS (
        SELECT 1 FROM bench_invitation i WHERE i.campaign_id = buyers.campaign_id AND i.user_id = buyers.user_id
    )
    ORDER BY campaign_id, user_id
"""

#: Rows that differ between the job's invitations and the bound's, compared on what an invitation says:
#: the product, the person, the qualifying purchase and the expiry.
DIFFERENCE = """
    SELECT COUNT(*) FROM (
        (SELECT c.product_id, i.user_id, i.purchase_id, i.expires_at FROM ratings_invitation i
            JOIN ratings_campaign c ON c.id = i.campaign_id WHERE i.run_id = %(run)s
         EXCEPT ALL
         SELECT c.product_id, i.user_id, i.purchase_id, i.expires_at FROM bench_invitation i
            JOIN bench_campaign c ON c.id = i.campaign_id)
        UNION ALL
        (SELECT c.product_id, i.user_id, i.purchase_id, i.expires_at FROM bench_invitation i
            JOIN bench_campaign c ON c.id = i.campaign_id
         EXCEPT ALL
         SELECT c.product_id, i.user_id, i.purchase_id, i.expires_at FROM ratings_invitation i
            JOIN ratings_campaign c ON c.id = i.campaign_id WHERE i.run_id = %(run)s)
    ) differing
"""


@dataclass(frozen=True)
class Bound:
    selection: float
    buyers: float
    insert: float
    rerun: float
    campaigns: int
    invitations: int
    differing: int


def run_bound(policy: RatingPolicy, run: EligibilityRun) -> Bound:
    """The independent best form of the job's work, as of the job's start, on scratch tables.

    The scratch tables have the real tables' columns, defaults, checks and indexes (``LIKE … INCLUDING
    ALL``) and no foreign keys: what the rules need is computed and written once, sorted, and the
    database pays nothing else. Each statement commits on its own (autocommit), as a bare script would.
    """
    sql("DROP TABLE IF EXISTS bench_invitation, bench_campaign")
    sql("CREATE TABLE bench_campaign (LIKE ratings_campaign INCLUDING ALL)")
    sql("CREATE TABLE bench_invitation (LIKE ratings_invitation INCLUDING ALL)")
    now = run.started_at
    day = timedelta(days=1)
    params = {
        "now": now,
        "popular_since": now - policy.popularity_days * day,
        "sales_since": now - policy.sales_days * day,
        "purchase_since": now - policy.purchase_days * day,
        "used_since": now - policy.use_days * day,
        "active_since": now - policy.active_days * day,
        "joined_by": now - policy.min_account_days * day,
        "closes": now + policy.campaign_days * day,
        "expires": now + policy.invitation_days * day,
        "w": float(policy.popularity_weight),
        "min_units": policy.min_units_sold,
        "min_engagement": policy.min_engagement,
        "limit": policy.products_per_category,
        "run": run.pk,
    }
    # As the job: compiling these aggregates costs more than it saves; sorts stay in memory.
    sql("SET jit = off")
    sql(f"SET work_mem = '{eligibility.WORK_MEM}'")
    started = time.perf_counter()
    campaigns = sql(BOUND_SELECT, params)
    selection = time.perf_counter() - started
    sql("ANALYZE bench_campaign")
    started = time.perf_counter()
    sql(f"SELECT COUNT(*) FROM ({BUYERS}) buyers", params)
    buyers = time.perf_counter() - started
    started = time.perf_counter()
    invitations = sql(BOUND_INVITE, params)
    insert = time.perf_counter() - started
    sql("ANALYZE bench_invitation")
    started = time.perf_counter()
    again = sql(BOUND_REINVITE, params)
    rerun = time.perf_counter() - started
    if again:
        raise SystemExit(f"the bound's re-run inserted {again} rows")
    differing = scalar(DIFFERENCE, params)
    sql("RESET jit")
    sql("RESET work_mem")
    sql("DROP TABLE bench_invitation, bench_campaign")
    return Bound(selection, buyers, insert, rerun, campaigns, invitations, differing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-category", type=int, default=32, help="products selected per category")
    parser.add_argument("--cap", type=int, default=10_000, help="open invitations per user (high: invite everyone)")
    parser.add_argument("--skip-notify", action="store_true", help="leave out the inbox notifications and emails")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL: set DATABASE_URL")
    settings.DEBUG = False  # no query log
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # measure rendering, not a console

    reset()
    policy = eligibility.policy_get()
    RatingPolicy.objects.filter(pk=policy.pk).update(
        products_per_category=args.per_category, max_open_invitations=args.cap
    )
    policy.refresh_from_db()
    print(
        f"policy: {policy.products_per_category}/category, cap {policy.max_open_invitations}, "
        f"min units {policy.min_units_sold}, windows {policy.popularity_days}/{policy.sales_days}/"
        f"{policy.purchase_days} d, active {policy.active_days} d"
    )
    scalar("SELECT count(*) FROM catalog_orderline WHERE status = 'paid'")  # warm the cache

    load_job = os.getloadavg()
    job = run_job(notify_too=not args.skip_notify)
    rss_after_job = peak_rss_mb()
    started = time.perf_counter()
    sent = eligibility.invitation_emails_send(notification_ids=job.notified[: eligibility.EMAIL_CHUNK_SIZE])
    email_chunk = time.perf_counter() - started
    sql("ANALYZE ratings_invitation")
    rerun = run_job(notify_too=not args.skip_notify)

    load_bound = os.getloadavg()
    bound = run_bound(policy, job.run)
    bound_total = bound.selection + bound.insert

    rows = [
        ("load average before the job", " ".join(f"{x:.2f}" for x in load_job), ""),
        (
            "job: select + open campaigns + invite",
            f"{job.seconds:8.2f} s",
            f"{job.campaigns:,} campaigns, {job.invitations:,} invitations",
        ),
        ("job steps: select / campaigns / invite", " / ".join(f"{x:.2f}" for x in job.steps), "seconds"),
        ("load average before the bound", " ".join(f"{x:.2f}" for x in load_bound), ""),
        ("bound: selection", f"{bound.selection:8.2f} s", f"{bound.campaigns:,} campaigns"),
        ("bound: distinct active buyers (alone)", f"{bound.buyers:8.2f} s", "inside the insert below"),
        (
            "bound: buyers + sorted insert, no FK",
            f"{bound.insert:8.2f} s",
            f"{bound.invitations:,} invitations",
        ),
        ("bound: total", f"{bound_total:8.2f} s", ""),
        ("ratio job / bound", f"{job.seconds / bound_total:8.2f} ×", "target ≤ 1.5×"),
        ("result check: rows differing", f"{bound.differing:8d}", "0 expected"),
        (
            "job re-run (nothing new)",
            f"{rerun.seconds:8.2f} s",
            f"{rerun.campaigns} campaigns, {rerun.invitations} invitations",
        ),
        (
            "bound re-run (selection + anti-join)",
            f"{bound.selection + bound.rerun:8.2f} s",
            f"ratio {rerun.seconds / (bound.selection + bound.rerun):.2f} ×",
        ),
        (
            "inbox notifications (INSERT … SELECT)",
            f"{job.notify:8.2f} s",
            f"{len(job.notified):,} rows; re-run {rerun.notify:.2f} s",
        ),
        (
            f"emails: one chunk of {eligibility.EMAIL_CHUNK_SIZE}",
            f"{email_chunk:8.2f} s",
            f"{sent} sent ({settings.EMAIL_BACKEND.rsplit('.', 2)[-2]}); all ≈ "
            f"{email_chunk * len(job.notified) / max(sent, 1) / 60:.0f} worker-min in chunk tasks",
        ),
        ("worker peak RSS", f"{rss_after_job:8.0f} MB", f"after the re-run {peak_rss_mb():.0f} MB"),
    ]
    width = max(len(row[0]) for row in rows)
    for name, figure, note in rows:
        print(f"{name:<{width}}  {figure:>14}  {note}")
    if bound.differing:
        raise SystemExit(f"the job and the bound disagree on {bound.differing} invitations")


if __name__ == "__main__":
    main()
