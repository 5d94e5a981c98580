import logging

from celery import shared_task

from catalog import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def recount_note_engagement() -> int:
    """Nightly: repair every note's like and save counts from the engagement rows.

    Harmless to re-run or to run twice at once: the counts are recomputed from source rows.
    """
    changed = services.notes_recount_engagement()
    logger.info("recounted engagement: %d notes changed", changed)
    return changed
