"""The eligibility job: which products open for rating, and which buyers are invited to rate them.

A run goes in three steps, each a service the Celery tasks in ``ratings.tasks`` call:

1. ``run_start`` closes campaigns past their closing time, selects every rating-ready category's
   products (one ranked aggregate: one pass over the order lines beats 93 index walks) and records
   a run with one row per category.
2. ``run_category`` (one task per category, a group) opens a campaign for each selected product
   that has no open campaign, freezing the category's active factors; one transaction per category,
   so a category is done completely or not at all. A failure is recorded on the category's row and
   the other categories go on.
3. ``run_invite``, enqueued by whichever category task sees (in the database) that all categories
   are finished, invites the buyers of every open campaign in one ``INSERT … SELECT`` (the per-user
   cap needs all of a user's new invitations in one window, and one sorted insert is the fastest
   form: PERFORMANCE.md), records the counts per category and finishes the run.

A run is keyed on the id of the task that started it: that task, delivered again after its worker
died, continues the run (``run_start`` returns the categories not yet done, selected again as of the
run's start). A run whose task never comes back is resumed, then stopped with the reason, by the
stalled-run sweep (``runs_stalled_repair``, ``ratings.stalls``).

Then, after commit, the invited are told per category: ``invitations_notify`` writes inbox rows and
hands the new ones to ``invitation_emails_send`` in chunks of ``EMAIL_CHUNK_SIZE``.

Rules (the policy figures are ``RatingPolicy``, edited by staff):

- *Selection.* Products on sale in the category are scored by community popularity (likes and
  saves, within ``popularity_days``, of visible notes that mention the product) and genuine sales
  (units of paid order lines within ``sales_days``). Products below ``min_units_sold`` or
  ``min_engagement`` are left out; the rest get ``w · pct_rank(engagement) + (1 − w) · pct_rank(units)``
  (``w`` = ``popularity_weight``, percent ranks within the category; ties broken by units, then id).
  The top ``products_per_category`` are selected; a selected product that already has an open
  campaign keeps it (its slot is not handed to the next product), so a second run the same day
  selects the same products and opens nothing.
- *Invitations.* Every open campaign (the ones just opened and the ones still
  running, which may have gained buyers since) invites each *experienced, active* user (``is_active``,
  not banned, seen within ``active_days``, an account at least ``min_account_days`` old) with a genuine
  purchase (paid, neither refunded nor cancelled) of its product within the ``purchase_days`` before
  the run and at least ``use_days`` ago, so they have genuinely tried it; never an account linked to the
  product's brand or store (``catalog.stakes``: brands can never steer). Someone who rated the product
  in an earlier campaign is invited again: they confirm or amend their one vote (``vote_confirm``).
  Several purchases make one invitation, which remembers the latest recorded one (highest id).
  A user is never given more than ``max_open_invitations`` pending, unexpired invitations:
  those held before the run count, and within a run a user's new invitations are numbered by
  campaign id (older campaigns first: they close sooner). Invitation inserts take a
  transaction-level advisory lock on PostgreSQL, so the cap holds across concurrent runs.
- *Idempotency.* The database guarantees it: one open campaign per product (partial unique
  constraint) and one invitation per (campaign, user); existing rows are skipped with an anti-join,
  which keeps a re-run cheap, and the invitation lock makes every committed invitation visible to it.
  Notifications are unique per (user, kind, invitation), and emails go only for notifications a call
  actually inserted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from accounts.services import SUBJECT_ID, notifications_create
from catalog.models import Category, Factor
from ratings import stalls
from ratings.models import Campaign, CampaignFactor, EligibilityRun, EligibilityRunCategory, Invitation, RatingPolicy

logger = logging.getLogger(__name__)

#: Invitation emails go out in chunks of this many, each chunk from its own task over one connection.
EMAIL_CHUNK_SIZE = 500
#: Serialises invitation inserts on PostgreSQL (see the module docstring); any constant unique to us.
_INVITATION_LOCK_KEY = 0x78687331  # "xhs1"


def policy_get() -> RatingPolicy:
    """The rating policy, created with its defaults the first time it is read."""
    policy, _created = RatingPolicy.objects.get_or_create(pk=1)
    return policy


@dataclass(frozen=True)
class SelectedProduct:
    product_id: int
    rank: int
    score: float
    engagement: int
    units: int


# --- Step 1: start a run ---------------------------------------------------------------------------


def campaigns_close_expired(*, now: datetime | None = None) -> int:
    """Close open campaigns whose closing time has passed; a repeat closes nothing more."""
    now = now or timezone.now()
    return Campaign.objects.filter(status=Campaign.Status.OPEN, closes_at__lte=now).update(
        status=Campaign.Status.CLOSED, updated_at=now
    )


@dataclass(frozen=True)
class RunPlan:
    run: EligibilityRun
    #: The selected products of each rating-ready category (empty when none passed the minimums).
    selections: dict[int, list[SelectedProduct]]


def run_start(*, triggered_by: str, task_id: str = "", now: datetime | None = None) -> RunPlan:
    """Record a new run with a row per rating-ready category, and select every category's products.

    Closes expired campaigns first, so their products can be selected again. The selection is one
    ranked aggregate over all categories: one pass over the order lines costs far less than a
    per-category index walk repeated 93 times (see bench/eligibility.py). A run without any
    rating-ready category is finished at once.

    Resumable: with the id of the task that starts it, a second call with the same id (the broker
    delivering the task again after its worker died) records nothing and returns the same run with the
    selections of the categories it has not finished (``run_selections_pending``). Two deliveries at
    once meet on the unique task id.
    """
    resumed = _run_of_task(task_id)
    if resumed is not None:
        return resumed
    now = now or timezone.now()
    policy = policy_get()
    campaigns_close_expired(now=now)
    selections, considered = products_select(policy=policy, now=now)
    try:
        with transaction.atomic():
            run = EligibilityRun.objects.create(
                run_date=timezone.localdate(now), triggered_by=triggered_by[:60], task_id=task_id, started_at=now
            )
            category_ids = Category.objects.filter(rating_ready=True).order_by("pk").values_list("pk", flat=True)
            EligibilityRunCategory.objects.bulk_create(
                [
                    EligibilityRunCategory(
                        run=run, category_id=category_id, products_considered=considered.get(category_id, 0)
                    )
                    for category_id in category_ids
                ]
            )
    except IntegrityError:
        resumed = _run_of_task(task_id)  # another delivery of the same task recorded it first
        if resumed is None:
            raise
        return resumed
    if not category_ids:
        run_invite(run_id=run.pk)
    return RunPlan(run=run, selections={category_id: selections.get(category_id, []) for category_id in category_ids})


def _run_of_task(task_id: str) -> RunPlan | None:
    if not task_id:
        return None
    run = EligibilityRun.objects.filter(task_id=task_id).first()
    if run is None:
        return None
    selections = run_selections_pending(run=run)
    logger.info("eligibility run %s resumed by task %s: %d categories left", run.pk, task_id, len(selections))
    return RunPlan(run=run, selections=selections)


def run_selections_pending(*, run: EligibilityRun) -> dict[int, list[SelectedProduct]]:
    """The selections of the categories a running run has not finished, selected again as of the run's
    start. A category still pending opened nothing (its work is one transaction), so its products are
    selected as the first time, unless sales or notes recorded since then, dated before the start, move
    a product across the cut."""
    if run.status != EligibilityRun.Status.RUNNING:
        return {}
    pending = list(
        EligibilityRunCategory.objects.filter(run=run, finished_at=None)
        .order_by("category_id")
        .values_list("category_id", flat=True)
    )
    if not pending:
        return {}
    campaigns_close_expired(now=run.started_at)
    selections, _considered = products_select(policy=policy_get(), now=run.started_at)
    return {category_id: selections.get(category_id, []) for category_id in pending}


def _dt(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _jit_off() -> None:
    if connection.vendor == "postgresql":
        # The aggregates' cost estimates pass the JIT threshold, and compiling them took longer
        # (~0.1 s a statement, measured at full scale) than it saved.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


def products_select(*, policy: RatingPolicy, now: datetime) -> tuple[dict[int, list[SelectedProduct]], dict[int, int]]:
    """Every rating-ready category's top products, and how many passed the minimums (one query)."""
    sql = """
        WITH products AS (
            SELECT p.id, p.category_id
            FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id
            WHERE c.rating_ready AND p.is_active
        ),
        engagement AS (
            SELECT np.product_id, COUNT(*) AS n
            FROM products p
            JOIN catalog_noteproduct np ON np.product_id = p.id
            JOIN catalog_note n ON n.id = np.note_id AND n.visibility = 'visible'
            JOIN catalog_engagement e ON e.note_id = n.id AND e.created_at >= %(popular_since)s
                AND e.created_at <= %(now)s
            GROUP BY np.product_id
        ),
        units AS (
            SELECT ol.product_id, SUM(ol.quantity) AS n
            FROM catalog_orderline ol
            WHERE ol.status = 'paid' AND ol.paid_at >= %(sales_since)s AND ol.paid_at <= %(now)s
            GROUP BY ol.product_id
        ),
        eligible AS (
            SELECT p.id, p.category_id, COALESCE(e.n, 0) AS engagement, COALESCE(u.n, 0) AS units
            FROM products p
            LEFT JOIN engagement e ON e.product_id = p.id
            LEFT JOIN units u ON u.product_id = p.id
            WHERE COALESCE(u.n, 0) >= %(min_units)s AND COALESCE(e.n, 0) >= %(min_engagement)s
        ),
        scored AS (
            SELECT id, category_id, engagement, units,
                %(weight)s * PERCENT_RANK() OVER (PARTITION BY category_id ORDER BY engagement)
                    + (1.0 - %(weight)s) * PERCENT_RANK() OVER (PARTITION BY category_id ORDER BY units) AS score,
                COUNT(*) OVER (PARTITION BY category_id) AS considered
            FROM eligible
        ),
        ranked AS (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY category_id ORDER BY score DESC, units DESC, id) AS rank
            FROM scored
        )
        SELECT category_id, id, rank, score, engagement, units, considered
        FROM ranked
        WHERE rank <= %(limit)s
        ORDER BY category_id, rank
    """
    params = {
        "popular_since": _dt(now - timedelta(days=policy.popularity_days)),
        "sales_since": _dt(now - timedelta(days=policy.sales_days)),
        "now": _dt(now),
        "min_units": policy.min_units_sold,
        "min_engagement": policy.min_engagement,
        "weight": float(policy.popularity_weight),
        "limit": policy.products_per_category,
    }
    selections: dict[int, list[SelectedProduct]] = {}
    considered: dict[int, int] = {}
    with transaction.atomic():
        _jit_off()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    for category_id, product_id, rank, score, engagement, units, passed in rows:
        selections.setdefault(category_id, []).append(
            SelectedProduct(
                product_id=product_id, rank=int(rank), score=float(score), engagement=int(engagement), units=int(units)
            )
        )
        considered[category_id] = int(passed)
    return selections, considered


