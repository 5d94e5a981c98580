"""Every author told, every decision appealable: screening's exclusions reach the inbox with readable reasons
and one appeal; appeal answers are told; the decision page says who decided; the majority is an exact fraction."""

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Notification
from moderation import screening, services
from moderation.models import Appeal, Case, ModerationPolicy
from ratings.models import Vote
from tests.factories import NoteFactory, ProductFactory, rating_ready_category
from tests.moderation.factories import manager, note_case, vote_case
from tests.moderation.test_screening import shampoo_with_a_ring  # noqa: F401 - a fixture
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


def _excluded_by_screening(ring: list[Vote]) -> Vote:
    screening.votes_screen()
    return Vote.objects.filter(
        pk__in=[vote.pk for vote in ring], verdict=Vote.Verdict.EXCLUDED, exclusion_reason="screening"
    ).first()


def _english(client: Client, url: str, **kwargs: Any) -> str:
    return client.get(url, HTTP_ACCEPT_LANGUAGE="en", **kwargs).content.decode()


def test_a_rating_excluded_by_screening_tells_its_author_why_with_one_appeal(
    client: Client,
    shampoo_with_a_ring: Any,  # noqa: F811
) -> None:
    _target, _genuine, ring = shampoo_with_a_ring

    vote = _excluded_by_screening(ring)

    case = Case.objects.get(vote=vote, decided_by=Case.DecidedBy.SCREENING)
    assert (case.status, case.outcome, case.source) == (Case.Status.DECIDED, "violates", Case.Source.SCREENING)
    client.force_login(vote.user)
    inbox = _english(client, reverse("accounts:inbox"))
    page = _english(client, reverse("moderation:decision", args=[case.pk]))
    assert (
        "Automatic screening stopped counting your rating" in inbox
        and reverse("moderation:decision", args=[case.pk]) in inbox
    )
    assert "automatic screening stopped counting your rating" in page
    assert "accounts on one device rated this product" in page  # the reasons, as sentences
    assert "Appeal once, to staff" in page and "ecosystem managers found" not in page


def test_screening_again_tells_nobody_twice_and_its_own_decisions_teach_it_nothing(
    shampoo_with_a_ring: Any,  # noqa: F811
) -> None:
    _target, _genuine, ring = shampoo_with_a_ring
    _excluded_by_screening(ring)
    told = Notification.objects.filter(kind="decision").count()

    screening.votes_screen()
    model = screening.screener_train()

    assert told >= 1 and Notification.objects.filter(kind="decision").count() == told
    assert model.labelled_votes == 0  # screening must not learn from itself


def test_staff_overturning_an_appealed_screening_exclusion_counts_the_vote_for_good(
    staff: Any,
    shampoo_with_a_ring: Any,  # noqa: F811
) -> None:
    _target, _genuine, ring = shampoo_with_a_ring
    vote = _excluded_by_screening(ring)
    case = Case.objects.get(vote=vote, decided_by=Case.DecidedBy.SCREENING)

    appeal = services.appeal_submit(author=vote.user, case_id=case.pk, reason="I really bought and used it.")
    with pytest.raises(services.ModerationError, match="already"):
        services.appeal_submit(author=vote.user, case_id=case.pk, reason="again")
    services.appeal_resolve(appeal=appeal, staff=staff, overturn=True)
    screening.votes_screen()

    vote.refresh_from_db()
    case.refresh_from_db()
    assert vote.verdict == Vote.Verdict.COUNTED  # staff have the last word, over the model
    assert (case.outcome, case.decided_by) == ("complies", Case.DecidedBy.STAFF)


@pytest.mark.parametrize(("overturn", "told"), [(True, "your content is back"), (False, "upheld the decision")])
def test_the_answer_to_an_appeal_reaches_the_authors_inbox(
    client: Client, staff: Any, overturn: bool, told: str
) -> None:
    case = note_case()
    for _ in range(5):
        services.vote_cast(manager=manager(), case_id=case.pk, choice="violates")
    author = case.note.author
    appeal = services.appeal_submit(author=author, case_id=case.pk, reason="It was a joke.")

    services.appeal_resolve(appeal=appeal, staff=staff, overturn=overturn)

    answer = Notification.objects.get(user=author, kind="appeal")
    assert answer.subject_id == appeal.pk and answer.url == reverse("moderation:decision", args=[case.pk])
    client.force_login(author)
    assert told in _english(client, reverse("accounts:inbox"))
    assert Appeal.objects.get().get_status_display() in _english(client, answer.url)


def test_the_decision_page_says_whether_managers_or_staff_decided(client: Client, staff: Any) -> None:
    by_managers, by_staff = note_case(), note_case()
    for _ in range(5):
        services.vote_cast(manager=manager(), case_id=by_managers.pk, choice="violates")
    services.decision_apply(case=by_staff, outcome=Case.Outcome.VIOLATES, staff=staff)

    pages = {}
    for case in (by_managers, by_staff):
        case.refresh_from_db()
        client.force_login(case.note.author)
        pages[case.decided_by] = _english(client, reverse("moderation:decision", args=[case.pk]))

    assert "ecosystem managers found" in pages[Case.DecidedBy.MANAGERS]
    assert "staff found" in pages[Case.DecidedBy.STAFF]
    assert "ecosystem managers" not in pages[Case.DecidedBy.STAFF]


def test_two_votes_of_three_are_the_two_thirds_majority_exactly() -> None:
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"quorum": 3})
    case = note_case(note=NoteFactory())

    for choice in ("violates", "complies", "violates"):
        services.vote_cast(manager=manager(), case_id=case.pk, choice=choice)

    case.refresh_from_db()
    policy = ModerationPolicy.objects.get()
    assert (policy.majority_numerator, policy.majority_denominator) == (2, 3)
    assert (case.status, case.outcome, case.decided_by) == (Case.Status.DECIDED, "violates", "managers")


def test_a_majority_that_is_no_majority_is_refused_by_the_database() -> None:
    policy = services.policy_get()
    for numerator, denominator in ((1, 2), (4, 3)):
        policy.majority_numerator, policy.majority_denominator = numerator, denominator
        with pytest.raises(IntegrityError), transaction.atomic():
            policy.save()


def test_managers_clearing_a_rating_screening_excluded_clear_screenings_decision_too(client: Client) -> None:
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    [vote] = votes_cast(campaign, [[5] * 5], comment="honest words")
    Vote.objects.filter(pk=vote.pk).update(verdict="excluded", exclusion_reason="screening")
    services.screening_exclusions_record(
        rule=screening.screening_rule(), excluded=[(vote.pk, vote.user_id, {"reasons": []})]
    )
    by_screening = Case.objects.get(vote=vote, decided_by=Case.DecidedBy.SCREENING)
    before_managers = vote_case(vote, source=Case.Source.STAFF)  # staff put it before managers

    for _ in range(5):
        services.vote_cast(manager=manager(), case_id=before_managers.pk, choice="complies")

    by_screening.refresh_from_db()
    assert Vote.objects.get(pk=vote.pk).verdict == Vote.Verdict.COUNTED
    assert by_screening.outcome == Case.Outcome.COMPLIES
    client.force_login(vote.user)
    assert "counts again" in _english(client, reverse("moderation:decision", args=[by_screening.pk]))
