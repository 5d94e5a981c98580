"""Audits look like any case: nothing a manager sees in the queue tells a known-answer case from a real one.

A queue is built as time builds it: real cases (reported notes and comments, screening's holds, staff's
cases, some decided since) with audits created among them, ids interleaved. Each rendered card is read
as a manager reads it (the report count, the screening label and its reasons, the reporters' words, the
kind of content, the rule, the place in the queue, the case number), and a classifier cross-validated on
those fields must do no better than chance; each field's distribution must match too. The same check on
audits made the old way (staff source, no reports, no evidence) must catch them, so it can fail.
"""

import random
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from moderation import selectors, services
from moderation.cards import case_cards
from moderation.models import Case
from tests.factories import NoteFactory, ProductFactory, UserFactory, rating_ready_category
from tests.moderation.factories import RuleFactory, manager
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db

CASES = 240
STEP = timedelta(minutes=20)  # a case every 20 minutes: the first ones go stale (72 hours) by the end
WORDS = ["广告", "留了微信号", "夸大功效", "不是自己用的", "骂人", "抄袭别人的笔记", "spam", "fake review", ""]
REASONS = [
    {"code": "near_duplicate", "params": {"copies": 4}},
    {"code": "fast_fill", "params": {"seconds": 9, "factors": 5}},
    {"code": "shared_device", "params": {"accounts": 5, "hours": 24}},
    {"code": "new_account", "params": {"days": 3}},
]


def _real_case(rng: random.Random, rules: list[Any], votes: list[Any]) -> None:
    rule = rng.choice(rules)
    kind = rng.random()
    if kind < 0.45:  # a reported note
        note = NoteFactory()
        for _ in range(rng.randint(1, 4)):
            services.report_submit(reporter=UserFactory(), rule=rule, note=note, comment=rng.choice(WORDS))
    elif kind < 0.65:  # a reported rating comment
        vote = votes.pop()
        for _ in range(rng.randint(1, 3)):
            services.report_submit(reporter=UserFactory(), rule=rule, vote=vote, comment=rng.choice(WORDS))
    elif kind < 0.9:  # screening held a rating
        evidence = {"score": round(rng.uniform(0.5, 1), 3), "reasons": rng.sample(REASONS, rng.randint(1, 3))}
        services.case_open_for_review(vote=votes.pop(), rule=rule, evidence=evidence, priority=rng.randint(8, 20))
    else:  # staff opened one
        Case.objects.create(note=NoteFactory(), rule=rule, source=Case.Source.STAFF, priority=rng.randint(1, 5))


def _close_oldest(rng: random.Random, clock: Any) -> None:
    """Time passes: the oldest open cases close as cases do (real ones decided by staff here, audits
    retired as the quorum retires them), and stale ones leave the queue (audits too)."""
    for case in Case.objects.filter(status=Case.Status.OPEN).order_by("created_at", "pk")[:2]:
        if case.is_audit:
            Case.objects.filter(pk=case.pk).update(status=Case.Status.ESCALATED, escalated_at=clock)
        else:
            outcome = rng.choice(list(Case.Outcome))
            services.decision_apply(case=case, outcome=outcome, staff=UserFactory(), now=clock)
    services.cases_escalate_stale(now=clock)


def _queue(rng: random.Random) -> tuple[Any, list[int]]:
    """Real cases and audits, interleaved, one every ``STEP``; returns the manager and the audits' ids."""
    rules = [RuleFactory() for _ in range(3)]
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    votes = votes_cast(campaign, [[3] * 5] * CASES, comment="还行吧")
    start = timezone.now() - STEP * CASES
    audits = []
    for step in range(CASES):
        clock = start + STEP * step
        if step < 30 or rng.random() < 0.5:
            newest = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            _real_case(rng, rules, votes)
            Case.objects.filter(pk__gt=newest).update(created_at=clock)
        else:
            about_note = rng.random() < 0.55  # staff pick notes and ratings as often as reports bring them
            audit = services.audit_create(
                rule=rng.choice(rules),
                answer=rng.choice(list(Case.Outcome)),
                note=NoteFactory() if about_note else None,
                vote=None if about_note else votes.pop(),
                rng=rng,
                now=clock,
            )
            audits.append(audit.pk)
        if step % 10 == 9:
            _close_oldest(rng, clock)
    return manager(), audits


def _features(judge: Any) -> tuple[np.ndarray, list[int], list[str]]:
    """What the manager sees of each queued case, as numbers: one row per card, in queue order."""
    cache.clear()
    entries = selectors.queue_entries(manager=judge, limit=10_000)
    cards = case_cards(entries, RequestFactory().get("/moderation/"))
    rank_of = {pk: rank for rank, pk in enumerate(sorted(card.pk for card in cards))}
    chips = sorted({re.search(r'class="chip">([^<]+)<', card.html).group(1) for card in cards})  # type: ignore[union-attr]
    names = ["place", "case number", "reports", "screening", "screening reasons", "reporter words", "rating", "rule"]
    rows = []
    for place, card in enumerate(cards):
        html = str(card.html)
        reports = re.search(r"(\d+) reports?<", html)
        evidence = re.search(r'<ul class="evidence">(.*?)</ul>', html, flags=re.S)
        words = re.search(r'<ul class="reporter-reasons">(.*?)</ul>', html, flags=re.S)
        chip = re.search(r'class="chip">([^<]+)<', html).group(1)  # type: ignore[union-attr]
        rows.append(
            [
                place / len(cards),
                rank_of[card.pk] / len(cards),
                int(reports.group(1)) if reports else 0,
                int("Flagged by screening" in html),
                evidence.group(1).count("<li>") if evidence else 0,
                words.group(1).count("<li>") if words else 0,
                int("Rating comment" in html),
                chips.index(chip),
            ]
        )
    return np.array(rows, dtype=float), [card.pk for card in cards], names


