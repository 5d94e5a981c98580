"""Every task, run twice in a row or eight times at once, leaves the state one run leaves: no duplicate
result, verdict, case, campaign, invitation, inbox message or email.

Each case builds the data its task works on and returns the call. The state of one clean run is
computed first, inline, in a transaction that is rolled back; then the task runs for real.
"""

import inspect
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from celery import Task
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

import catalog.tasks
import moderation.tasks
import ratings.tasks
from catalog.models import Engagement
from moderation.models import ManagerTerm
from ratings import eligibility, open_data, scoring
from ratings.models import Campaign, FactorSurvey, ScoringRun, ScoringRunCategory, Vote
from tests.factories import EngagementFactory, NoteFactory, UserFactory, rating_ready_category
from tests.faults.conftest import (
    clean_run_state,
    differences,
    eligible_buyers,
    scored_catalogue,
    screenable_votes,
    visible_state,
)
from tests.moderation.factories import manager, note_case, vote_case
from tests.ratings.factories import votes_cast

AT_ONCE = 8

Job = Callable[[], Any]


def _call(task: Task[Any, Any], *args: Any) -> Job:
    return lambda: task.apply(args, throw=True)


# --- The cases: data for the task, then the call ---------------------------------------------------------


def _eligibility_run(*, until: str) -> tuple[int, int]:
    """One category's eligibility run taken step by step up to ``until``; returns (run id, category id)."""
    eligible_buyers(categories=1)
    plan = eligibility.run_start(triggered_by="weekly")
    [(category_id, selected)] = plan.selections.items()
    if until in ("invite", "notify", "email"):
        eligibility.run_category(run_id=plan.run.pk, category_id=category_id, selected=selected)
    if until in ("notify", "email"):
        eligibility.run_invite(run_id=plan.run.pk)
    return plan.run.pk, category_id


def run_eligibility() -> Job:
    eligible_buyers()
    return _call(ratings.tasks.run_eligibility, "weekly")


def run_category() -> Job:
    eligible_buyers(categories=1)
    plan = eligibility.run_start(triggered_by="weekly")
    [(category_id, selected)] = plan.selections.items()
    rows = [[p.product_id, p.rank, p.score, p.engagement, p.units] for p in selected]
    return _call(ratings.tasks.run_category, plan.run.pk, category_id, rows)


def invite_run() -> Job:
    run_id, _category_id = _eligibility_run(until="invite")
    return _call(ratings.tasks.invite_run, run_id)


def notify_invitations() -> Job:
    run_id, category_id = _eligibility_run(until="notify")
    return _call(ratings.tasks.notify_invitations, run_id, category_id)


def send_invitation_emails() -> Job:
    run_id, category_id = _eligibility_run(until="email")
    notification_ids = eligibility.invitations_notify(run_id=run_id, category_id=category_id)
    assert notification_ids
    return _call(ratings.tasks.send_invitation_emails, notification_ids)


def run_scoring() -> Job:
    scored_catalogue()
    return _call(ratings.tasks.run_scoring, "nightly")


def score_category() -> Job:
    scored_catalogue(categories=1)
    run, [category_id] = scoring.run_start(triggered_by="nightly")
    return _call(ratings.tasks.score_category, run.pk, category_id)


def sweep_stalled_runs() -> Job:
    scored_catalogue()
    run, [first, *_rest] = scoring.run_start(triggered_by="nightly")
    scoring.run_category(run_id=run.pk, category_id=first)
    # its worker died long ago, and its task never came back
    long_ago = timezone.now() - timedelta(seconds=2 * settings.JOB_STALLED_AFTER_SECONDS)
    ScoringRun.objects.filter(pk=run.pk).update(started_at=long_ago)
    ScoringRunCategory.objects.filter(run=run).exclude(finished_at=None).update(finished_at=long_ago)
    return _call(ratings.tasks.sweep_stalled_runs)


def _rescore_requested(*, minutes_ago: float = 0) -> Campaign:
    campaign, *_others = scored_catalogue(categories=1, products=2)
    scoring.run_all(triggered_by="setup")
    votes_cast(campaign, [[1] * 5] * 4)
    assert scoring.rescore_request(campaign_id=campaign.pk, now=timezone.now() - timedelta(minutes=minutes_ago))
    return campaign


def rescore_campaign() -> Job:
    return _call(ratings.tasks.rescore_campaign, _rescore_requested().pk)


def sweep_rescores() -> Job:
    _rescore_requested(minutes_ago=30)  # its task was lost long ago
    return _call(ratings.tasks.sweep_rescores)


def escalate_stale_cases() -> Job:
    note_case(created_at=timezone.now() - timedelta(days=10))
    note_case()
    return _call(moderation.tasks.escalate_stale_cases)


