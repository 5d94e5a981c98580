"""Simulation: how much manager time the adaptive blind quorum saves, at what decision accuracy.

    .venv/bin/python bench/quorum_simulation.py [--cases 20000] [--seed 42] [--evidence-share 0.5]

Pure Python on moderation/quorum.py (the rule ``services.vote_cast`` applies); no database. Every policy
sees the same cases and the same managers in the same order with the same votes (common random numbers),
so the differences are the policies' own.

- **Managers** have known accuracies drawn from a Beta distribution fitted to audit records that run from
  0.80 (5th percentile) to 0.98 (95th): each non-skip vote is right with the manager's accuracy; each
  look is a skip with ``--skip`` probability (a skip costs a look too).
- **Cases** violate with ``--violate-share``; a share ``--evidence-share`` carry screening's suspicion
  score (the rest came from user reports or staff: no evidence the rule counts), drawn from
  Beta(``--evidence-a``, ``--evidence-b``) for violating content and its mirror for compliant content.
- **Policies**: the old fixed quorum (5 votes, two thirds, else staff), a fixed 7, the adaptive rule
  (3 / 5 / 7 with evidence 0.80, the policy's defaults), and two ablations: the adaptive rule closing on
  any three agreeing votes (no evidence needed), and only the split extension (no early close).

Printed per policy: looks (manager time) and non-skip votes per case, the share decided by managers and
sent to staff, the accuracy of the managers' decisions (± 1.96 standard errors), and wrong decisions per
1,000 cases. Staff are assumed right on what reaches them (their time is counted separately).
"""

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moderation.quorum import COMPLIES, SKIP, VIOLATES, Rules, Step, next_step  # noqa: E402

MOST_LOOKS = 40  # a case that drew more skips than this would wait for ever; none does at a 5 % skip rate


def beta_fitted(low: float, high: float) -> tuple[float, float]:
    """Beta(a, b) whose 5th and 95th percentiles are ``low`` and ``high``."""
    from scipy import optimize, stats

    def gap(params: list[float]) -> list[float]:
        a, b = (float(x) for x in params)
        return [stats.beta.ppf(0.05, a, b) - low, stats.beta.ppf(0.95, a, b) - high]

    a, b = optimize.fsolve(gap, [20.0, 2.0])
    return float(a), float(b)


@dataclass
class World:
    truth: list[str]
    suspicion: list[float | None]
    looks: list[list[str]]  # each case's sequence of looks (choices, skips included), drawn once


def world_draw(args: argparse.Namespace, a: float, b: float) -> World:
    rng = random.Random(args.seed)
    accuracy = [rng.betavariate(a, b) for _ in range(args.managers)]
    truth, suspicion, looks = [], [], []
    for _ in range(args.cases):
        violates = rng.random() < args.violate_share
        truth.append(VIOLATES if violates else COMPLIES)
        if rng.random() < args.evidence_share:
            score = rng.betavariate(args.evidence_a, args.evidence_b)
            suspicion.append(score if violates else 1 - score)
        else:
            suspicion.append(None)
        judges = rng.sample(range(args.managers), MOST_LOOKS)
        sequence = []
        for judge in judges:
            if rng.random() < args.skip:
                sequence.append(SKIP)
            elif rng.random() < accuracy[judge]:
                sequence.append(truth[-1])
            else:
                sequence.append(COMPLIES if violates else VIOLATES)
        looks.append(sequence)
    return World(truth, suspicion, looks)


@dataclass
class Tally:
    looks: int = 0
    votes: int = 0
    decided: int = 0
    right: int = 0
    staff: int = 0


def run(world: World, rules: Rules, only: bool | None = None) -> Tally:
    """Each case's looks one by one until the rule decides or escalates. ``only``: just the cases with
    (True) or without (False) evidence."""
    tally = Tally()
    for truth, suspicion, sequence in zip(world.truth, world.suspicion, world.looks, strict=True):
        if only is not None and (suspicion is not None) != only:
            continue
        for seen in range(1, len(sequence) + 1):
            step = next_step(sequence[:seen], suspicion=suspicion, rules=rules)
            if step.step != Step.WAIT:
                break
        else:  # pragma: no cover - see MOST_LOOKS
            raise SystemExit("a case ran out of managers")
        tally.looks += seen
        tally.votes += sum(1 for choice in sequence[:seen] if choice != SKIP)
        if step.step == Step.DECIDE:
            tally.decided += 1
            tally.right += step.outcome == truth
        else:
            tally.staff += 1
    return tally


