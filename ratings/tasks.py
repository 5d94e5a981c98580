"""Celery tasks of the eligibility job. Thin: they take ids and call ``ratings.eligibility``.

The job is a group of per-category tasks, not a chord: each category task, on finishing, checks in
the database whether the whole run is done (see ``eligibility.run_finish_if_complete``). Follow-up
tasks go to the queue their parent came from, so a worker dedicated to a queue finishes the job.
"""

import logging
from typing import Any

from celery import Task, group, shared_task
from django.db import transaction

from ratings import eligibility

logger = logging.getLogger(__name__)


def _same_queue(task: Task[Any, Any]) -> dict[str, Any]:
    delivery = getattr(task.request, "delivery_info", None) or {}
    queue = delivery.get("routing_key")
    return {"queue": queue} if queue else {}


@shared_task(bind=True, acks_late=True)
def run_eligibility(self: Task[Any, Any], triggered_by: str = "schedule") -> int:
    """Weekly (beat) or from the admin button: record a run and fan out one task per category.

    Harmless to re-run, or to run twice at once: every campaign and invitation is unique in the
    database and existing ones are skipped, so a second run only records an empty run.
    """
    run = eligibility.run_start(triggered_by=triggered_by)
    category_ids = list(run.categories.order_by("category_id").values_list("category_id", flat=True))
    tasks = group(run_category.si(run.pk, category_id) for category_id in category_ids)
    options = _same_queue(self)
    transaction.on_commit(lambda: tasks.apply_async(**options), robust=True)
    logger.info("eligibility run %s: %d categories enqueued", run.pk, len(category_ids))
    return run.pk


@shared_task(bind=True, acks_late=True)
def run_category(self: Task[Any, Any], run_id: int, category_id: int) -> int:
    """One category of a run: select, open campaigns, invite, record; then finish the run if last.

    Harmless to re-run: a finished category is skipped, and the work is one transaction, so a task
    redelivered after a crash starts from a clean slate. Returns how many were invited.
    """
    outcome = eligibility.run_category(run_id=run_id, category_id=category_id)
    if outcome is None or not outcome.invitations_created:
        return 0
    # The category's transaction has committed: the invitations exist for the notifying task.
    notify_invitations.apply_async((run_id, category_id), **_same_queue(self))
    return outcome.invitations_created


@shared_task(bind=True, acks_late=True)
def notify_invitations(self: Task[Any, Any], run_id: int, category_id: int) -> int:
    """Inbox rows for a category's new invitations, then their emails in chunked tasks.

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

    At least once: if the worker dies after sending, the redelivered chunk sends again (mail cannot
    be rolled back); it never sends for invitations another chunk or run was told about.
    """
    return eligibility.invitation_emails_send(notification_ids=notification_ids)
