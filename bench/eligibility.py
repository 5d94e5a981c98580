"""Bench: the eligibility job at full scale, against the bare-SQL bound measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eligbench .venv/bin/python bench/eligibility.py

Needs a PostgreSQL database seeded with ``manage.py seed --scale full`` (500k users, ~10M order
lines, 93 rating-ready categories). It empties the ratings tables (campaigns, invitations, runs) and
the invitation notifications, sets the policy to select ``--per-category`` products per category
(32 × 93 ≈ 3,000) with a cap high enough that every eligible buyer is invited, then measures, in
this process acting as the worker (categories one after another, as a single worker would):

1. the job: ``run_start`` (selection), ``run_category`` for every category (campaigns with frozen
   factors), ``run_invite`` (capped invitations, run records); then, timed apart, the inbox
   notifications of the new invitations (their own tasks, after the job);
2. the re-run of the job (nothing to insert);
3. the bound: the same selection (one ranked aggregate over all categories) and the same invitation
   insert (active buyers, latest purchase, cap window, sorted on the unique key) into scratch copies
   of the campaign and invitation tables, as two statements;
4. the bound of the re-run: the anti-join insert that finds nothing.

Emails are sent by their own chunked tasks after the job; one chunk is timed and extrapolated.
The scratch tables are dropped at the end; the job's rows stay for inspection.
"""

