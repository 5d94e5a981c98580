"""Periodic housekeeping of the manager programme (scheduled in ratings/migrations/0006_periodic_tasks.py)."""

import logging
from typing import Any

from celery import Task, group, shared_task
from django.db import OperationalError, transaction

from moderation import counterfeits, screening, services
from ratings.models import Vote

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def escalate_stale_cases() -> int:
    """Hourly: open cases older than the policy allows go to staff, counterfeit claims with them (their
    own age limit, ``counterfeit_stale_days``). Harmless to repeat."""
    return services.cases_escalate_stale() + counterfeits.claims_escalate_stale()


@shared_task(acks_late=True)
def expire_manager_terms() -> int:
    """Daily: terms past their end are marked expired. Harmless to repeat."""
    return services.terms_expire()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def screen_vote(vote_id: int) -> str:
    """Right after a vote (enqueued after commit): screen it among its category's votes.

    Harmless to re-run: an unchanged verdict changes nothing, and managers' decisions stand.
    """
    category_id = Vote.objects.filter(pk=vote_id).values_list("campaign__category_id", flat=True).first()
    if category_id is None:
        logger.info("screen_vote: vote %s is gone", vote_id)
        return "gone"
    outcome = screening.votes_screen(vote_ids=[vote_id], category_ids=[category_id])
    return f"{outcome}"


@shared_task(acks_late=True)
def sweep_unscreened() -> str:
    """Every few minutes (beat): screen recent votes whose own screening was never enqueued or was
    lost. Harmless to repeat: screening a vote again with the same evidence changes nothing."""
    return f"{screening.unscreened_sweep()}"


@shared_task(bind=True, acks_late=True)
def screen_all_votes(self: Task[Any, Any]) -> int:
    """Nightly: screen every vote again with the current model (new evidence may have appeared), one task
    per category, so that each stays far below the time limits (the whole batch took minutes at full
    scale) and a dead worker's share comes back alone. Returns how many categories it sent.

    Harmless to re-run: screening a vote again with the same evidence changes nothing.
    """
    if screening.current_model() is None:
        screening.screener_train()  # once here, not in every category's task
    category_ids = screening.categories_with_votes()
    groups_key = screening.fingerprint_groups_share(self.request.id or "inline")
    tasks = group(screen_category.si(category_id, groups_key) for category_id in category_ids)
    delivery = getattr(self.request, "delivery_info", None) or {}
    options = {"queue": delivery["routing_key"]} if delivery.get("routing_key") else {}
    transaction.on_commit(lambda: tasks.apply_async(**options), robust=True)
    return len(category_ids)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def screen_category(category_id: int, groups_key: str | None = None) -> str:
    """One category of the nightly batch: every vote in it, among its votes, with the current model, and
    the batch's device and network groups read once for all categories (``groups_key``; without them,
    or once they are gone from the cache, its raters' own are read).

    Harmless to re-run or to run twice at once: verdicts are applied under a lock and an unchanged one
    changes nothing; managers' decisions stand.
    """
    shared = screening.shared_fingerprint_groups(groups_key) if groups_key else None
    return f"{screening.votes_screen(category_ids=[category_id], fingerprints=shared)}"


@shared_task(acks_late=True)
def retrain_screener(triggered_by: str = "schedule") -> str:
    """Nightly, before the batch: learn from managers' latest decisions; the new model becomes current."""
    return screening.screener_train().version
