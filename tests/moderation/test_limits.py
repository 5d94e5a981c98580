"""Limits that hold under pressure: reports per account per day, young accounts' reports weigh less, the
managers' daily cap even for parallel votes, and report pages that show nothing of held or excluded ratings."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from moderation import services
from moderation.models import Case, ManagerVote, ModerationPolicy, Report
from ratings.models import Vote
from tests.factories import NoteFactory, ProductFactory, UserFactory, rating_ready_category
from tests.moderation.factories import RuleFactory, manager, note_case
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


def _old_account() -> Any:
    return UserFactory(date_joined=timezone.now() - timedelta(days=400))


def _at_once(calls: list[Callable[[], Any]]) -> list[BaseException]:
    """Run the calls in threads released together, one database connection each; return their errors."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            with translation.override("en"):  # the language is per thread
                call()
        except BaseException as error:  # noqa: BLE001 - collected for the assertions
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_an_account_sends_at_most_the_policys_reports_in_a_day() -> None:
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"reports_per_day": 3})
    reporter, rule = UserFactory(), RuleFactory()
    for _ in range(3):
        services.report_submit(reporter=reporter, rule=rule, note=NoteFactory())

    with pytest.raises(services.ModerationError, match="24 hours"):
        services.report_submit(reporter=reporter, rule=rule, note=NoteFactory())
    assert Case.objects.count() == 3

    # a day later they may report again
    Report.objects.filter(reporter=reporter).update(created_at=timezone.now() - timedelta(hours=25))
    services.report_submit(reporter=reporter, rule=rule, note=NoteFactory())
    assert Case.objects.count() == 4


def test_reports_from_accounts_younger_than_the_entry_bar_raise_priority_less() -> None:
    rule = RuleFactory()
    by_young, by_old = NoteFactory(), NoteFactory()
    for _ in range(3):
        services.report_submit(reporter=UserFactory(), rule=rule, note=by_young)
        services.report_submit(reporter=_old_account(), rule=rule, note=by_old)

    young = Case.objects.get(note=by_young)
    old = Case.objects.get(note=by_old)
    assert young.reports_count == old.reports_count == 3
    assert young.priority < old.priority
    assert [case.pk for case in Case.objects.filter(status=Case.Status.OPEN)] == [old.pk, young.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_votes_from_one_manager_cannot_pass_the_daily_cap() -> None:
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 2})
    judge = manager()
    cases = [note_case() for _ in range(12)]

    errors = _at_once(
        [lambda case=case: services.vote_cast(manager=judge, case_id=case.pk, choice="skip") for case in cases]
    )

    assert ManagerVote.objects.filter(manager=judge).count() == 2
    assert len(errors) == 10 and all("limit" in str(error) for error in errors)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_reports_from_one_account_cannot_pass_the_daily_limit() -> None:
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"reports_per_day": 3})
    reporter, rule = UserFactory(), RuleFactory()
    notes = [NoteFactory() for _ in range(10)]

    errors = _at_once(
        [lambda note=note: services.report_submit(reporter=reporter, rule=rule, note=note) for note in notes]
    )

    assert Report.objects.filter(reporter=reporter).count() == 3
    assert len(errors) == 7 and all("24 hours" in str(error) for error in errors)


@pytest.mark.parametrize("verdict", [Vote.Verdict.REVIEW, Vote.Verdict.EXCLUDED])
def test_the_report_page_of_a_held_or_excluded_rating_shows_nothing_of_it(client: Client, verdict: str) -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category(), name_en="Secret Shampoo"))
    [vote] = votes_cast(campaign, [[1] * 5], comment="the words nobody should read")
    Vote.objects.filter(pk=vote.pk).update(
        verdict=verdict, exclusion_reason="moderation" if verdict == Vote.Verdict.EXCLUDED else ""
    )
    client.force_login(UserFactory())

    page = client.get(reverse("moderation:report", args=["rating", vote.pk]), HTTP_ACCEPT_LANGUAGE="en")
    sent = client.post(reverse("moderation:report", args=["rating", vote.pk]), {"rule": RuleFactory().pk})

    html = page.content.decode()
    assert page.status_code == 404 and sent.status_code == 404
    assert "the words nobody should read" not in html
    assert vote.user.public_name not in html and "Secret Shampoo" not in html
    assert not Report.objects.exists()
