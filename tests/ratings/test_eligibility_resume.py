"""An eligibility run always finishes: a redelivered task continues its own run, and the sweep resumes
or stops a run whose worker died (tests/faults/test_jobs_finish.py kills real workers)."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ratings import eligibility, stalls
from ratings.models import Campaign, EligibilityRun, Invitation
from ratings.tasks import run_eligibility, sweep_stalled_runs
from tests.ratings.eligibility_factories import active_buyer, category_with_products, purchase, set_policy

pytestmark = pytest.mark.django_db

#: Later than any stall threshold: the run's worker is long dead.
LATER = timedelta(seconds=settings.JOB_STALLED_AFTER_SECONDS + 1)


@pytest.fixture
def two_categories() -> None:
    """Two rating-ready categories of two products each, all bought by three active buyers."""
    set_policy(max_open_invitations=10, products_per_category=2)
    products = [product for _ in range(2) for product in category_with_products(2)[1]]
    for _ in range(3):
        user = active_buyer()
        for product in products:
            purchase(user, product)


def half_done_run(task_id: str = "") -> EligibilityRun:
    """A run that recorded its categories and opened the first one's campaigns, then lost its worker."""
    plan = eligibility.run_start(triggered_by="monthly", task_id=task_id)
    first, selected = next(iter(plan.selections.items()))
    eligibility.run_category(run_id=plan.run.pk, category_id=first, selected=selected)
    return plan.run


def test_a_redelivered_eligibility_task_continues_its_own_run_instead_of_starting_another(
    two_categories: None, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    run = half_done_run(task_id="the-monthly-task")
    assert Campaign.objects.count() == 2

    # when the broker delivers the same task again
    with django_capture_on_commit_callbacks(execute=True):
        run_id = run_eligibility.apply(("monthly",), task_id="the-monthly-task").get()

    # then: the second category opens its campaigns in the same run, and everyone is invited once
    assert run_id == run.pk
    assert EligibilityRun.objects.count() == 1
    run.refresh_from_db()
    assert (run.status, run.campaigns_opened) == (EligibilityRun.Status.FINISHED, 4)
    assert Invitation.objects.count() == 4 * 3


def test_a_redelivered_task_whose_categories_are_done_sends_the_invitation_step(
    two_categories: None, django_capture_on_commit_callbacks: Any
) -> None:
    plan = eligibility.run_start(triggered_by="monthly", task_id="the-task")
    for category_id, selected in plan.selections.items():
        eligibility.run_category(run_id=plan.run.pk, category_id=category_id, selected=selected)

    with django_capture_on_commit_callbacks(execute=True):
        run_eligibility.apply(("monthly",), task_id="the-task").get()

    plan.run.refresh_from_db()
    assert plan.run.status == EligibilityRun.Status.FINISHED
    assert Invitation.objects.count() == 4 * 3


def test_the_sweep_sends_a_stalled_runs_unfinished_categories_again_and_the_same_run_finishes(
    two_categories: None, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    run = half_done_run()
    EligibilityRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - 2 * LATER)
    run.categories.update(started_at=timezone.now() - 2 * LATER)
    run.categories.exclude(finished_at=None).update(finished_at=timezone.now() - 2 * LATER)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stalled_runs.apply().get() == 1

    # then
    run.refresh_from_db()
    assert (run.status, run.resumes, run.campaigns_opened) == (EligibilityRun.Status.FINISHED, 1, 4)
    assert EligibilityRun.objects.count() == 1
    assert Invitation.objects.count() == 4 * 3


def test_a_run_making_progress_is_not_stalled(two_categories: None) -> None:
    run = half_done_run()

    assert eligibility.runs_stalled(now=timezone.now() + LATER / 2) == []
    assert eligibility.runs_stalled(now=timezone.now() + LATER) == [run.pk]


def test_the_sweep_gives_up_on_a_run_that_never_progresses_and_staff_see_why(two_categories: None, staff: Any) -> None:
    # given: a run resumed again and again with no category ever finishing
    run = half_done_run()
    now = timezone.now()
    for attempt in range(1, stalls.SWEEP_RESUMES + 1):
        now += LATER
        assert eligibility.runs_stalled_repair(now=now).resumed.keys() == {run.pk}, attempt

    # when
    outcome = eligibility.runs_stalled_repair(now=now + LATER)

    # then
    run.refresh_from_db()
    assert outcome.stopped == [run.pk]
    assert run.status == EligibilityRun.Status.FAILED and run.finished_at is not None
    assert run.campaigns_opened == 2  # what the category that finished opened
    assert "Stopped by the sweep" in run.error
    assert run.categories.filter(finished_at=None).count() == 0
    client = Client()
    client.force_login(staff)
    page = client.get(reverse("admin:ratings_eligibilityrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert "Stopped by the sweep" in page.content.decode()
