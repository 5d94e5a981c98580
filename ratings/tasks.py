"""Celery tasks of the eligibility job. Thin: they take ids and call ``ratings.eligibility``.

The job is a group of per-category tasks, not a chord: each category task, on finishing, checks in
the database whether all categories are done and, if so, enqueues the invitation step (two last
finishers may both enqueue it; the step runs once, see ``eligibility.run_invite``). Follow-up tasks
go to the queue their parent came from, so a worker dedicated to a queue finishes the job.
"""

import logging
from functools import partial
from typing import Any

from celery import Task, group, shared_task
from django.db import OperationalError, transaction

from ratings import eligibility, scoring, surveys

logger = logging.getLogger(__name__)

#: A selected product as it travels in a task message: [product id, rank, score, engagement, units].
SelectionRow = list[float]


def _same_queue(task: Task[Any, Any]) -> dict[str, Any]:
    delivery = getattr(task.request, "delivery_info", None) or {}
    queue = delivery.get("routing_key")
    return {"queue": queue} if queue else {}


@shared_task(bind=True, acks_late=True)
def run_eligibility(self: Task[Any, Any], triggered_by: str = "schedule") -> int:
    """Monthly by default (beat) or from the admin button: select, record a run and fan out one task per category.

    Harmless to re-run, or to run twice at once: every campaign and invitation is unique in the
    database and existing ones are skipped, so a second run only records an empty run. The run is keyed
    on this task's id: delivered again after its worker died, the task continues the run it recorded,
    sending only the categories not yet finished (or, all finished, the invitation step).
    """
    plan = eligibility.run_start(triggered_by=triggered_by, task_id=self.request.id or "")
    options = _same_queue(self)
    if not plan.selections:
        if eligibility.run_categories_done(run_id=plan.run.pk):  # resumed after its last category
            invite_run.apply_async((plan.run.pk,), **options)
        return plan.run.pk
    _open_categories(plan.run.pk, plan.selections, **options)
    logger.info("eligibility run %s: %d categories enqueued", plan.run.pk, len(plan.selections))
    return plan.run.pk


def _open_categories(run_id: int, selections: dict[int, list[eligibility.SelectedProduct]], **options: Any) -> None:
    # Each category's selection (at most products_per_category rows) rides in its task's message.
    tasks = group(
        run_category.si(run_id, category_id, [[p.product_id, p.rank, p.score, p.engagement, p.units] for p in selected])
        for category_id, selected in selections.items()
    )
    transaction.on_commit(lambda: tasks.apply_async(**options), robust=True)


@shared_task(bind=True, acks_late=True)
def run_category(self: Task[Any, Any], run_id: int, category_id: int, selection: list[SelectionRow]) -> int:
    """One category of a run: open its campaigns and record it; the last one enqueues the invitations.

    Harmless to re-run: a finished category is skipped, and the work is one transaction, so a task
    redelivered after a crash starts from a clean slate. Returns how many campaigns it opened.
    """
    selected = [
        eligibility.SelectedProduct(
            product_id=int(row[0]), rank=int(row[1]), score=float(row[2]), engagement=int(row[3]), units=int(row[4])
        )
        for row in selection
    ]
    opened = eligibility.run_category(run_id=run_id, category_id=category_id, selected=selected)
    if eligibility.run_categories_done(run_id=run_id):
        invite_run.apply_async((run_id,), **_same_queue(self))
    return opened or 0


@shared_task(bind=True, acks_late=True)
def invite_run(self: Task[Any, Any], run_id: int) -> int:
    """Invite the buyers of every open campaign, finish the run, then tell the invited per category.

    Harmless to re-run or to run twice at once: the run row is locked and must still be running, so
    the step runs once; invitations are unique per (campaign, user) anyway.
    """
    per_category = eligibility.run_invite(run_id=run_id)
    if not per_category:
        return 0
    options = _same_queue(self)
    for category_id, invited in sorted(per_category.items()):
        if invited:
            notify_invitations.apply_async((run_id, category_id), **options)
    return sum(per_category.values())


@shared_task(bind=True, acks_late=True)
def notify_invitations(self: Task[Any, Any], run_id: int, category_id: int) -> int:
    """Inbox rows for a category's new invitations of a run, then their emails in chunked tasks.

    Harmless to re-run: notifications are unique per invitation, and emails are enqueued only for the
    notifications this call inserted. (A worker dying between the insert and the enqueue loses those
    emails, never doubles them; the inbox still holds every invitation.)
    """
    notification_ids = eligibility.invitations_notify(run_id=run_id, category_id=category_id)
    options = _same_queue(self)
    for chunk in eligibility.email_chunks(notification_ids):
        send_invitation_emails.apply_async((chunk,), **options)
    return len(notification_ids)