# --- Step 2: one category --------------------------------------------------------------------------


def run_category(*, run_id: int, category_id: int, selected: Sequence[SelectedProduct]) -> int | None:
    """Open the campaigns of one category's selected products and record it, or record the error.

    Harmless to repeat: a category row already finished is left alone (a duplicate delivery waits on
    the row lock, then sees it finished); a crash rolls the category back and the redelivered task
    does it again. Returns how many campaigns it opened, ``None`` when there was nothing to do or it
    failed. The caller asks ``run_categories_done`` whether the invitations are due.
    """
    now = timezone.now()
    touched = EligibilityRunCategory.objects.filter(run_id=run_id, category_id=category_id, finished_at=None).update(
        started_at=now, updated_at=now
    )
    if not touched:
        logger.info("eligibility run %s category %s: nothing to do", run_id, category_id)
        return None
    try:
        with transaction.atomic():
            row = (
                EligibilityRunCategory.objects.select_for_update(of=("self",))
                .select_related("run")
                .filter(run_id=run_id, category_id=category_id, finished_at=None)
                .first()
            )
            if row is None:
                return None
            # A run acts as of its start: campaigns open then, whenever the task happens to run.
            opened = campaigns_open(
                run_id=run_id,
                category_id=category_id,
                selected=list(selected),
                policy=policy_get(),
                now=row.run.started_at,
            )
            EligibilityRunCategory.objects.filter(pk=row.pk).update(
                finished_at=timezone.now(), campaigns_opened=len(opened), error="", updated_at=timezone.now()
            )
    except Exception as exc:
        logger.exception("eligibility run %s category %s failed", run_id, category_id)
        EligibilityRunCategory.objects.filter(run_id=run_id, category_id=category_id, finished_at=None).update(
            finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:5000], updated_at=timezone.now()
        )
        return None
    return len(opened)


