"""Periodic housekeeping of the manager programme (declared in CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from moderation import services


@shared_task(acks_late=True)
def escalate_stale_cases() -> int:
    """Hourly: open cases older than the policy allows go to staff. Harmless to repeat."""
    return services.cases_escalate_stale()


@shared_task(acks_late=True)
def expire_manager_terms() -> int:
    """Daily: terms past their end are marked expired. Harmless to repeat."""
    return services.terms_expire()
