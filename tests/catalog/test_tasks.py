"""The nightly engagement recount, inline and on a real Celery worker."""

import time
from typing import Any

import pytest

from catalog.models import Engagement, Note
from catalog.tasks import recount_note_engagement
from tests.factories import EngagementFactory, NoteFactory


def _drifted_note() -> Note:
    """A note whose stored counts disagree with its two likes and one save."""
    note = NoteFactory()
    EngagementFactory.create_batch(2, note=note, kind=Engagement.Kind.LIKE)
    EngagementFactory(note=note, kind=Engagement.Kind.SAVE)
    Note.objects.filter(pk=note.pk).update(likes_count=99, saves_count=0)
    return note


@pytest.mark.django_db
def test_recount_sets_counts_from_engagement_rows_and_a_rerun_changes_nothing() -> None:
    note, untouched = _drifted_note(), NoteFactory()

    assert recount_note_engagement.delay().get() == 1
    assert recount_note_engagement.delay().get() == 0

    note.refresh_from_db()
    untouched.refresh_from_db()
    assert (note.likes_count, note.saves_count) == (2, 1)
    assert (untouched.likes_count, untouched.saves_count) == (0, 0)


@pytest.mark.postgres
@pytest.mark.redis
def test_a_real_worker_runs_the_recount_through_redis(celery_worker: Any) -> None:
    note = _drifted_note()

    recount_note_engagement.delay()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        note.refresh_from_db()
        if note.likes_count == 2:
            break
        time.sleep(0.2)
    assert (note.likes_count, note.saves_count) == (2, 1)
