"""A full scoring run always finishes: a redelivered task continues its own run, and the sweep resumes,
completes or stops a run whose worker died (tests/faults/test_jobs_finish.py kills real workers)."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ratings import scoring, stalls
from ratings.models import ProductResult, RatingPolicy, ScoringRun, ScoringRunCategory
from ratings.tasks import run_scoring, sweep_stalled_runs
from tests.factories import ProductFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db

#: Later than any stall threshold: the run's worker is long dead.
LATER = timedelta(seconds=settings.JOB_STALLED_AFTER_SECONDS + 1)


@pytest.fixture
def three_categories() -> list[int]:
    RatingPolicy.objects.update_or_create(pk=1, defaults={"min_votes_to_publish": 2, "prior_strength": 0})
    categories = []
    for _ in range(3):
        campaign = campaign_for(ProductFactory(category=rating_ready_category()))
        votes_cast(campaign, [[4] * 5, [5] * 5])
        categories.append(campaign.category_id)
    return categories


def half_done_run(task_id: str = "") -> ScoringRun:
    """A full run that recorded its categories and scored the first, then lost its worker."""
    run, [first, *_rest] = scoring.run_start(triggered_by="nightly", task_id=task_id)
    scoring.run_category(run_id=run.pk, category_id=first)
    return run


def test_a_redelivered_scoring_task_continues_its_own_run_instead_of_starting_another(
    three_categories: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    # given: the task recorded its run and scored one category before its worker died
    run = half_done_run(task_id="the-nightly-task")

    # when the broker delivers the same task again
    with django_capture_on_commit_callbacks(execute=True):
        run_id = run_scoring.apply(("nightly",), task_id="the-nightly-task").get()

    # then
    assert run_id == run.pk
    assert ScoringRun.objects.count() == 1
    run.refresh_from_db()
    assert (run.status, run.products_scored) == (ScoringRun.Status.FINISHED, 3)
    assert ProductResult.objects.filter(is_latest=True).count() == 3


def test_a_redelivered_task_whose_run_already_finished_does_nothing(
    three_categories: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = run_scoring.apply(("nightly",), task_id="done-task").get()
    finished_at = ScoringRun.objects.get(pk=first).finished_at

    with django_capture_on_commit_callbacks(execute=True):
        again = run_scoring.apply(("nightly",), task_id="done-task").get()

    assert again == first
    assert ScoringRun.objects.get().finished_at == finished_at


def test_two_different_scoring_tasks_make_two_runs(
    three_categories: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run_scoring.apply(("nightly",))
        run_scoring.apply(("staff",))

    assert ScoringRun.objects.filter(status=ScoringRun.Status.FINISHED).count() == 2


def test_a_run_making_progress_is_not_stalled(three_categories: list[int]) -> None:
    run = half_done_run()

    assert scoring.runs_stalled(now=timezone.now() + LATER / 2) == []
    assert scoring.runs_stalled(now=timezone.now() + LATER) == [run.pk]


def test_the_sweep_sends_a_stalled_runs_unfinished_categories_again_and_the_same_run_finishes(
    three_categories: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    # given
    run = half_done_run()
    stalled_since = timezone.now()

    # when
    outcome = scoring.runs_stalled_repair(now=stalled_since + LATER)

    # then: the two categories left are sent again, once per stall period
    assert outcome.resumed == {run.pk: sorted(three_categories)[1:]}
    assert scoring.runs_stalled_repair(now=stalled_since + LATER).resumed == {}
    for category_id in outcome.resumed[run.pk]:
        scoring.run_category(run_id=run.pk, category_id=category_id)
    scoring.run_finish(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.resumes, run.products_scored) == (ScoringRun.Status.FINISHED, 1, 3)
    assert ScoringRun.objects.count() == 1


def test_the_sweep_task_enqueues_the_missing_categories_of_a_stalled_run(
    three_categories: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    run = half_done_run()
    ScoringRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - LATER)
    ScoringRunCategory.objects.filter(run=run).exclude(finished_at=None).update(finished_at=timezone.now() - LATER)

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stalled_runs.apply().get() == 1

    run.refresh_from_db()
    assert (run.status, run.resumes, run.products_scored) == (ScoringRun.Status.FINISHED, 1, 3)


def test_the_sweep_closes_a_run_whose_categories_finished_but_whose_closing_step_was_lost(
    three_categories: list[int],
) -> None:
    run, category_ids = scoring.run_start(triggered_by="nightly")
    for category_id in category_ids:
        scoring._run_category(run_id=run.pk, category_id=category_id)  # the step that closes the run never ran

    outcome = scoring.runs_stalled_repair(now=timezone.now() + LATER)

    run.refresh_from_db()
    assert outcome.completed == [run.pk]
    assert (run.status, run.products_scored, run.resumes) == (ScoringRun.Status.FINISHED, 3, 0)


def test_the_sweep_gives_up_on_a_run_that_never_progresses_and_staff_see_why(
    three_categories: list[int], staff: Any
) -> None:
    # given: a run resumed again and again with no category ever finishing
    run = half_done_run()
    now = timezone.now()
    for attempt in range(1, stalls.SWEEP_RESUMES + 1):
        now += LATER
        assert scoring.runs_stalled_repair(now=now).resumed.keys() == {run.pk}, attempt

    # when
    outcome = scoring.runs_stalled_repair(now=now + LATER)

    # then
    run.refresh_from_db()
    assert outcome.stopped == [run.pk]
    assert run.status == ScoringRun.Status.FAILED and run.finished_at is not None
    assert "Stopped by the sweep" in run.error
    assert run.categories.filter(finished_at=None).count() == 0
    assert run.categories.exclude(error="").count() == 2
    # a late category task finds nothing left to do
    assert scoring.run_category(run_id=run.pk, category_id=sorted(three_categories)[2]) is None
    client = Client()
    client.force_login(staff)
    page = client.get(reverse("admin:ratings_scoringrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert "Stopped by the sweep" in page.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_categories_of_one_run_are_scored_at_the_same_time(
    three_categories: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nightly run fans out a task per category so that more worker processes finish sooner: a category
    must not wait for another's transaction (bench/batch_workers.py measures what a second process buys)."""
    run, category_ids = scoring.run_start(triggered_by="nightly")
    first, second = category_ids[:2]
    inside, release = threading.Event(), threading.Event()
    score_category = scoring._score_category

    def held_open(**kwargs: Any) -> Any:
        outcome = score_category(**kwargs)
        if kwargs["category"].pk == first:  # the first category's transaction stays open until released
            inside.set()
            release.wait(30)
        return outcome

    monkeypatch.setattr(scoring, "_score_category", held_open)

    def score_first() -> None:
        try:
            scoring.run_category(run_id=run.pk, category_id=first)
        finally:
            connection.close()

    thread = threading.Thread(target=score_first, daemon=True)
    thread.start()
    try:
        assert inside.wait(30), "the first category did not start"
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # waiting for the first category fails instead of hanging
        outcome = scoring.run_category(run_id=run.pk, category_id=second)
        assert outcome is not None and outcome.scored == 1
        assert not ScoringRunCategory.objects.get(run=run, category_id=first).finished_at, "the first still runs"
    finally:
        release.set()
        thread.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert ScoringRunCategory.objects.filter(run=run, finished_at__isnull=False).count() == 2
