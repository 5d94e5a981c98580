"""Factories for the manager programme: rules, the question bank, managers, cases."""

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from catalog.models import Product
from moderation.models import Case, Choice, CounterfeitCase, ManagerTerm, Question, Rule
from tests.factories import NoteFactory, UserFactory


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"rule-{n}")
    name_zh = factory.Sequence(lambda n: f"规则{n}")
    name_en = factory.Sequence(lambda n: f"Rule {n}")
    description_en = "What the rule forbids."


def question_bank(count: int = 20, *, rule: Rule | None = None) -> list[Question]:
    """``count`` questions with three choices each; the first choice is the correct one."""
    rule = rule or RuleFactory()
    questions = []
    for n in range(count):
        question = Question.objects.create(rule=rule, text_zh=f"问题{n}", text_en=f"Question {n}?")
        Choice.objects.bulk_create(
            Choice(question=question, text_zh=f"选项{i}", text_en=f"Choice {i}", is_correct=i == 0, position=i)
            for i in range(3)
        )
        questions.append(question)
    return questions


def veteran(**kwargs: Any) -> Any:
    """A user old enough to take the test, with one verified purchase."""
    from tests.ratings.factories import accepted_invitation

    user = UserFactory(date_joined=timezone.now() - timedelta(days=400), **kwargs)
    accepted_invitation(user=user)
    return user


def manager(**kwargs: Any) -> Any:
    """A user with a manager term in force."""
    user = UserFactory(**kwargs)
    now = timezone.now()
    ManagerTerm.objects.create(user=user, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=300))
    return user


def note_case(**kwargs: Any) -> Case:
    kwargs.setdefault("rule", RuleFactory())
    kwargs.setdefault("source", Case.Source.REPORT)
    return Case.objects.create(note=kwargs.pop("note", None) or NoteFactory(), **kwargs)


def vote_case(vote: Any, **kwargs: Any) -> Case:
    kwargs.setdefault("rule", RuleFactory())
    kwargs.setdefault("source", Case.Source.REPORT)
    return Case.objects.create(vote=vote, **kwargs)


def counterfeit_confirmed(product: Product) -> CounterfeitCase:
    """A claim that the product's store sold a fake, confirmed by staff: the product is held off the lists."""
    return CounterfeitCase.objects.create(
        product=product,
        store=product.store,
        status=CounterfeitCase.Status.CONFIRMED,
        decided_by=CounterfeitCase.DecidedBy.STAFF,
        decided_at=timezone.now(),
    )