def _auc(features: np.ndarray, labels: np.ndarray) -> float:
    model = GradientBoostingClassifier(n_estimators=60, max_depth=2, random_state=0)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(labels, scores))


def _largest_gap(features: np.ndarray, labels: np.ndarray, names: list[str]) -> tuple[str, float]:
    """The field whose distribution differs most between audits and real cases (total variation distance,
    continuous fields in quintiles of the pooled values)."""
    gaps = {}
    for column, name in enumerate(names):
        values = features[:, column]
        if len(set(values)) > 8:
            values = np.searchsorted(np.quantile(values, [0.2, 0.4, 0.6, 0.8]), values)
        audit, real = Counter(values[labels == 1]), Counter(values[labels == 0])
        n_audit, n_real = sum(audit.values()), sum(real.values())
        gaps[name] = sum(abs(audit[v] / n_audit - real[v] / n_real) for v in set(values)) / 2
    return max(gaps.items(), key=lambda item: item[1])


@pytest.mark.parametrize("seed", [7, 11])
def test_no_field_of_the_queue_tells_an_audit_from_a_real_case(seed: int) -> None:
    # given a queue built over time, a third to a half of it audits
    judge, audits = _queue(random.Random(seed))
    features, pks, names = _features(judge)
    labels = np.array([pk in set(audits) for pk in pks], dtype=int)
    assert 20 <= labels.sum() <= len(labels) - 20

    # when a classifier learns from every field a manager sees
    auc = _auc(features, labels)
    field, gap = _largest_gap(features, labels, names)

    print(f"audits {labels.sum()} of {len(labels)}: AUC {auc:.3f}; largest field gap {field} {gap:.3f}")  # -s

    # then it does no better than chance, and no single field differs by much
    assert auc <= 0.65, f"audits are recognisable: AUC {auc:.2f}"
    # (about 100 cases a side: total variation between two samples of one distribution reaches ~0.15)
    assert gap <= 0.25, f"{field} separates audits: total variation {gap:.2f}"

    # and the same check catches audits made the old way (staff, no reports, no evidence)
    Case.objects.filter(pk__in=audits).update(source=Case.Source.STAFF, reports_count=0, evidence={}, priority=3)
    naive, naive_pks, _ = _features(judge)
    naive_labels = np.array([pk in set(audits) for pk in naive_pks], dtype=int)
    naive_auc = _auc(naive, naive_labels)
    print(f"audits made the old way: AUC {naive_auc:.3f}")  # -s
    assert naive_auc > 0.9


def test_an_audit_carries_a_real_cases_kind_of_evidence_and_reporters_words_from_closed_cases() -> None:
    rule = RuleFactory()
    campaign = campaign_for(ProductFactory(category=rating_ready_category()))
    held, audited = votes_cast(campaign, [[3] * 5] * 2, comment="好用")
    evidence = {"score": 0.91, "reasons": REASONS[:2]}
    services.case_open_for_review(vote=held, rule=rule, evidence=evidence, priority=12)
    closed = services.report_submit(reporter=UserFactory(), rule=rule, note=NoteFactory(), comment="old words")
    services.decision_apply(case=closed, outcome=Case.Outcome.COMPLIES, staff=UserFactory())

    audit = services.audit_create(rule=rule, answer=Case.Outcome.VIOLATES, vote=audited, rng=random.Random(1))

    assert (audit.source, audit.priority, audit.reports_count) == (Case.Source.SCREENING, 12, 0)
    assert audit.evidence == evidence  # a screening hold has no reporters' words
    note_audit = services.audit_create(
        rule=rule, answer=Case.Outcome.COMPLIES, note=NoteFactory(), rng=random.Random(1)
    )
    assert note_audit.source == Case.Source.REPORT and note_audit.reports_count == 1
    assert note_audit.evidence == {"report_reasons": ["old words"]}  # shown as reporters' words on its card


def test_a_stale_audit_leaves_the_queue_as_a_stale_real_case_does() -> None:
    real = services.report_submit(reporter=UserFactory(), rule=RuleFactory(), note=NoteFactory())
    audit = services.audit_create(rule=real.rule, answer=Case.Outcome.COMPLIES, note=NoteFactory())
    Case.objects.filter(pk__in=[real.pk, audit.pk]).update(created_at=timezone.now() - timedelta(hours=73))

    assert services.cases_escalate_stale() == 2

    assert {pk for pk in Case.objects.filter(status=Case.Status.OPEN).values_list("pk", flat=True)} == set()
