"""When a job's run counts as stalled (its worker died and its task never came back), for the sweeps of
both runs that fan out per category: the scoring run (``ratings.scoring``) and the eligibility run
(``ratings.eligibility``).

A run progresses when it starts, when the sweep resumes it and when one of its categories starts or
finishes. With no progress for ``JOB_STALLED_AFTER_SECONDS`` (longer than the broker's visibility
timeout plus a task's time limit, so the broker's own redelivery has had its chance) the sweep sends
its unfinished categories again, at most ``SWEEP_RESUMES`` times, then stops the run with the reason.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.db.models.functions import Coalesce, Greatest

#: How often the sweep sends a stalled run's unfinished categories again before it gives up on the run.
SWEEP_RESUMES = 3


def stalled_since(*, now: datetime, stalled_after: timedelta | None = None) -> datetime:
    """Runs whose last progress is older than this are stalled."""
    if stalled_after is None:
        stalled_after = timedelta(seconds=settings.JOB_STALLED_AFTER_SECONDS)
    return now - stalled_after


def last_progress(*category_fields: str) -> Greatest:
    """The run's last progress: its start, its last resume, the latest of these fields of its categories."""
    return Greatest(
        "started_at",
        Coalesce("resumed_at", "started_at"),
        *(Coalesce(Max(f"categories__{field}"), "started_at") for field in category_fields),
    )


def stop_reason(*, resumes: int, pending: int) -> str:
    left = (
        f"{pending} categories were not done (their workers died or their tasks were lost)"
        if pending
        else "its last step never ran"
    )
    return f"Stopped by the sweep: no progress since the run was sent again {resumes} times; {left}."