def line(name: str, tally: Tally) -> str:
    cases = tally.decided + tally.staff
    accuracy = tally.right / max(tally.decided, 1)
    margin = 1.96 * (accuracy * (1 - accuracy) / max(tally.decided, 1)) ** 0.5
    wrong = (tally.decided - tally.right) / cases * 1000
    return (
        f"{name:<44} {tally.looks / cases:>6.2f} {tally.votes / cases:>6.2f} {tally.decided / cases:>8.1%}"
        f" {tally.staff / cases:>7.1%} {accuracy:>8.2%} ± {margin:.2%} {wrong:>9.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--managers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--violate-share", type=float, default=0.4)
    parser.add_argument("--evidence-share", type=float, default=0.5, help="cases with a screening score")
    parser.add_argument("--evidence-a", type=float, default=5.0)
    parser.add_argument("--evidence-b", type=float, default=2.0)
    parser.add_argument("--skip", type=float, default=0.05)
    parser.add_argument("--accuracy-low", type=float, default=0.80, help="5th percentile of audit accuracy")
    parser.add_argument("--accuracy-high", type=float, default=0.98, help="95th percentile of audit accuracy")
    args = parser.parse_args()

    started = time.perf_counter()
    a, b = beta_fitted(args.accuracy_low, args.accuracy_high)
    world = world_draw(args, a, b)
    strong = sum(
        1
        for s, t in zip(world.suspicion, world.truth, strict=True)
        if s is not None and (s >= 0.8 if t == VIOLATES else s <= 0.2)
    )
    print(
        f"{args.cases:,} cases ({args.violate_share:.0%} violate, {args.evidence_share:.0%} with a screening score"
        f" from Beta({args.evidence_a:g}, {args.evidence_b:g}), {strong / args.cases:.1%} pointing the right way"
        f" at >= 0.80); {args.managers} managers, accuracy ~ Beta({a:.1f}, {b:.2f})"
        f" (5-95 %: {args.accuracy_low}-{args.accuracy_high}, mean {a / (a + b):.3f}); skips {args.skip:.0%};"
        f" seed {args.seed}\n"
    )
    never = 2.0  # an evidence bar no score reaches: no early close
    policies = [
        ("fixed quorum 5 (the old rule)", Rules(quorum=5, quorum_early=5, quorum_most=5, early_evidence=never)),
        ("fixed quorum 7", Rules(quorum=7, quorum_early=7, quorum_most=7, early_evidence=never)),
        ("adaptive 3/5/7, evidence 0.80 (the default)", Rules(quorum=5, quorum_early=3, quorum_most=7)),
        ("  ablation: early close without evidence", Rules(quorum=5, quorum_early=3, quorum_most=7, early_evidence=0)),
        (
            "  ablation: split extension only (5 to 7)",
            Rules(quorum=5, quorum_early=5, quorum_most=7, early_evidence=never),
        ),
    ]
    header = (
        f"{'policy':<44} {'looks':>6} {'votes':>6} {'decided':>8} {'staff':>7} {'accuracy of decisions':>21}"
        f" {'wrong/1k':>9}"
    )
    print(header + "\n" + "-" * len(header))
    tallies = {}
    for name, rules in policies:
        tallies[name] = run(world, rules)
        print(line(name, tallies[name]))
    old, new = tallies[policies[0][0]], tallies[policies[2][0]]
    print(
        f"\nadaptive vs fixed 5: manager looks {new.looks / old.looks - 1:+.1%}, staff cases"
        f" {new.staff - old.staff:+,} ({(new.staff - old.staff) / args.cases:+.1%} of cases), wrong decisions"
        f" {(new.decided - new.right) - (old.decided - old.right):+,}"
    )
    print("\nby evidence (adaptive default vs fixed 5):")
    for label, only in (("with a screening score", True), ("without (reports, staff)", False)):
        print(line(f"  fixed 5, {label}", run(world, policies[0][1], only)))
        print(line(f"  adaptive, {label}", run(world, policies[2][1], only)))
    print(f"\n({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
