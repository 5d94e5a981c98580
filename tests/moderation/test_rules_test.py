"""Becoming an ecosystem manager: the entry bar, the test's draw and scoring, cool-down, the term."""

import random
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from moderation import services
from moderation.models import Choice, ManagerTerm, TestAttempt
from tests.factories import UserFactory
from tests.moderation.factories import manager, question_bank, veteran

pytestmark = pytest.mark.django_db


def _answers(attempt: TestAttempt, *, right: int) -> dict[int, int]:
    """Answer the first ``right`` questions correctly and the rest wrongly."""
    answers = {}
    for n, question_id in enumerate(attempt.question_ids):
        choices = Choice.objects.filter(question_id=question_id)
        answers[int(question_id)] = choices.filter(is_correct=n < right).values_list("pk", flat=True)[0]
    return answers


def test_an_attempt_draws_fifteen_different_active_questions_at_random() -> None:
    bank = question_bank(30)
    bank[0].active = False
    bank[0].save()
    user = veteran()

    attempt = services.test_start(user=user, rng=random.Random(1))
    other = services.test_start(user=veteran(), rng=random.Random(2))

    assert len(set(attempt.question_ids)) == 15
    assert bank[0].pk not in attempt.question_ids
    assert attempt.question_ids != other.question_ids


def test_nine_correct_answers_pass_and_grant_the_role_for_a_term() -> None:
    question_bank()
    user = veteran()
    attempt = services.test_start(user=user)

    result = services.test_submit(user=user, attempt_id=attempt.pk, answers=_answers(attempt, right=9))

    assert (result.correct, result.passed) == (9, True)
    term = services.current_term(user=user)
    assert term is not None and (term.ends_at - term.starts_at).days == 365


def test_eight_correct_answers_fail_and_the_retake_waits_for_the_cooldown() -> None:
    question_bank()
    user = veteran()
    attempt = services.test_start(user=user)

    result = services.test_submit(user=user, attempt_id=attempt.pk, answers=_answers(attempt, right=8))

    assert (result.correct, result.passed) == (8, False)
    assert services.current_term(user=user) is None
    with pytest.raises(services.ModerationError, match="try again after"):
        services.test_start(user=user)
    TestAttempt.objects.filter(pk=attempt.pk).update(submitted_at=timezone.now() - timedelta(hours=25))
    assert services.test_start(user=user).pk != attempt.pk


def test_answers_to_questions_not_drawn_or_choices_of_other_questions_score_nothing() -> None:
    bank = question_bank(20)
    user = veteran()
    attempt = services.test_start(user=user, rng=random.Random(3))
    undrawn = next(q for q in bank if q.pk not in attempt.question_ids)
    foreign_correct = Choice.objects.get(question=undrawn, is_correct=True).pk
    answers = {int(q): foreign_correct for q in attempt.question_ids}
    answers[undrawn.pk] = foreign_correct

    result = services.test_submit(user=user, attempt_id=attempt.pk, answers=answers)

    assert result.correct == 0 and result.answers == {}


def test_a_new_account_or_one_without_purchases_cannot_take_the_test() -> None:
    question_bank()
    newcomer = UserFactory()

    with pytest.raises(services.ModerationError, match="days old"):
        services.test_start(user=newcomer)


def test_the_page_never_shows_which_answer_is_correct(client: Client) -> None:
    question_bank()
    user = veteran()
    client.force_login(user)

    start = client.post(reverse("moderation:test_start"))
    page = client.get(start["Location"])

    html = page.content.decode()
    assert html.count('type="radio"') == 45
    assert "correct" not in html.lower().replace("correct answers", "")


def test_passing_through_the_pages_makes_a_manager_with_a_badge(client: Client) -> None:
    question_bank()
    user = veteran()
    client.force_login(user)
    attempt_url = client.post(reverse("moderation:test_start"))["Location"]
    attempt = TestAttempt.objects.get(user=user)
    data = {f"q{q}": c for q, c in _answers(attempt, right=15).items()} | {"confirm": "on"}

    result = client.post(attempt_url, data, follow=True)

    assert "manager-badge" in result.content.decode()
    assert client.get(reverse("moderation:dashboard")).status_code == 200


def test_an_expired_or_revoked_term_ends_the_role(client: Client) -> None:
    expired, revoked = manager(), manager()
    ManagerTerm.objects.filter(user=expired).update(ends_at=timezone.now() - timedelta(seconds=1))
    services.term_end(term=ManagerTerm.objects.get(user=revoked), status=ManagerTerm.Status.REVOKED, reason="staff")

    assert services.current_term(user=expired) is None
    assert services.current_term(user=revoked) is None
    assert services.terms_expire() == 1
    client.force_login(expired)
    assert client.get(reverse("moderation:dashboard")).status_code == 403


def test_staff_revoke_a_term_from_the_admin(staff: Any) -> None:
    user = manager()
    client = Client()
    client.force_login(staff)
    term = ManagerTerm.objects.get(user=user)

    client.post(reverse("admin:moderation_managerterm_changelist"), {"action": "revoke", "_selected_action": [term.pk]})

    term.refresh_from_db()
    assert term.status == ManagerTerm.Status.REVOKED