import argparse
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xhs.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from ratings import eligibility  # noqa: E402
from ratings.models import RatingPolicy  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sql(statement: str, params: object = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def reset() -> None:
    sql(
        "TRUNCATE ratings_factorscore, ratings_voterevision, ratings_voteverdictchange, ratings_vote,"
        " ratings_invitation, ratings_campaignfactor,"
        " ratings_campaign, ratings_eligibilityruncategory, ratings_eligibilityrun"
    )
    sql("DELETE FROM accounts_notification WHERE kind = 'invitation'")
    sql("ANALYZE")


def run_job(*, notify_too: bool = True) -> tuple[float, int, int, float, list[int]]:
    """Returns (seconds of the job, campaigns, invitations, seconds of the notifications, notification ids).

    The steps the tasks take, in this process: start (selection), each category, the invitations.
    """
    started = time.perf_counter()
    plan = eligibility.run_start(triggered_by="bench")
    for category_id, selected in plan.selections.items():
        eligibility.run_category(run_id=plan.run.pk, category_id=category_id, selected=selected)
    per_category = eligibility.run_invite(run_id=plan.run.pk) or {}
    job = time.perf_counter() - started
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
    return job, run.campaigns_opened, run.invitations_created, notify, notified


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
"""

BOUND_INVITE = """
    INSERT INTO bench_invitation (campaign_id, user_id, purchase_id, status, expires_at, run_id, created_at, updated_at)
    SELECT campaign_id, user_id, purchase_id, 'pending', %(expires)s, %(run)s, %(now)s, %(now)s
    FROM (
        SELECT b.*, ROW_NUMBER() OVER (PARTITION BY b.user_id ORDER BY b.campaign_id) AS nth,
            (SELECT COUNT(*) FROM bench_invitation h WHERE h.user_id = b.user_id AND h.status = 'pending'
                AND h.expires_at > %(now)s) AS held
        FROM (
            SELECT c.id AS campaign_id, ol.buyer_id AS user_id, MAX(ol.id) AS purchase_id
            FROM bench_campaign c JOIN catalog_orderline ol ON ol.product_id = c.product_id
            WHERE ol.status = 'paid' AND ol.paid_at >= %(purchase_since)s AND ol.paid_at <= %(now)s
            GROUP BY c.id, ol.buyer_id
        ) b
        JOIN accounts_user u ON u.id = b.user_id
        WHERE u.is_active AND NOT u.is_banned AND u.last_seen_at >= %(active_since)s
          AND NOT EXISTS (
              SELECT 1 FROM bench_invitation i WHERE i.campaign_id = b.campaign_id AND i.user_id = b.user_id
          )
    ) candidates
    WHERE nth + held <= %(cap)s
    ORDER BY campaign_id, user_id
    ON CONFLICT DO NOTHING
"""


def run_bound(policy: RatingPolicy, run_id: int) -> tuple[float, float, int, int, float]:
    """Returns (selection seconds, insert seconds, campaigns, invitations, re-run seconds)."""
    sql("DROP TABLE IF EXISTS bench_invitation, bench_campaign")
    sql("CREATE TABLE bench_campaign (LIKE ratings_campaign INCLUDING ALL)")
    sql("CREATE TABLE bench_invitation (LIKE ratings_invitation INCLUDING ALL)")
    # The same foreign keys as the real tables (checked at commit), so the bound pays what the job pays.
    for column, target in (
        ("product_id", "catalog_product"),
        ("category_id", "catalog_category"),
    ):
        sql(f"ALTER TABLE bench_campaign ADD FOREIGN KEY ({column}) REFERENCES {target} DEFERRABLE INITIALLY DEFERRED")
    for column, target in (
        ("campaign_id", "bench_campaign"),
        ("user_id", "accounts_user"),
        ("purchase_id", "catalog_orderline"),
        ("run_id", "ratings_eligibilityrun"),
    ):
        sql(
            f"ALTER TABLE bench_invitation ADD FOREIGN KEY ({column}) REFERENCES {target} DEFERRABLE INITIALLY DEFERRED"
        )
    now = timezone.now()
    day = timedelta(days=1)
    params = {
        "now": now,
        "popular_since": now - policy.popularity_days * day,
        "sales_since": now - policy.sales_days * day,
        "purchase_since": now - policy.purchase_days * day,
        "active_since": now - policy.active_days * day,
        "closes": now + policy.campaign_days * day,
        "expires": now + policy.invitation_days * day,
        "w": float(policy.popularity_weight),
        "min_units": policy.min_units_sold,
        "min_engagement": policy.min_engagement,
        "limit": policy.products_per_category,
        "cap": policy.max_open_invitations,
        "run": run_id,
    }
    started = time.perf_counter()
    campaigns = sql(BOUND_SELECT, params)
    selection = time.perf_counter() - started
    sql("ANALYZE bench_campaign")
    started = time.perf_counter()
    invitations = sql(BOUND_INVITE, params)
    insert = time.perf_counter() - started
    sql("ANALYZE bench_invitation")
    started = time.perf_counter()
    again = sql(BOUND_INVITE, params)
    rerun = time.perf_counter() - started
    if again:
        raise SystemExit(f"the bound's re-run inserted {again} rows")
    sql("DROP TABLE bench_invitation, bench_campaign")
    return selection, insert, campaigns, invitations, rerun


def _last_run_id() -> int:
    from ratings.models import EligibilityRun

    return int(EligibilityRun.objects.order_by("-pk").values_list("pk", flat=True)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-category", type=int, default=32)
    parser.add_argument("--cap", type=int, default=100, help="open invitations per user (high: invite everyone)")
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
    sql("SELECT count(*) FROM catalog_orderline WHERE status = 'paid'")  # warm the cache

    job, campaigns, invitations, notify, notified = run_job(notify_too=not args.skip_notify)
    rss_after_job = peak_rss_mb()
    started = time.perf_counter()
    sent = eligibility.invitation_emails_send(notification_ids=notified[: eligibility.EMAIL_CHUNK_SIZE])
    email_chunk = time.perf_counter() - started
    sql("ANALYZE ratings_invitation")
    rerun, re_campaigns, re_invitations, re_notify, _ = run_job(notify_too=not args.skip_notify)

    selection, insert, bound_campaigns, bound_invitations, bound_rerun = run_bound(policy, _last_run_id())
    bound = selection + insert

    rows = [
        (
            "job: select + open campaigns + invite",
            f"{job:8.1f} s",
            f"{campaigns:,} campaigns, {invitations:,} invitations",
        ),
        ("bare SQL: selection", f"{selection:8.1f} s", f"{bound_campaigns:,} campaigns"),
        ("bare SQL: invitation insert", f"{insert:8.1f} s", f"{bound_invitations:,} invitations"),
        ("ratio job / bare SQL", f"{job / bound:8.2f} ×", "target ≤ 1.5×"),
        ("job re-run (nothing new)", f"{rerun:8.1f} s", f"{re_campaigns} campaigns, {re_invitations} invitations"),
        ("bare SQL re-run (anti-join)", f"{bound_rerun:8.1f} s", f"ratio {rerun / bound_rerun:.2f} ×"),
        (
            "inbox notifications (INSERT … SELECT)",
            f"{notify:8.1f} s",
            f"{len(notified):,} rows; re-run {re_notify:.1f} s",
        ),
        (
            f"emails: one chunk of {eligibility.EMAIL_CHUNK_SIZE}",
            f"{email_chunk:8.2f} s",
            f"{sent} sent ({settings.EMAIL_BACKEND.rsplit('.', 2)[-2]}); all ≈ "
            f"{email_chunk * len(notified) / max(sent, 1) / 60:.0f} worker-min in chunk tasks",
        ),
        ("worker peak RSS", f"{rss_after_job:8.0f} MB", f"after the re-run {peak_rss_mb():.0f} MB"),
    ]
    width = max(len(row[0]) for row in rows)
    for name, figure, note in rows:
        print(f"{name:<{width}}  {figure:>11}  {note}")


if __name__ == "__main__":
    main()