def run_categories_done(*, run_id: int) -> bool:
    """Whether every category of a still-running run is finished (so its invitations are due)."""
    return (
        EligibilityRun.objects.filter(pk=run_id, status=EligibilityRun.Status.RUNNING).exists()
        and not EligibilityRunCategory.objects.filter(run_id=run_id, finished_at=None).exists()
    )


def campaigns_open(
    *, run_id: int, category_id: int, selected: list[SelectedProduct], policy: RatingPolicy, now: datetime
) -> list[Campaign]:
    """Open a campaign for each selected product without an open one, freezing the category's factors.

    The partial unique constraint ``campaign_one_open_per_product`` is the guarantee: rows that would
    break it are skipped (``ignore_conflicts``), so a concurrent run opens each campaign once. The
    campaigns this call opened are read back by their run id. Three or four queries.
    """
    if not selected:
        return []
    already_open = set(
        Campaign.objects.filter(
            product_id__in=[item.product_id for item in selected], status=Campaign.Status.OPEN
        ).values_list("product_id", flat=True)
    )
    fresh = [item for item in selected if item.product_id not in already_open]
    if not fresh:
        return []
    closes_at = now + timedelta(days=policy.campaign_days)
    Campaign.objects.bulk_create(
        [
            Campaign(
                product_id=item.product_id,
                category_id=category_id,
                status=Campaign.Status.OPEN,
                opens_at=now,
                closes_at=closes_at,
                run_id=run_id,
                selection_rank=item.rank,
                selection_score=item.score,
                engagement_count=item.engagement,
                units_sold=item.units,
            )
            for item in fresh
        ],
        ignore_conflicts=True,
    )
    opened = list(
        Campaign.objects.filter(
            run_id=run_id,
            category_id=category_id,
            status=Campaign.Status.OPEN,
            product_id__in=[item.product_id for item in fresh],
        ).order_by("pk")
    )
    factors = list(Factor.objects.filter(category_id=category_id, active=True).order_by("position", "pk"))
    CampaignFactor.objects.bulk_create(
        [
            CampaignFactor(
                campaign=campaign,
                factor=factor,
                name_zh=factor.name_zh,
                name_en=factor.name_en,
                description_zh=factor.description_zh,
                description_en=factor.description_en,
                position=position,
                weight=factor.weight,
            )
            for campaign in opened
            for position, factor in enumerate(factors)
        ],
        ignore_conflicts=True,
    )
    return opened


