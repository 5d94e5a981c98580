"""The adaptive blind quorum's rule, alone (moderation/quorum.py: no database)."""

import pytest

from moderation.quorum import COMPLIES, SKIP, VIOLATES, Next, Rules, Step, is_majority, next_step

RULES = Rules(quorum=5, quorum_early=3, quorum_most=7, majority_numerator=2, majority_denominator=3, early_evidence=0.8)
V, C, S = VIOLATES, COMPLIES, SKIP


def test_three_agreeing_votes_close_a_case_whose_evidence_points_the_same_way_strongly() -> None:
    assert next_step([V, V, V], suspicion=0.85, rules=RULES) == Next(Step.DECIDE, V)
    assert next_step([C, S, C, C], suspicion=0.1, rules=RULES) == Next(Step.DECIDE, C)


def test_three_agreeing_votes_wait_for_the_quorum_when_the_evidence_is_weak_absent_or_the_other_way() -> None:
    assert next_step([V, V, V], suspicion=0.7, rules=RULES) == Next(Step.WAIT)
    assert next_step([V, V, V], suspicion=None, rules=RULES) == Next(Step.WAIT)  # reports are no evidence
    assert next_step([C, C, C], suspicion=0.9, rules=RULES) == Next(Step.WAIT)


def test_skips_are_not_votes_and_an_early_close_needs_the_first_three_to_agree() -> None:
    assert next_step([V, S, S, V], suspicion=0.95, rules=RULES) == Next(Step.WAIT)
    assert next_step([V, C, V, V], suspicion=0.95, rules=RULES) == Next(Step.WAIT)


def test_a_two_thirds_majority_of_the_quorum_decides() -> None:
    assert next_step([V, C, V, V, V], suspicion=None, rules=RULES) == Next(Step.DECIDE, V)
    assert next_step([C, C, V, C, C], suspicion=0.5, rules=RULES) == Next(Step.DECIDE, C)


def test_a_split_calls_more_managers_up_to_seven_then_goes_to_staff() -> None:
    split = [V, C, V, C, V]
    assert next_step(split, suspicion=None, rules=RULES) == Next(Step.WAIT)
    assert next_step([*split, V], suspicion=None, rules=RULES) == Next(Step.DECIDE, V)  # 4 of 6
    assert next_step([*split, C, V], suspicion=None, rules=RULES) == Next(Step.ESCALATE)  # 4 of 7
    assert next_step([V, C, V, C, V, V, V], suspicion=None, rules=RULES) == Next(Step.DECIDE, V)  # 5 of 7


def test_a_split_that_no_remaining_vote_can_settle_goes_to_staff_at_once() -> None:
    # 3 to 3 after six: a seventh makes 4 of 7, short of two thirds
    assert next_step([V, C, V, C, V, C], suspicion=None, rules=RULES) == Next(Step.ESCALATE)


def test_with_the_most_equal_to_the_quorum_a_split_goes_to_staff_as_before() -> None:
    fixed = Rules(quorum=5, quorum_early=5, quorum_most=5, early_evidence=1.0)
    assert next_step([V, C, V, C, V], suspicion=None, rules=fixed) == Next(Step.ESCALATE)


@pytest.mark.parametrize(
    ("top", "cast", "expected"), [(2, 3, True), (1, 2, False), (4, 6, True), (4, 7, False), (5, 7, True), (0, 0, False)]
)
def test_the_majority_is_exact_in_integers(top: int, cast: int, expected: bool) -> None:
    assert is_majority(top, cast, numerator=2, denominator=3) is expected


# --- wired into the vote (database) ----------------------------------------------------------------------


@pytest.mark.django_db
def test_three_agreeing_managers_close_a_case_screening_held_with_a_high_score() -> None:
    from moderation import services
    from moderation.models import Case
    from tests.factories import ProductFactory, rating_ready_category
    from tests.moderation.factories import RuleFactory, manager
    from tests.ratings.factories import campaign_for, votes_cast

    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    strong, weak = votes_cast(campaign, [[5] * 5] * 2, comment="加微信")
    rule = RuleFactory()
    clear = services.case_open_for_review(vote=strong, rule=rule, evidence={"score": 0.93})
    unclear = services.case_open_for_review(vote=weak, rule=rule, evidence={"score": 0.6})

    for _ in range(3):
        judge = manager()
        services.vote_cast(manager=judge, case_id=clear.pk, choice=VIOLATES)
        services.vote_cast(manager=judge, case_id=unclear.pk, choice=VIOLATES)

    clear.refresh_from_db()
    unclear.refresh_from_db()
    assert (clear.status, clear.outcome) == (Case.Status.DECIDED, Case.Outcome.VIOLATES)
    assert unclear.status == Case.Status.OPEN


@pytest.mark.django_db
def test_an_audit_leaves_the_queue_when_a_real_case_would_and_is_never_decided() -> None:
    from moderation import services
    from moderation.models import Case
    from tests.moderation.factories import manager, note_case

    audit = note_case(is_audit=True, audit_answer=Case.Outcome.VIOLATES)
    for _ in range(5):
        services.vote_cast(manager=manager(), case_id=audit.pk, choice=VIOLATES)

    audit.refresh_from_db()
    assert (audit.status, audit.outcome) == (Case.Status.ESCALATED, "")
