"""Celery tasks of the eligibility job. Thin: they take ids and call ``ratings.eligibility``.

The job is a group of per-category tasks, not a chord: each category task, on finishing, checks in
the database whether the whole run is done (see ``eligibility.run_finish_if_complete``).
"""

import logging
from functools import partial

from celery import group, shared_task
from django.db import transaction

from ratings import eligibility

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def run_eligibility(triggered_by: str = "schedule") -> int:
    """Weekly (beat) or from the admin button: record a run and fan out one task per category.

    Harmless to re-run, or to run twice at once: every campaign and invitation is unique in the
    database and existing ones are skipped, so a second run only records an empty run.
    """
    run = eligibility.run_start(triggered_by=triggered_by)
    category_ids = list(run.categories.order_by("category_id").values_list("category_id", flat=True))
    tasks = group(run_category.si(run.pk, category_id) for category_id in category_ids)
    transaction.on_commit(lambda: tasks.apply_async(), robust=True)
    logger.info("eligibility run %s: %d categories enqueued", run.pk, len(category_ids))
    return run.pk


@shared_task(acks_late=True)
def run_category(run_id: int, category_id: int) -> None:
    """One category of a run: select, open campaigns, invite, record; then finish the run if last.

    Harmless to re-run: a finished category is skipped, and the work is one transaction, so a task
    redelivered after a crash starts from a clean slate.
    """
    eligibility.run_category(run_id=run_id, category_id=category_id)


@shared_task(acks_late=True)
def notify_invitations(run_id: int, category_id: int) -> int:
    """Inbox rows for a category's new invitations, then their emails in chunked tasks.

    Harmless to re-run: notifications are unique per invitation, and emails are enqueued only for the
    notifications this call inserted.
    """
    notification_ids = eligibility.invitations_notify(run_id=run_id, category_id=category_id)
    for chunk in eligibility.email_chunks(notification_ids):
        transaction.on_commit(partial(send_invitation_emails.delay, chunk), robust=True)
    return len(notification_ids)


@shared_task(acks_late=True)
def send_invitation_emails(notification_ids: list[int]) -> int:
    """Email one chunk of invitations over one mail connection.

    At least once: if the worker dies after sending, the redelivered chunk sends again (mail cannot
    be rolled back); it never sends for invitations another chunk or run was told about.
    """
    return eligibility.invitation_emails_send(notification_ids=notification_ids)