# --- Step 3: invite, then finish -------------------------------------------------------------------


def run_invite(*, run_id: int) -> dict[int, int] | None:
    """Invite for every open campaign, record the counts per category and finish the run.

    Runs once all categories are finished. One ``INSERT … SELECT`` for all categories, so the cap of
    open invitations per user is applied by one window over all of a user's new invitations. Harmless
    to repeat or to run concurrently: the run row is locked and must still be running, and on
    PostgreSQL an advisory lock serialises invitation inserts of concurrent runs, so each sees the
    other's committed invitations (anti-join; the unique constraint behind it). Returns the number of
    invitations per category, or ``None`` when the run was already finished or this step failed
    (the error is then recorded on the run's categories and the run is marked failed).
    """
    try:
        with transaction.atomic():
            run = EligibilityRun.objects.select_for_update().filter(pk=run_id).first()
            if run is None or run.status != EligibilityRun.Status.RUNNING:
                return None
            _jit_off()
            if connection.vendor == "postgresql":
                # Campaigns were just opened and the last run may have inserted millions of invitations:
                # with stale statistics the planner expected 4 campaigns, chose nested loops and spilled
                # its aggregate (71 s instead of 6 s for a re-run at full scale). Sampling costs < 1 s.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE ratings_campaign, ratings_invitation")
            # As of the run's start, like its campaigns: a redelivered step invites the same people.
            per_category = invitations_create(run_id=run_id, policy=policy_get(), now=run.started_at)
            rows = EligibilityRunCategory.objects.filter(run_id=run_id)
            for category_id, count in per_category.items():
                rows.filter(category_id=category_id).update(invitations_created=count, updated_at=timezone.now())
            totals = rows.aggregate(campaigns=Sum("campaigns_opened", default=0))
            failed = rows.exclude(error="").exists()
            EligibilityRun.objects.filter(pk=run_id).update(
                status=EligibilityRun.Status.FAILED if failed else EligibilityRun.Status.FINISHED,
                finished_at=timezone.now(),
                campaigns_opened=totals["campaigns"],
                invitations_created=sum(per_category.values()),
                updated_at=timezone.now(),
            )
    except Exception as exc:
        logger.exception("eligibility run %s: inviting failed", run_id)
        message = f"invitations: {type(exc).__name__}: {exc}"[:5000]
        EligibilityRunCategory.objects.filter(run_id=run_id, error="").update(error=message, updated_at=timezone.now())
        EligibilityRun.objects.filter(pk=run_id, status=EligibilityRun.Status.RUNNING).update(
            status=EligibilityRun.Status.FAILED, finished_at=timezone.now(), updated_at=timezone.now()
        )
        return None
    logger.info("eligibility run %s finished: %d invitations", run_id, sum(per_category.values()))
    return per_category


