"""Terms with memory: a revoked or suspended manager waits before retaking the test; an accepted audit dispute
recomputes accuracy and lifts a suspension it no longer justifies, never a staff revocation."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from moderation import services
from moderation.models import Choice, ManagerTerm, ManagerVote, ModerationPolicy, TestAttempt
from tests.moderation.factories import manager, note_case, question_bank, veteran

pytestmark = pytest.mark.django_db


def _pass_the_test(user: Any) -> ManagerTerm:
    attempt = services.test_start(user=user)
    answers = {int(q): Choice.objects.get(question_id=q, is_correct=True).pk for q in attempt.question_ids}
    services.test_submit(user=user, attempt_id=attempt.pk, answers=answers)
    term = services.current_term(user=user)
    assert term is not None
    return term


@pytest.mark.parametrize("status", [ManagerTerm.Status.REVOKED, ManagerTerm.Status.SUSPENDED])
def test_a_revoked_or_suspended_manager_waits_before_retaking_the_test(status: str, client: Client) -> None:
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"reentry_wait_days": 30})
    question_bank()
    user = veteran()
    term = _pass_the_test(user)

    services.term_end(term=term, status=ManagerTerm.Status(status), reason="abuse of the queue")

    with pytest.raises(services.ModerationError, match="try again after"):
        services.test_start(user=user)
    assert not TestAttempt.objects.filter(user=user, submitted_at__isnull=True).exists()
    client.force_login(user)
    assert (
        "You can try again after" in client.get(reverse("moderation:test"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )

    # thirty days on, the door is open again
    ManagerTerm.objects.filter(pk=term.pk).update(ended_at=timezone.now() - timedelta(days=31))
    assert services.test_start(user=user).submitted_at is None


def test_a_term_that_simply_expired_asks_for_no_wait() -> None:
    question_bank()
    user = veteran()
    term = _pass_the_test(user)
    ManagerTerm.objects.filter(pk=term.pk).update(
        starts_at=timezone.now() - timedelta(days=366), ends_at=timezone.now() - timedelta(days=1)
    )
    services.terms_expire()

    assert services.retake_at(user=user) is None


def _suspended_after(choices: list[str]) -> tuple[Any, list[ManagerVote]]:
    """A manager who answered five audits whose answer is "violates" with ``choices``, in order."""
    ModerationPolicy.objects.update_or_create(pk=1, defaults={"audit_window": 5, "audit_min_accuracy": 0.8})
    judge = manager()
    votes = [
        services.vote_cast(manager=judge, case_id=note_case(is_audit=True, audit_answer="violates").pk, choice=choice)
        for choice in choices
    ]
    assert services.current_term(user=judge) is None
    return judge, votes


def test_an_accepted_dispute_lifts_the_suspension_it_caused() -> None:
    judge, votes = _suspended_after(["violates", "violates", "violates", "complies", "complies"])  # 3/5

    dispute = services.dispute_submit(manager=judge, vote_id=votes[4].pk, reason="The answer key is wrong.")
    services.dispute_resolve(dispute=dispute, accept=True)  # 4/5 = the bar

    term = services.current_term(user=judge)
    assert term is not None and term.reason == "" and term.ended_at is None
    assert ManagerTerm.objects.filter(user=judge).count() == 1


def test_an_accepted_dispute_leaves_a_suspension_that_is_still_justified() -> None:
    judge, votes = _suspended_after(["violates", "violates", "complies", "complies", "complies"])  # 2/5

    dispute = services.dispute_submit(manager=judge, vote_id=votes[4].pk, reason="The answer key is wrong.")
    services.dispute_resolve(dispute=dispute, accept=True)  # 3/5, still below

    assert services.current_term(user=judge) is None
    assert ManagerTerm.objects.get(user=judge).status == ManagerTerm.Status.SUSPENDED


def test_a_dispute_never_lifts_a_staff_revocation() -> None:
    judge = manager()
    vote = services.vote_cast(
        manager=judge, case_id=note_case(is_audit=True, audit_answer="violates").pk, choice="complies"
    )
    services.term_end(term=ManagerTerm.objects.get(user=judge), status=ManagerTerm.Status.REVOKED, reason="staff")

    dispute = services.dispute_submit(manager=judge, vote_id=vote.pk, reason="I was right.")
    services.dispute_resolve(dispute=dispute, accept=True)

    assert ManagerTerm.objects.get(user=judge).status == ManagerTerm.Status.REVOKED
