"""Reads of the manager's pages. Each runs a fixed number of queries, however many cases are open."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.models import User
from moderation.models import Case, Choice, ManagerVote, Question, Rule, TestAttempt
from ratings.models import FactorScore

#: How many cases the dashboard shows at once; voting loads the next ones.
QUEUE_SIZE = 20


def queue(*, manager: User, limit: int = QUEUE_SIZE) -> list[Case]:
    """Open cases this manager may judge, highest priority first: never their own content, never one
    they voted on. Audit cases are among them, unannounced. Other managers' votes are not loaded."""
    voted = ManagerVote.objects.filter(case=OuterRef("pk"), manager=manager)
    # Two queries: the ids from the queue index, probing the manager's votes entry by entry with only the
    # joins the own-content filter needs; then the display joins for those rows alone. In one query the
    # planner joined every skipped case to six tables before dropping it (bench/moderation_dashboard.py:
    # 49-58 ms of PostgreSQL time per page at 100,000 open cases, 13-15 ms as two).
    ids = list(
        Case.objects.filter(status=Case.Status.OPEN)
        .exclude(Q(note__author=manager) | Q(vote__user=manager))
        .filter(~Exists(voted))
        .order_by("-priority", "created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    cases = (
        Case.objects.filter(pk__in=ids)
        .select_related("rule", "note", "note__author", "vote", "vote__user", "vote__product", "vote__product__brand")
        .prefetch_related(
            Prefetch("vote__scores", queryset=FactorScore.objects.select_related("factor").order_by("factor__position"))
        )
        .order_by("-priority", "created_at", "id")
    )
    return list(cases)


def case_for_author(*, user: User, case_id: int) -> Case | None:
    """A decided case about the user's own content (to read why, and appeal)."""
    case = (
        Case.objects.select_related("rule", "note", "vote", "vote__product")
        .filter(pk=case_id, status=Case.Status.DECIDED)
        .filter(Q(note__author=user) | Q(vote__user=user))
        .first()
    )
    return case


def attempt_questions(attempt: TestAttempt) -> list[Question]:
    """The attempt's questions in the order drawn, with their choices (2 queries). Never the answers."""
    ids = [int(pk) for pk in attempt.question_ids]
    by_id = Question.objects.prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("position", "id"))
    ).in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


@dataclass(frozen=True)
class Missed:
    """A question the person got wrong, with the rule that answers it (never the right choice)."""

    number: int
    question: Question
    chosen: Choice | None


def attempt_missed(attempt: TestAttempt) -> list[Missed]:
    """The graded attempt's wrong or unanswered questions, in the order shown, with their rules
    (3 queries). Only these questions: the rest of the bank stays unseen."""
    questions = attempt_questions(attempt)
    rules = Rule.objects.in_bulk({question.rule_id for question in questions})
    missed = []
    for number, question in enumerate(questions, start=1):
        question.rule = rules[question.rule_id]
        chosen_id = attempt.answers.get(str(question.pk))
        chosen = next((choice for choice in question.choices.all() if choice.pk == chosen_id), None)
        if chosen is None or not chosen.is_correct:
            missed.append(Missed(number=number, question=question, chosen=chosen))
    return missed


def active_rules() -> QuerySet[Rule]:
    return Rule.objects.filter(active=True).order_by("position", "id")


def audit_record(*, manager: User, limit: int = 20) -> list[ManagerVote]:
    """The manager's scored audit votes, newest first, with any dispute."""
    return list(
        ManagerVote.objects.filter(manager=manager, audit_correct__isnull=False)
        .select_related("case", "case__rule", "dispute")
        .order_by("-created_at", "-id")[:limit]
    )