# --- Runs whose worker died ----------------------------------------------------------------------


@dataclass(frozen=True)
class StalledRuns:
    """What the sweep did: per run, the categories to send again (with their selections) or the
    invitation step to send again; and the runs it stopped."""

    resumed: dict[int, dict[int, list[SelectedProduct]]]
    invite: list[int]
    stopped: list[int]


def runs_stalled(*, now: datetime | None = None, stalled_after: timedelta | None = None) -> list[int]:
    """Runs still running with no progress for longer than ``stalled_after`` (``ratings.stalls``)."""
    since = stalls.stalled_since(now=now or timezone.now(), stalled_after=stalled_after)
    return list(
        EligibilityRun.objects.filter(status=EligibilityRun.Status.RUNNING)
        .annotate(progressed=stalls.last_progress("started_at", "finished_at"))
        .filter(progressed__lt=since)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def runs_stalled_repair(*, now: datetime | None = None, stalled_after: timedelta | None = None) -> StalledRuns:
    """Finish what dead workers left of eligibility runs: for each stalled run, in a transaction that
    locks it, count a resume and return its unfinished categories with their selections (or, all of them
    done, its invitation step) for the caller to send again; after ``stalls.SWEEP_RESUMES`` resumes, stop
    it: its unfinished categories and the run are closed with the reason staff see in the admin.

    Harmless: categories and the invitation step skip what is done; a run that progressed meanwhile
    (locked, then checked again) is left alone.
    """
    now = now or timezone.now()
    resumed: dict[int, dict[int, list[SelectedProduct]]] = {}
    invite: list[int] = []
    stopped: list[int] = []
    for run_id in runs_stalled(now=now, stalled_after=stalled_after):
        with transaction.atomic():
            run = (
                EligibilityRun.objects.select_for_update()
                .filter(pk=run_id, status=EligibilityRun.Status.RUNNING)
                .first()
            )
            if run is None or run_id not in runs_stalled(now=now, stalled_after=stalled_after):
                continue
            pending = EligibilityRunCategory.objects.filter(run_id=run_id, finished_at=None).count()
            if run.resumes >= stalls.SWEEP_RESUMES:
                reason = stalls.stop_reason(resumes=run.resumes, pending=pending)
                EligibilityRunCategory.objects.filter(run_id=run_id, finished_at=None).update(
                    finished_at=now, error="Not done: the sweep stopped the run.", updated_at=now
                )
                opened = run.categories.aggregate(n=Sum("campaigns_opened", default=0))["n"]
                EligibilityRun.objects.filter(pk=run_id).update(
                    status=EligibilityRun.Status.FAILED,
                    finished_at=now,
                    campaigns_opened=opened,
                    error=reason,
                    updated_at=now,
                )
                stopped.append(run_id)
                logger.warning("eligibility run %s stopped: %s", run_id, reason)
                continue
            run.resumes += 1
            run.resumed_at = now
            run.save(update_fields=["resumes", "resumed_at", "updated_at"])
            if pending:
                resumed[run_id] = run_selections_pending(run=run)
            else:
                invite.append(run_id)
    return StalledRuns(resumed=resumed, invite=invite, stopped=stopped)


#: Who may be invited, to rate or to answer a factor survey: the same rules for both, written once.
#: ``GENUINE_PURCHASE_SQL`` qualifies an order line ``ol`` (paid, neither refunded nor cancelled, within the
#: purchase window and at least the use period ago); ``ELIGIBLE_BUYER_SQL`` joins its buyer as ``u`` when
#: the account is experienced and active. Their parameters come from ``buyer_window_params``.
GENUINE_PURCHASE_SQL = "ol.status = 'paid' AND ol.paid_at >= %(purchase_since)s AND ol.paid_at <= %(used_since)s"
ELIGIBLE_BUYER_SQL = """
    JOIN accounts_user u ON u.id = ol.buyer_id
        AND u.is_active AND NOT u.is_banned AND u.last_seen_at >= %(active_since)s
        AND u.date_joined <= %(joined_by)s
"""


def buyer_window_params(*, policy: RatingPolicy, now: datetime) -> dict[str, Any]:
    """The parameters of ``GENUINE_PURCHASE_SQL`` and ``ELIGIBLE_BUYER_SQL`` under this policy, now."""
    return {
        "purchase_since": _dt(now - timedelta(days=policy.purchase_days)),
        "used_since": _dt(now - timedelta(days=policy.use_days)),
        "active_since": _dt(now - timedelta(days=policy.active_days)),
        "joined_by": _dt(now - timedelta(days=policy.min_account_days)),
    }


_INVITE_SQL = f"""
    INSERT INTO ratings_invitation
        (campaign_id, user_id, purchase_id, status, expires_at, run_id, created_at, updated_at)
    SELECT campaign_id, user_id, purchase_id, 'pending', %(expires_at)s, %(run)s, %(now)s, %(now)s
    FROM (
        SELECT b.campaign_id, b.user_id, b.purchase_id,
            ROW_NUMBER() OVER (PARTITION BY b.user_id ORDER BY b.campaign_id) + COALESCE(h.held, 0) AS nth
        FROM (
            SELECT c.id AS campaign_id, ol.buyer_id AS user_id, MAX(ol.id) AS purchase_id
            FROM ratings_campaign c
            JOIN catalog_product p ON p.id = c.product_id
            JOIN catalog_orderline ol ON ol.product_id = c.product_id AND {GENUINE_PURCHASE_SQL}
            {ELIGIBLE_BUYER_SQL}
            WHERE c.status = 'open' AND c.closes_at > %(now)s
                -- brands can never steer (catalog.stakes): no account linked to the product's brand or store
                AND NOT EXISTS (
                    SELECT 1 FROM catalog_brandaccount ba WHERE ba.user_id = ol.buyer_id AND ba.brand_id = p.brand_id
                )
                AND NOT EXISTS (
                    SELECT 1 FROM catalog_brandaccount ba WHERE ba.user_id = ol.buyer_id AND ba.store_id = p.store_id
                )
            GROUP BY c.id, ol.buyer_id
        ) b
        LEFT JOIN (
            SELECT user_id, COUNT(*) AS held FROM ratings_invitation
            WHERE status = 'pending' AND expires_at > %(now)s
            GROUP BY user_id
        ) h ON h.user_id = b.user_id
        WHERE NOT EXISTS (
            SELECT 1 FROM ratings_invitation i WHERE i.campaign_id = b.campaign_id AND i.user_id = b.user_id
        )
    ) candidates
    WHERE nth <= %(cap)s
    ORDER BY campaign_id, user_id
"""  # noqa: S608 - built from module constants, no input  # nosec B608

#: Sorts and hashes of a run's aggregates stay in memory: with the default 4 MB the invitation insert
#: spilled three sorts to disk. Local to the job's transaction.
WORK_MEM = "256MB"


def invitations_create(*, run_id: int, policy: RatingPolicy, now: datetime) -> dict[int, int]:
    """Invite the eligible buyers of every open campaign; return how many were invited per category.

    One ``INSERT … SELECT`` in the database: buyers are never loaded into Python. Existing invitations
    are skipped by an anti-join. On PostgreSQL the invitation lock is taken before the insert's snapshot,
    so a concurrent run's invitations are committed and seen by that anti-join: no conflict can arise,
    and the insert does without ``ON CONFLICT`` (a speculative insertion for every row; the unique
    constraint still refuses a duplicate, failing the run). Rows go in sorted on the unique key. The
    held counts are one hashed aggregate over the pending invitations. Must run inside a transaction:
    on PostgreSQL it takes the invitation lock until commit.

    The foreign keys are checked once for the whole insert (``_references_check``), not once per row:
    see ``_row_checks_skipped``.
    """
    params = {
        "expires_at": _dt(now + timedelta(days=policy.invitation_days)),
        "run": run_id,
        "now": _dt(now),
        **buyer_window_params(policy=policy, now=now),
        "cap": policy.max_open_invitations,
    }
    count_sql = """
        SELECT c.category_id, COUNT(*) FROM {source} i
        JOIN ratings_campaign c ON c.id = i.campaign_id
        GROUP BY c.category_id
    """
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(_INVITE_SQL, params)
            cursor.execute(
                count_sql.replace("GROUP BY", "WHERE i.run_id = %s GROUP BY").format(source="ratings_invitation"),
                [run_id],
            )
            return {int(category_id): int(count) for category_id, count in cursor.fetchall()}
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INVITATION_LOCK_KEY])
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        # Every open campaign invites (~3,000 of them, 2.4M order lines at full scale): one scan of the order
        # lines hashed against them beats the index walk per campaign the planner picks (select part of the
        # insert 18.6 s with nested loops, 11.7 s without; EXPLAIN ANALYZE on the full-scale bench's data).
        cursor.execute("SET LOCAL enable_nestloop = off")
        skipped = _row_checks_skipped(cursor)
        if skipped:
            cursor.execute("SET LOCAL session_replication_role = replica")
        # Counted from the inserted rows themselves, without reading the table back.
        cursor.execute(
            f"WITH inserted AS ({_INVITE_SQL} RETURNING campaign_id) " + count_sql.format(source="inserted"), params
        )
        counts = cursor.fetchall()
        if skipped:  # else the per-row checks run at commit: checking again would be the same work twice
            cursor.execute("SET LOCAL session_replication_role = origin")
            _references_check(cursor, run_id=run_id)
        cursor.execute("SET LOCAL enable_nestloop = on")
        return {int(category_id): int(count) for category_id, count in counts}


