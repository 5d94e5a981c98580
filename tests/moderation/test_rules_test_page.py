"""The rules test as a candidate meets it: the rules to read first, every question required, a
confirmation before grading, and afterwards the missed questions with the rule that answers each."""

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from moderation import services
from moderation.models import Choice, ManagerTerm, Rule, TestAttempt
from tests.moderation.factories import question_bank, veteran

pytestmark = pytest.mark.django_db


@pytest.fixture
def candidate(client: Client) -> Any:
    Rule.objects.create(
        code="no-ads", name_zh="禁止广告", name_en="No advertising", description_en="No links to shops."
    )
    question_bank(20, rule=Rule.objects.get(code="no-ads"))
    user = veteran()
    client.force_login(user)
    return user


def _attempt_url(attempt: TestAttempt) -> str:
    return reverse("moderation:attempt", args=[attempt.pk])


def _choice(question_id: int, *, right: bool) -> int:
    return int(Choice.objects.filter(question_id=question_id, is_correct=right).values_list("pk", flat=True)[0])


def test_the_test_page_shows_the_rules_to_read_before_starting(client: Client, candidate: Any) -> None:
    page = client.get(reverse("moderation:test"), headers={"accept-language": "en"}).content.decode()
    assert 'id="rules"' in page
    assert "No advertising" in page and "No links to shops." in page


def test_a_half_answered_attempt_is_sent_back_with_its_answers_kept_and_not_graded(
    client: Client, candidate: Any
) -> None:
    # given an attempt with 3 of 15 questions answered
    attempt = services.test_start(user=candidate)
    answered = {f"q{qid}": _choice(int(qid), right=True) for qid in attempt.question_ids[:3]}
    # when it is submitted, confirmed
    response = client.post(_attempt_url(attempt), answered | {"confirm": "on"}, headers={"accept-language": "en"})
    # then nothing is graded, there is no cool-down, and the page says how many remain, keeping the 3
    attempt.refresh_from_db()
    assert response.status_code == 200
    assert attempt.submitted_at is None and services.retake_at(user=candidate) is None
    page = response.content.decode()
    assert "12 questions have no answer yet; nothing was graded." in page
    assert page.count("Choose an answer to this question.") == 12
    assert len(re.findall(r'<input type="radio"[^>]*checked', page)) == 3


def test_grading_needs_a_confirmation(client: Client, candidate: Any) -> None:
    attempt = services.test_start(user=candidate)
    every = {f"q{qid}": _choice(int(qid), right=True) for qid in attempt.question_ids}
    refused = client.post(_attempt_url(attempt), every, headers={"accept-language": "en"})
    attempt.refresh_from_db()
    assert refused.status_code == 200 and attempt.submitted_at is None
    assert "Tick the box to confirm" in refused.content.decode()

    graded = client.post(_attempt_url(attempt), every | {"confirm": "on"})
    attempt.refresh_from_db()
    assert graded.status_code == 302 and (attempt.correct, attempt.passed) == (15, True)
    assert ManagerTerm.objects.filter(user=candidate, status=ManagerTerm.Status.ACTIVE).exists()


def test_the_result_lists_only_the_missed_questions_with_their_rule_and_never_the_right_answer(
    client: Client, candidate: Any
) -> None:
    # given an attempt answered with 4 wrong answers
    attempt = services.test_start(user=candidate)
    wrong = [int(qid) for qid in attempt.question_ids[:4]]
    answers = {f"q{qid}": _choice(int(qid), right=int(qid) not in wrong) for qid in attempt.question_ids}
    client.post(_attempt_url(attempt), answers | {"confirm": "on"})
    # when the candidate reads the result
    page = client.get(_attempt_url(attempt), headers={"accept-language": "en"}).content.decode()
    # then the four missed questions appear with the rule, and nothing else of the bank
    section = page.split('id="missed-title"')[1]
    assert section.count('class="quiz-question"') == 4
    assert section.count("No advertising") == 4
    for question_id in wrong:
        right = Choice.objects.get(question_id=question_id, is_correct=True)
        assert right.text_en not in section
    assert "11 of 15 correct" in page
