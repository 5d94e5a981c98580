"""The adaptive blind quorum: from the votes cast so far, decide a case, call for more, or send it to staff.

Pure: no ORM, no Django; ``services.vote_cast`` feeds it a case's non-blind facts (the choices in the
order they were cast, the case's own evidence) and acts on the answer. Managers stay blind: none of this
is ever shown to one before they vote.

The rule, with the policy's figures (defaults 3 / 5 / 7 and a two-thirds majority):

* **early**: when the first ``quorum_early`` non-skip votes agree and the case's evidence points the same
  way at least ``early_evidence`` strongly (screening's suspicion score for "violates", one minus it for
  "does not violate"), the case is decided at once. A case without such evidence (user reports, staff)
  never closes early: reporters are a party, not evidence;
* **quorum**: from ``quorum`` non-skip votes on, a majority (``numerator / denominator`` of the non-skip
  votes, exactly, in integers) decides;
* **split**: otherwise more managers are called, up to ``quorum_most`` non-skip votes; the case goes to
  staff at ``quorum_most``, or sooner once no outcome can reach a majority by then.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

VIOLATES, COMPLIES, SKIP = "violates", "complies", "skip"


class Step(StrEnum):
    WAIT = "wait"  # the case stays in the queues
    DECIDE = "decide"
    ESCALATE = "escalate"  # to staff


@dataclass(frozen=True)
class Rules:
    quorum: int = 5
    quorum_early: int = 3
    quorum_most: int = 7
    majority_numerator: int = 2
    majority_denominator: int = 3
    early_evidence: float = 0.8


@dataclass(frozen=True)
class Next:
    step: Step
    outcome: str = ""  # VIOLATES or COMPLIES when the step is DECIDE


def is_majority(top: int, cast: int, *, numerator: int, denominator: int) -> bool:
    """``top`` of ``cast`` votes reach ``numerator / denominator``, exactly (0.67 of 3 votes is not 2)."""
    return cast > 0 and top * denominator >= numerator * cast


def evidence_for(outcome: str, suspicion: float | None) -> float:
    """How strongly the case's own evidence points to ``outcome`` (0 without evidence)."""
    if suspicion is None:
        return 0.0
    return suspicion if outcome == VIOLATES else 1.0 - suspicion


def next_step(choices: Sequence[str], *, suspicion: float | None, rules: Rules) -> Next:
    """What the votes so far (in the order cast, skips included) say about a case. See the module docstring."""
    cast = [choice for choice in choices if choice != SKIP]
    if not cast:
        return Next(Step.WAIT)
    leader, top = Counter(cast).most_common(1)[0]
    majority = is_majority(top, len(cast), numerator=rules.majority_numerator, denominator=rules.majority_denominator)
    first = cast[: rules.quorum_early]
    if (
        len(first) == rules.quorum_early
        and len(set(first)) == 1
        and majority
        and leader == first[0]
        and evidence_for(leader, suspicion) >= rules.early_evidence
    ):
        return Next(Step.DECIDE, leader)
    if len(cast) < rules.quorum:
        return Next(Step.WAIT)
    if majority:
        return Next(Step.DECIDE, leader)
    remaining = max(0, rules.quorum_most - len(cast))
    reachable = is_majority(
        top + remaining,
        len(cast) + remaining,
        numerator=rules.majority_numerator,
        denominator=rules.majority_denominator,
    )
    if remaining == 0 or not reachable:
        return Next(Step.ESCALATE)
    return Next(Step.WAIT)