#: The references of the run's new invitations that point at no row, the first one found: one scan of the new
#: rows, hashed against each referenced table (nested loops are off: ``invitations_create``). Three statements,
#: one a reference, scanned the new rows three times: 10.6 s against ~6 s for 2.1M invitations.
REFERENCES_CHECK = """
    SELECT i.campaign_id, i.user_id, i.purchase_id, c.id IS NULL, u.id IS NULL, ol.id IS NULL
      FROM ratings_invitation i
      LEFT JOIN ratings_campaign c ON c.id = i.campaign_id
      LEFT JOIN accounts_user u ON u.id = i.user_id
      LEFT JOIN catalog_orderline ol ON ol.id = i.purchase_id
     WHERE i.run_id = %s AND (c.id IS NULL OR u.id IS NULL OR ol.id IS NULL)
     LIMIT 1
"""
#: The columns of ``REFERENCES_CHECK``'s first three, and the tables they reference (by id).
INVITATION_REFERENCES = (
    ("campaign_id", "ratings_campaign"),
    ("user_id", "accounts_user"),
    ("purchase_id", "catalog_orderline"),
)


def _row_checks_skipped(cursor: Any) -> bool:
    """Whether this connection may skip the per-row foreign-key checks of the invitation insert, and
    so should: it holds the privilege to set ``session_replication_role`` (a superuser, or on PostgreSQL
    15 and later a role granted ``SET ON PARAMETER session_replication_role``).

    Why: each invitation's three foreign keys (campaign, buyer, purchase) are checked by a trigger per
    row at commit, 6.3M checks for the 2.1M invitations of a full-scale run: 69.5 s of a 95 s insert,
    measured on a copy of the table. Skipped (replica mode, for the insert alone; the invitation table
    has no other INSERT trigger, and one added later must be ``ENABLE ALWAYS``), the references are
    checked after the insert by ``_references_check``, once for all rows, and kept true until commit by
    the invitation lock: every ``DELETE`` of, or change of id in, a user, campaign or order line takes
    that lock shared first (migration ``0024_invitation_references_guard``), so it waits for the insert
    to commit and its own foreign-key check then sees the new invitations. That is what the per-row
    checks' row locks did, without writing a lock into 2.1M order lines (30.6 s alone).

    Without the privilege the per-row checks run as before; the result is the same.
    """
    cursor.execute("SHOW server_version_num")
    if int(cursor.fetchone()[0]) >= 150000:
        cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
    else:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
    return bool(cursor.fetchone()[0])