@shared_task(acks_late=True)
def send_invitation_emails(notification_ids: list[int]) -> int:
    """Email one chunk of invitations over one mail connection.

    Harmless to re-run or to run at once with itself: each notification is claimed and marked emailed in
    the sending transaction. Only a worker dying mid-send makes the redelivered chunk send again.
    """
    return eligibility.invitation_emails_send(notification_ids=notification_ids)


# --- Scoring ---------------------------------------------------------------------------------------


@shared_task(bind=True, acks_late=True)
def run_scoring(self: Task[Any, Any], triggered_by: str = "schedule") -> int:
    """Nightly by default (beat) or from the admin: record a full run and fan out one task per category.

    Harmless to re-run: results change only where figures changed, so a second run writes no result.
    The run is keyed on this task's id: delivered again after its worker died, the task continues the
    run it recorded, sending only the categories not yet finished, instead of starting another.
    """
    run, category_ids = scoring.run_start(triggered_by=triggered_by, task_id=self.request.id or "")
    if not category_ids:
        scoring.run_finish(run_id=run.pk)  # nothing (left) to score: no category task would close the run
        return run.pk
    _score_categories(run.pk, category_ids, **_same_queue(self))
    logger.info("scoring run %s: %d categories enqueued", run.pk, len(category_ids))
    return run.pk


def _score_categories(run_id: int, category_ids: list[int], **options: Any) -> None:
    tasks = group(score_category.si(run_id, category_id) for category_id in category_ids)
    transaction.on_commit(lambda: tasks.apply_async(**options), robust=True)


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def score_category(self: Task[Any, Any], run_id: int, category_id: int) -> int:
    """One category of a full run; the last one to finish closes the run.

    Harmless to re-run: a finished category is skipped and the work is one transaction. Returns how
    many results it wrote.
    """
    outcome = scoring.run_category(run_id=run_id, category_id=category_id)
    if scoring.run_categories_done(run_id=run_id):
        scoring.run_finish(run_id=run_id)
    return outcome.changed if outcome else 0


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rescore_campaign(campaign_id: int) -> int:
    """The debounced re-score of one product after votes or decisions.

    Harmless to re-run or to run twice at once: it claims the campaign's flag first and does nothing
    if another run claimed it. Returns how many results it wrote.
    """
    run = scoring.campaign_rescore(campaign_id=campaign_id)
    return run.products_changed if run else 0


@shared_task(acks_late=True)
def sweep_rescores() -> int:
    """Every few minutes (beat): re-enqueue flagged campaigns whose re-score never ran (the broker was
    down when it was requested, or the task was lost). Harmless: the re-score claims the flag."""
    due = scoring.rescores_due()
    for campaign_id in due:
        rescore_campaign.delay(campaign_id)
    return len(due)


@shared_task(acks_late=True)
def sweep_stalled_runs() -> int:
    """Every few minutes (beat): scoring and eligibility runs with no progress for
    ``JOB_STALLED_AFTER_SECONDS`` (their worker died and the task never came back): send their unfinished
    categories (or the invitation step) again, close scoring runs whose categories are all done, and after
    ``ratings.stalls.SWEEP_RESUMES`` tries stop them with the reason staff see in the admin.

    Harmless to repeat: a run is resumed once per stall period, and every step it sends skips what is done.
    Returns how many runs it resumed, completed or stopped.
    """
    scored = scoring.runs_stalled_repair()
    for run_id, category_ids in scored.resumed.items():
        logger.warning("scoring run %s stalled: %d categories sent again", run_id, len(category_ids))
        _score_categories(run_id, category_ids)
    opened = eligibility.runs_stalled_repair()
    for run_id, selections in opened.resumed.items():
        logger.warning("eligibility run %s stalled: %d categories sent again", run_id, len(selections))
        _open_categories(run_id, selections)
    for run_id in opened.invite:
        logger.warning("eligibility run %s stalled: its invitation step sent again", run_id)
        transaction.on_commit(partial(invite_run.delay, run_id), robust=True)
    return sum(
        len(part)
        for part in (scored.resumed, scored.completed, scored.stopped, opened.resumed, opened.invite, opened.stopped)
    )


@shared_task(acks_late=True)
def release_open_data() -> int | None:
    """Monthly (beat, on the 2nd): release last month's counted votes as open data (``ratings.open_data``).

    Harmless to repeat: a month is released once, and building it again returns the release made.
    Returns the release's id.
    """
    from ratings import open_data  # lazily: web processes never build a release

    month = open_data.Month.previous()
    release = open_data.release_build(month=month)
    logger.info("open data for %s: %d votes of %d products released", month, release.votes, release.products)
    return release.pk


@shared_task(acks_late=True)
def close_due_surveys() -> int:
    """Hourly (beat): factor surveys past their closing time are closed, so staff need not close them.
    Harmless to repeat: a closed survey is not closed again."""
    closed = surveys.surveys_close_due()
    if closed:
        logger.info("%d factor surveys past their closing time closed", closed)
    return closed
