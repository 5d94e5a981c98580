"""A worker killed in the middle of a job: the job completes after restart, as if it had run once, cleanly.

Each test holds a table lock so the task blocks inside its transaction, waits until PostgreSQL shows
it waiting, SIGKILLs the pool child (the main process requeues the task at once) or the whole worker
(the broker hands the task out again after its visibility timeout, to a new worker), then releases
the lock: the killed task's orphaned backend gets it, cannot answer its dead client and rolls back.
The final state is compared with the state one clean inline run leaves (computed beforehand in a
transaction that was rolled back).
"""

from collections.abc import Callable
from typing import Any

import pytest

from moderation.models import VoteScreening
from moderation.tasks import screen_all_votes, screen_vote
from ratings import scoring
from ratings.models import Campaign, EligibilityRun, ScoringRun
from ratings.tasks import rescore_campaign, run_eligibility, run_scoring
from tests.faults.conftest import (
    GENEROUS_LIMITS,
    SHORT_LIMITS,
    Worker,
    all_runs_closed,
    backends_gone,
    clean_run_state,
    differences,
    eligible_buyers,
    lenient_policy,
    scored_catalogue,
    screenable_votes,
    table_locked,
    visible_state,
    wait_for,
    wait_out_visibility_timeout,
)
from tests.ratings.factories import votes_cast

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

POOL_CHILD = "pool child"
WHOLE_WORKER = "whole worker"
#: Both ways to die; a test that kills the whole worker gives it a short visibility timeout.
EITHER_KILL = pytest.mark.parametrize(
    ("worker", "how"),
    [
        pytest.param(GENEROUS_LIMITS, POOL_CHILD, id=POOL_CHILD),
        pytest.param(SHORT_LIMITS, WHOLE_WORKER, id=WHOLE_WORKER),
    ],
    indirect=["worker"],
)
#: Longest wait for a job to finish after the worker is back (it takes a second or two).
JOB_TIMEOUT = 60


def kill_mid_job(worker: Worker, how: str = POOL_CHILD, *, table: str, send: Callable[[], Any]) -> None:
    """Send the job, SIGKILL ``how`` while its task waits on ``table``, and bring the worker back."""
    with table_locked(table) as lock:
        send()
        waiting = lock.wait_for_waiter()
        if how == POOL_CHILD:
            worker.kill_pool_child()
        else:
            worker.kill_everything()
    # The lock is released: the orphaned backend gets it, fails to answer and rolls back.
    wait_for(lambda: backends_gone(waiting), timeout=20, what="the killed task's backend to roll back")
    if how == WHOLE_WORKER:
        wait_out_visibility_timeout(worker)
        worker.start()


def assert_as_one_clean_run(expected: dict[str, Any], worker: Worker) -> None:
    # The worker's emails go to its console, not to this process's outbox.
    expected = {key: value for key, value in expected.items() if key != "emails"}
    actual = {key: value for key, value in visible_state().items() if key != "emails"}
    assert actual == expected, f"{differences(actual, expected)}\nworker log:\n{worker.log_tail()}"
    assert all_runs_closed() == {"scoring": [], "eligibility": []}


def full_scoring_done() -> bool:
    runs = ScoringRun.objects.filter(kind=ScoringRun.Kind.FULL)
    return runs.exists() and not runs.filter(status=ScoringRun.Status.RUNNING).exists()


@EITHER_KILL
def test_scoring_killed_inside_a_category_completes_after_restart_as_one_clean_run(worker: Worker, how: str) -> None:
    # given
    scored_catalogue()
    expected = clean_run_state(lambda: run_scoring.apply(("nightly",)))

    # when
    kill_mid_job(worker, how, table="ratings_productresult", send=lambda: run_scoring.delay("nightly"))

    # then
    wait_for(full_scoring_done, timeout=JOB_TIMEOUT, what="the scoring run to finish", detail=worker.log_tail)
    assert ScoringRun.objects.get(kind=ScoringRun.Kind.FULL).status == ScoringRun.Status.FINISHED
    assert_as_one_clean_run(expected, worker)


def test_scoring_killed_while_recording_its_run_leaves_no_run_that_never_ends(worker: Worker) -> None:
    # given
    scored_catalogue(categories=1)
    expected = clean_run_state(lambda: run_scoring.apply(("nightly",)))

    # when: the run row is written, its categories are not yet
    kill_mid_job(worker, POOL_CHILD, table="ratings_scoringruncategory", send=lambda: run_scoring.delay("nightly"))

    # then
    wait_for(
        lambda: ScoringRun.objects.filter(status=ScoringRun.Status.FINISHED).exists(),
        timeout=JOB_TIMEOUT,
        what="a scoring run to finish",
        detail=worker.log_tail,
    )
    assert_as_one_clean_run(expected, worker)


