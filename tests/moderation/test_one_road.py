"""One road per decision: decided content is appealed, never re-judged on a report; a report never shields a
vote from screening, and a reported vote is held while its case is open."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from moderation import screening, services
from moderation.models import Case, Report, VoteScreening
from ratings.models import Vote
from tests.factories import NoteFactory, ProductFactory, UserFactory, rating_ready_category
from tests.moderation.factories import RuleFactory, manager, note_case, vote_case
from tests.moderation.test_screening import shampoo_with_a_ring  # noqa: F401 - a fixture
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


def _decide(case: Case, choice: str) -> None:
    for _ in range(5):
        services.vote_cast(manager=manager(), case_id=case.pk, choice=choice)


def _rating(comment: str = "加我微信买便宜货") -> Vote:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    [vote] = votes_cast(campaign, [[4] * 5], comment=comment)
    return vote


def test_a_report_of_decided_content_joins_its_record_and_opens_no_case() -> None:
    vote = _rating()
    case = vote_case(vote)
    _decide(case, "violates")

    joined = services.report_submit(reporter=UserFactory(), rule=RuleFactory(), vote=vote, comment="still an ad")

    assert joined.pk == case.pk and joined.status == Case.Status.DECIDED
    assert Case.objects.filter(vote=vote).count() == 1
    assert Report.objects.get(case=case).comment == "still an ad"
    vote.refresh_from_db()
    assert vote.verdict == Vote.Verdict.EXCLUDED  # nobody can re-judge it by reporting it


def test_a_decision_that_content_complies_cannot_be_reopened_by_reports_either() -> None:
    note = NoteFactory()
    case = note_case(note=note)
    _decide(case, "complies")

    for _ in range(3):
        services.report_submit(reporter=UserFactory(), rule=RuleFactory(), note=note)

    case.refresh_from_db()
    assert Case.objects.filter(note=note).count() == 1
    assert (case.status, case.outcome, case.reports_count) == (Case.Status.DECIDED, Case.Outcome.COMPLIES, 3)
    assert not Case.objects.filter(status=Case.Status.OPEN).exists()


def test_the_reporter_is_told_the_content_was_already_decided(client: Client) -> None:
    vote = _rating()
    _decide(vote_case(vote), "complies")
    client.force_login(UserFactory())

    response = client.post(
        reverse("moderation:report", args=["rating", vote.pk]),
        {"rule": RuleFactory().pk, "comment": "again"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert "already decided" in response.content.decode()
    assert "Ecosystem managers will look at it" not in response.content.decode()


def test_staff_see_the_reports_that_arrived_after_the_decision(staff: Any) -> None:
    vote = _rating()
    case = vote_case(vote)
    _decide(case, "complies")
    services.report_submit(reporter=UserFactory(), rule=RuleFactory(), vote=vote, comment="reported late")
    client = Client()
    client.force_login(staff)

    page = client.get(reverse("admin:moderation_case_change", args=[case.pk]))

    assert page.status_code == 200 and "reported late" in page.content.decode()


def test_a_vote_amended_after_its_decision_can_be_reported_afresh() -> None:
    vote = _rating()
    case = vote_case(vote)
    _decide(case, "complies")
    Vote.objects.filter(pk=vote.pk).update(comment="new words", amended_at=timezone.now())
    vote.refresh_from_db()

    fresh = services.report_submit(reporter=UserFactory(), rule=RuleFactory(), vote=vote)

    assert fresh.pk != case.pk and fresh.status == Case.Status.OPEN


def test_a_reported_vote_is_held_while_its_case_is_open_and_counts_again_when_cleared() -> None:
    vote = _rating()

    case = services.report_submit(reporter=UserFactory(), rule=RuleFactory(), vote=vote)
    vote.refresh_from_db()
    assert vote.verdict == Vote.Verdict.REVIEW

    _decide(case, "complies")
    vote.refresh_from_db()
    assert vote.verdict == Vote.Verdict.COUNTED


def test_a_report_does_not_shield_a_ring_vote_from_screening(shampoo_with_a_ring: Any) -> None:  # noqa: F811
    _target, genuine, ring = shampoo_with_a_ring
    reported_ring = services.report_submit(reporter=UserFactory(), rule=RuleFactory(), vote=ring[0])
    reported_genuine = services.report_submit(reporter=UserFactory(), rule=RuleFactory(), vote=genuine[0])

    screening.votes_screen()

    ring[0].refresh_from_db()
    genuine[0].refresh_from_db()
    assert VoteScreening.objects.get(vote=ring[0]).verdict != VoteScreening.Verdict.COUNTED
    assert ring[0].verdict != Vote.Verdict.COUNTED
    assert Case.objects.get(pk=reported_ring.pk).evidence["reasons"]  # managers see what screening saw
    # a genuine vote screening would count is still held while its case is open
    assert VoteScreening.objects.get(vote=genuine[0]).verdict == VoteScreening.Verdict.COUNTED
    assert genuine[0].verdict == Vote.Verdict.REVIEW
    assert Case.objects.get(pk=reported_genuine.pk).status == Case.Status.OPEN


def test_screening_never_counts_a_vote_whose_case_is_still_open(shampoo_with_a_ring: Any) -> None:  # noqa: F811
    _target, genuine, _ring = shampoo_with_a_ring
    case = vote_case(genuine[1])
    # a vote counted although its case is open (as reports left them before votes were held)
    assert Vote.objects.get(pk=genuine[1].pk).verdict == Vote.Verdict.COUNTED

    screening.votes_screen()

    assert Vote.objects.get(pk=genuine[1].pk).verdict == Vote.Verdict.REVIEW
    _decide(case, "complies")
    assert Vote.objects.get(pk=genuine[1].pk).verdict == Vote.Verdict.COUNTED


def test_a_report_of_a_rating_screening_excluded_joins_that_decision_for_its_author_to_appeal() -> None:
    vote = _rating()
    Vote.objects.filter(pk=vote.pk).update(verdict="excluded", exclusion_reason="screening")
    services.screening_exclusions_record(
        rule=screening.screening_rule(), excluded=[(vote.pk, vote.user_id, {"reasons": []})]
    )

    joined = services.report_submit(reporter=UserFactory(), rule=RuleFactory(), vote=vote)

    assert joined.decided_by == Case.DecidedBy.SCREENING and joined.status == Case.Status.DECIDED
    assert not Case.objects.filter(vote=vote, status=Case.Status.OPEN).exists()