def _references_check(cursor: Any, *, run_id: int) -> None:
    """The foreign keys of the run's new invitations, checked once for all of them (PostgreSQL): each
    must reference an existing row, or the run fails and nothing of it is kept."""
    cursor.execute(REFERENCES_CHECK, [run_id])
    if found := cursor.fetchone():
        for value, gone, (column, table) in zip(found[:3], found[3:], INVITATION_REFERENCES, strict=True):
            if gone:
                raise IntegrityError(f"invitation references a missing {table}.id = {value} ({column})")


# --- Telling the invited ---------------------------------------------------------------------------


def invitation_url_template() -> str:
    """The path of an invitation page, with ``{subject_id}`` where the invitation id goes."""
    marker = 987654321987
    return reverse("ratings:invitation", kwargs={"pk": marker}).replace(str(marker), SUBJECT_ID)


def invitations_notify(*, run_id: int, category_id: int) -> list[int]:
    """Inbox notifications for the invitations a run created in a category; return the new ones' ids.

    Unique per (user, kind, invitation), so a repeat inserts and returns nothing: emails are sent only
    for the ids returned here, hence never twice.
    """
    source = (
        Invitation.objects.filter(run_id=run_id, campaign__category_id=category_id)
        .annotate(
            subject_id=F("pk"),
            product_zh=F("campaign__product__name_zh"),
            product_en=F("campaign__product__name_en"),
        )
        .order_by()
        .values("user_id", "subject_id", "product_zh", "product_en")
    )
    return notifications_create(
        kind=Notification.Kind.INVITATION,
        source=source,
        url_template=invitation_url_template(),
        context_columns={"product_zh": "product_zh", "product_en": "product_en"},
    )