def expire_manager_terms() -> Job:
    manager()
    now = timezone.now()
    ManagerTerm.objects.create(user=UserFactory(), starts_at=now - timedelta(days=400), ends_at=now - timedelta(days=1))
    return _call(moderation.tasks.expire_manager_terms)


def screen_vote() -> Job:
    votes = screenable_votes()
    return _call(moderation.tasks.screen_vote, votes[-1].pk)  # the last vote of a ring on one phone


def screen_all_votes() -> Job:
    votes = screenable_votes()
    vote_case(votes[0])  # a vote managers are looking at already
    return _call(moderation.tasks.screen_all_votes)


def screen_category() -> Job:
    votes = screenable_votes()
    vote_case(votes[0])
    [category_id] = {vote.campaign.category_id for vote in votes}
    return _call(moderation.tasks.screen_category, category_id)


def sweep_unscreened() -> Job:
    votes = screenable_votes()
    # The ring's votes came in an hour ago and their own screening was lost.
    recent = timezone.now() - timedelta(hours=1)
    Vote.objects.filter(pk__in=[vote.pk for vote in votes[-6:]]).update(created_at=recent, submitted_at=recent)
    return _call(moderation.tasks.sweep_unscreened)


def retrain_screener() -> Job:
    screenable_votes()
    return _call(moderation.tasks.retrain_screener)


def release_open_data() -> Job:
    """Last month's counted votes: the month is released once, however many workers build it."""
    scored_catalogue(categories=1, products=2, voters=6)
    start, end = open_data.Month.previous().bounds()
    middle = start + (end - start) / 2
    Vote.objects.update(verdict=Vote.Verdict.COUNTED, created_at=middle, submitted_at=middle)
    return _call(ratings.tasks.release_open_data)


def close_due_surveys() -> Job:
    """Two surveys past their closing time and one still running: each due one closes once."""
    now = timezone.now()
    for closes in (now - timedelta(hours=2), now - timedelta(minutes=1), now + timedelta(days=3)):
        FactorSurvey.objects.create(
            category=rating_ready_category(),
            status=FactorSurvey.Status.OPEN,
            opens_at=now - timedelta(days=14),
            closes_at=closes,
        )
    return _call(ratings.tasks.close_due_surveys)


def recount_note_engagement() -> Job:
    for likes, saves in [(3, 1), (0, 2), (1, 0)]:
        note = NoteFactory()
        for _ in range(likes):
            EngagementFactory(note=note, kind=Engagement.Kind.LIKE)
        for _ in range(saves):
            EngagementFactory(note=note, kind=Engagement.Kind.SAVE)
    return _call(catalog.tasks.recount_note_engagement)


CASES: dict[str, Callable[[], Job]] = {
    f"{module}.{case.__name__}": case
    for module, cases in [
        (
            "ratings.tasks",
            [
                run_eligibility,
                run_category,
                invite_run,
                notify_invitations,
                send_invitation_emails,
                run_scoring,
                score_category,
                sweep_stalled_runs,
                rescore_campaign,
                sweep_rescores,
                release_open_data,
                close_due_surveys,
            ],
        ),
        (
            "moderation.tasks",
            [
                escalate_stale_cases,
                expire_manager_terms,
                screen_vote,
                screen_all_votes,
                screen_category,
                sweep_unscreened,
                retrain_screener,
            ],
        ),
        ("catalog.tasks", [recount_note_engagement]),
    ]
    for case in cases
}


def test_every_task_has_a_case_here() -> None:
    tasks = {
        f"{module.__name__}.{name}"
        for module in (ratings.tasks, moderation.tasks, catalog.tasks)
        for name, member in inspect.getmembers(module)
        if isinstance(member, Task) and member.name.startswith(module.__name__)
    }
    assert tasks - set(CASES) == set()


# --- Running them ----------------------------------------------------------------------------------------


def run_at_once(job: Job, count: int = AT_ONCE) -> list[BaseException]:
    """Run ``job`` in ``count`` threads released together, each on its own connection; return the errors."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def target() -> None:
        try:
            barrier.wait(timeout=30)
            job()
        except BaseException as error:  # noqa: BLE001 - collected and asserted on in the test
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a task is still running after two minutes"
    return errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", CASES)
def test_a_task_run_twice_in_a_row_leaves_the_state_of_one_run(case: str) -> None:
    # given
    job = CASES[case]()
    expected = clean_run_state(job)

    # when
    job()
    job()

    # then
    actual = visible_state()
    assert actual == expected, differences(actual, expected)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", CASES)
def test_a_task_run_eight_times_at_once_leaves_the_state_of_one_run(case: str) -> None:
    # given
    job = CASES[case]()
    expected = clean_run_state(job)
    mail.outbox = []

    # when
    errors = run_at_once(job)

    # then
    actual = visible_state()
    assert (errors, differences(actual, expected)) == ([], {})
