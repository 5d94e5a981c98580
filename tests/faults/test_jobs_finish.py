"""Jobs that finish: a full scoring run whose worker dies after recording the run is finished, as the
same run, by the task delivered again or, when the task never comes back, by the sweep; so is an
eligibility run whose category task never comes back.

The run's task is stopped where the run and its categories are committed and no category has been
sent yet: it waits to close expired campaigns, on a lock the test holds on the campaign table. Then
the pool child or the whole worker is SIGKILLed, as in test_worker_killed.py. Before runs were keyed
on their task, the redelivered task started a second run and the first stayed "running" for ever.
"""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

from catalog.models import Product
from ratings.models import EligibilityRun, EligibilityRunCategory, ScoringRun
from ratings.tasks import run_eligibility, run_scoring, sweep_stalled_runs
from tests.faults.conftest import (
    GENEROUS_LIMITS,
    Worker,
    backends_gone,
    clean_run_state,
    eligible_buyers,
    scored_catalogue,
    table_locked,
    visible_state,
    wait_for,
)
from tests.faults.test_worker_killed import (
    EITHER_KILL,
    JOB_TIMEOUT,
    assert_as_one_clean_run,
    kill_mid_job,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

#: Where the run is recorded and no category is sent yet: closing expired campaigns as of its cut-off.
AFTER_THE_RUN_IS_RECORDED = "ratings_campaign"
#: Longer ago than a run may go without progress.
LONG_AGO = 2 * timedelta(seconds=settings.JOB_STALLED_AFTER_SECONDS)


def the_full_run_finished() -> bool:
    return ScoringRun.objects.filter(kind=ScoringRun.Kind.FULL, status=ScoringRun.Status.FINISHED).exists()


def forget_unacked(broker_url: str, queue: str) -> None:
    """Drop the dead worker's unacknowledged messages for ``queue`` from the broker, so they do not come
    back after the test to a queue nobody reads."""
    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        for tag, raw in client.hgetall("unacked").items():
            _message, _exchange, routing_key = json.loads(raw)
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()


@EITHER_KILL
def test_a_scoring_run_whose_worker_died_after_recording_it_is_finished_as_the_same_run(
    worker: Worker, how: str
) -> None:
    # given
    scored_catalogue(categories=3, products=2)
    expected = clean_run_state(lambda: run_scoring.apply(("nightly",)))

    # when: the worker dies with the run recorded and none of its categories sent
    kill_mid_job(worker, how, table=AFTER_THE_RUN_IS_RECORDED, send=lambda: run_scoring.delay("nightly"))

    # then: the task delivered again finishes that run; no second run
    wait_for(the_full_run_finished, timeout=JOB_TIMEOUT, what="the scoring run to finish", detail=worker.log_tail)
    runs = list(ScoringRun.objects.filter(kind=ScoringRun.Kind.FULL))
    assert len(runs) == 1, f"{len(runs)} runs: the task delivered again started another\n{worker.log_tail()}"
    [run] = runs
    assert (run.status, run.products_scored, run.resumes) == (ScoringRun.Status.FINISHED, Product.objects.count(), 0)
    assert_as_one_clean_run(expected, worker)


@pytest.mark.parametrize("worker", [GENEROUS_LIMITS], indirect=True)
def test_a_scoring_run_whose_task_never_came_back_is_finished_by_the_sweep(worker: Worker, new_worker: Any) -> None:
    # given
    scored_catalogue(categories=3, products=2)
    expected = clean_run_state(lambda: run_scoring.apply(("nightly",)))

    # when: the whole worker dies after recording the run; the broker holds its task for the visibility
    # timeout (longer than this test), so for the run the task never comes back
    with table_locked(AFTER_THE_RUN_IS_RECORDED) as lock:
        run_scoring.delay("nightly")
        waiting = lock.wait_for_waiter()
        worker.kill_everything()
    wait_for(lambda: backends_gone(waiting), timeout=20, what="the killed task's backend to go")
    replacement = new_worker(limits=GENEROUS_LIMITS)
    [run] = ScoringRun.objects.filter(status=ScoringRun.Status.RUNNING)
    assert run.categories.filter(finished_at=None).count() == 3
    # ... and the run has made no progress for longer than the sweep waits
    ScoringRun.objects.filter(pk=run.pk).update(started_at=run.started_at - LONG_AGO)
    # (an eager result: nothing waits on a worker; an earlier in-process worker leaves Celery's guard set)
    assert sweep_stalled_runs.apply().get(disable_sync_subtasks=False) == 1

    # then: the sweep sent the categories again and the same run finished
    try:
        wait_for(
            the_full_run_finished, timeout=JOB_TIMEOUT, what="the swept run to finish", detail=replacement.log_tail
        )
        [finished] = ScoringRun.objects.filter(kind=ScoringRun.Kind.FULL)
        assert (finished.pk, finished.resumes, finished.products_scored) == (run.pk, 1, Product.objects.count())
        assert_as_one_clean_run(expected, replacement)
    finally:
        forget_unacked(worker.broker_url, worker.queue)


@pytest.mark.parametrize("worker", [GENEROUS_LIMITS], indirect=True)
def test_an_eligibility_run_whose_category_task_never_came_back_is_finished_by_the_sweep(
    worker: Worker, new_worker: Any
) -> None:
    # given
    eligible_buyers(categories=2)
    expected = clean_run_state(lambda: run_eligibility.apply(("monthly",)))
    assert expected["campaigns"] and expected["invitations"]

    # when: the whole worker dies while a category's campaigns are being opened; a new worker does the
    # other category, and the broker holds the dead worker's task past the end of the test
    with table_locked("ratings_campaignfactor") as lock:
        run_eligibility.delay("monthly")
        waiting = lock.wait_for_waiter()
        worker.kill_everything()
    wait_for(lambda: backends_gone(waiting), timeout=20, what="the killed task's backend to go")
    replacement = new_worker(limits=GENEROUS_LIMITS)
    [run] = EligibilityRun.objects.all()
    wait_for(
        lambda: run.categories.filter(finished_at=None).count() == 1,
        timeout=JOB_TIMEOUT,
        what="the other category to be done",
        detail=replacement.log_tail,
    )
    assert EligibilityRun.objects.get().status == EligibilityRun.Status.RUNNING  # stuck: one category never ends
    EligibilityRun.objects.filter(pk=run.pk).update(started_at=run.started_at - LONG_AGO)
    EligibilityRunCategory.objects.filter(run=run).update(started_at=run.started_at - LONG_AGO)
    EligibilityRunCategory.objects.filter(run=run).exclude(finished_at=None).update(
        finished_at=run.started_at - LONG_AGO
    )
    # (an eager result: nothing waits on a worker; an earlier in-process worker leaves Celery's guard set)
    assert sweep_stalled_runs.apply().get(disable_sync_subtasks=False) == 1

    # then: the sweep sent the category again; the same run opened it, invited and told the invited
    try:

        def finished() -> bool:
            done = EligibilityRun.objects.filter(pk=run.pk, status=EligibilityRun.Status.FINISHED).exists()
            return done and len(visible_state()["inbox"]) >= len(expected["inbox"])

        wait_for(finished, timeout=JOB_TIMEOUT, what="the swept run to finish", detail=replacement.log_tail)
        assert EligibilityRun.objects.get().resumes == 1
        assert_as_one_clean_run(expected, replacement)
    finally:
        forget_unacked(worker.broker_url, worker.queue)