def invitation_emails_send(*, notification_ids: list[int]) -> int:
    """Email the bilingual invitation for each notification not emailed yet; return how many were sent.

    Once per notification: the rows are locked (skipping rows another run holds) and marked emailed in
    the transaction that sends them, so running twice in a row, or eight times at once, sends each email
    once. A worker dying mid-send rolls the marks back and the redelivered task sends again: mail
    cannot be rolled back, so at worst that chunk goes out twice. Invitations no longer pending are
    skipped. Three queries and one mail connection per call (callers pass at most ``EMAIL_CHUNK_SIZE``).
    """
    with transaction.atomic():
        claimed = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk__in=notification_ids, kind=Notification.Kind.INVITATION, emailed_at=None)
            .order_by("pk")
            .values_list("pk", "subject_id")
        )
        if not claimed:
            return 0
        invitations = (
            Invitation.objects.filter(pk__in=[subject for _, subject in claimed], status=Invitation.Status.PENDING)
            .filter(~Q(user__email=""))
            .select_related("user", "campaign__product")
            .order_by("pk")
        )
        site = settings.SITE_URL.rstrip("/")
        messages = []
        for invitation in invitations:
            context = {
                "invitation": invitation,
                "user": invitation.user,
                "product": invitation.campaign.product,
                "url": f"{site}{invitation.get_absolute_url()}",
                "site_url": site,
            }
            subject = " ".join(render_to_string("ratings/email/invitation_subject.txt", context).split())
            body = render_to_string("ratings/email/invitation_message.txt", context)
            messages.append(EmailMultiAlternatives(subject, body, to=[invitation.user.email]))
        Notification.objects.filter(pk__in=[pk for pk, _ in claimed]).update(emailed_at=timezone.now())
        if not messages:
            return 0
        with get_connection() as mail:
            sent: int | None = mail.send_messages(messages)
        return sent or 0


def email_chunks(notification_ids: list[int]) -> list[list[int]]:
    return [notification_ids[i : i + EMAIL_CHUNK_SIZE] for i in range(0, len(notification_ids), EMAIL_CHUNK_SIZE)]