def test_a_product_rescore_killed_mid_write_completes_after_restart(worker: Worker) -> None:
    # given: scored products, then new votes on one of them and its re-score requested
    campaign, *_others = scored_catalogue(categories=1, products=2)
    scoring.run_all(triggered_by="setup")
    votes_cast(campaign, [[1] * 5] * 4)
    assert scoring.rescore_request(campaign_id=campaign.pk)
    expected = clean_run_state(lambda: rescore_campaign.apply((campaign.pk,)))

    # when
    kill_mid_job(worker, POOL_CHILD, table="ratings_productresult", send=lambda: rescore_campaign.delay(campaign.pk))

    # then
    wait_for(
        lambda: (
            not Campaign.objects.filter(pk=campaign.pk, rescore_requested_at__isnull=False).exists()
            and ScoringRun.objects.filter(kind=ScoringRun.Kind.PRODUCT, status=ScoringRun.Status.FINISHED).exists()
        ),
        timeout=JOB_TIMEOUT,
        what="the re-score to finish",
        detail=worker.log_tail,
    )
    assert_as_one_clean_run(expected, worker)
    assert ScoringRun.objects.filter(kind=ScoringRun.Kind.PRODUCT).count() == 1


def screening_settled(count: int) -> bool:
    """Every vote screened and every re-score it asked for done."""
    return (
        VoteScreening.objects.count() >= count
        and not Campaign.objects.filter(rescore_requested_at__isnull=False).exists()
        and not ScoringRun.objects.filter(status=ScoringRun.Status.RUNNING).exists()
    )


@EITHER_KILL
def test_the_screening_batch_killed_mid_write_completes_after_restart_as_one_clean_run(
    worker: Worker, how: str
) -> None:
    # given: re-scores run as soon as screening asks (no debounce), so the final state is settled
    votes = screenable_votes()
    lenient_policy(rescore_delay_seconds=0)
    expected = clean_run_state(lambda: screen_all_votes.apply())
    assert any(verdict != "counted" for _vote, verdict, _score in expected["screenings"])

    # when
    kill_mid_job(worker, how, table="moderation_votescreening", send=lambda: screen_all_votes.delay())

    # then
    wait_for(
        lambda: screening_settled(len(votes)),
        timeout=JOB_TIMEOUT,
        what="the screening to settle",
        detail=worker.log_tail,
    )
    assert_as_one_clean_run(expected, worker)


def test_screening_one_vote_killed_mid_write_completes_after_restart(worker: Worker) -> None:
    # given: the last vote of the ring on one phone
    votes = screenable_votes()
    lenient_policy(rescore_delay_seconds=0)
    vote = votes[-1]
    expected = clean_run_state(lambda: screen_vote.apply((vote.pk,)))
    assert [row for row in expected["screenings"] if row[0] == vote.pk]

    # when
    kill_mid_job(worker, POOL_CHILD, table="moderation_votescreening", send=lambda: screen_vote.delay(vote.pk))

    # then
    wait_for(
        lambda: screening_settled(1), timeout=JOB_TIMEOUT, what="the vote's screening to settle", detail=worker.log_tail
    )
    assert_as_one_clean_run(expected, worker)


@EITHER_KILL
def test_eligibility_killed_while_opening_campaigns_completes_after_restart_as_one_clean_run(
    worker: Worker, how: str
) -> None:
    # given
    eligible_buyers()
    expected = clean_run_state(lambda: run_eligibility.apply(("weekly",)))
    assert expected["campaigns"] and expected["invitations"] and expected["inbox"]

    # when: the category's campaigns are inserted, its frozen factors wait
    kill_mid_job(worker, how, table="ratings_campaignfactor", send=lambda: run_eligibility.delay("weekly"))

    # then
    def finished() -> bool:
        run = EligibilityRun.objects.filter(status=EligibilityRun.Status.FINISHED).first()
        return run is not None and len(visible_state()["inbox"]) >= len(expected["inbox"])

    wait_for(
        finished, timeout=JOB_TIMEOUT, what="the eligibility run to finish and tell the invited", detail=worker.log_tail
    )
    assert_as_one_clean_run(expected, worker)
