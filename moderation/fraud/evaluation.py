"""How well screening works: detection metrics per attack, and how far attacks move the scores.

A vote is *flagged* when its verdict is not "counted" (review or excluded): until managers decide,
a vote under review does not count either. The *prediction shift* of an attack is the mean over its
target products of (comprehensive score with the attack - without it); the comprehensive score is the
platform's equal-weights score, the mean over a product's votes of each vote's mean factor score.
With screening, the flagged votes are left out of the attacked data; the reference is always the
honest data with all its votes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from moderation.fraud.attacks import inject, pick_targets
from moderation.fraud.data import RatingTable
from moderation.fraud.features import rater_features
from moderation.fraud.models import COUNTED, EXCLUDED, Screener, comment_model

F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Detection:
    """Detection metrics against known labels (1 = attack / fraud)."""

    votes: int
    positives: int
    flagged: int
    roc_auc: float
    precision: float
    recall: float
    f1: float
    #: Genuine votes excluded (not merely sent to review), as a share of all genuine votes.
    genuine_excluded: float
    #: Genuine votes flagged (review or excluded), as a share of all genuine votes.
    genuine_flagged: float


@dataclass(frozen=True)
class Shift:
    raw: float
    screened: float

    @property
    def reduction(self) -> float:
        """How much of the shift screening removed (1.0 = all of it)."""
        if abs(self.raw) < 1e-12:
            return float("nan")
        return 1.0 - abs(self.screened) / abs(self.raw)


@dataclass(frozen=True)
class AttackRun:
    kind: str
    attack_size: float
    filler_size: float
    targets: npt.NDArray[np.int64]
    injected: int
    detection: Detection
    shift: Shift
    seconds: float


def detection(truth: Bools, score: F64, verdict: npt.NDArray[np.str_]) -> Detection:
    """Metrics of a screening (``score`` and ``verdict`` per vote) against ``truth`` (rows aligned)."""
    from sklearn.metrics import roc_auc_score

    truth = np.asarray(truth, dtype=bool)
    flagged = np.asarray(verdict != COUNTED)
    tp = int(np.count_nonzero(flagged & truth))
    n_flagged = int(np.count_nonzero(flagged))
    positives = int(np.count_nonzero(truth))
    precision = tp / n_flagged if n_flagged else 0.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    genuine = ~truth
    both = 0 < positives < len(truth)
    return Detection(
        votes=len(truth),
        positives=positives,
        flagged=n_flagged,
        roc_auc=float(roc_auc_score(truth, score)) if both else float("nan"),
        precision=precision,
        recall=recall,
        f1=f1,
        genuine_excluded=float(np.mean(verdict[genuine] == EXCLUDED)) if np.any(genuine) else 0.0,
        genuine_flagged=float(np.mean(flagged[genuine])) if np.any(genuine) else 0.0,
    )


def comprehensive_scores(table: RatingTable, products: npt.NDArray[np.int64], keep: Bools | None = None) -> F64:
    """Each product's equal-weights score over the kept votes (NaN for a product with none)."""
    chosen = ~np.isnan(table.vote_mean) if keep is None else keep & ~np.isnan(table.vote_mean)
    position = np.searchsorted(products, table.product_id)
    position = np.clip(position, 0, max(len(products) - 1, 0))
    match = chosen & (products[position] == table.product_id) if len(products) else np.zeros(len(table), bool)
    sums = np.bincount(position[match], weights=table.vote_mean[match], minlength=len(products))
    counts = np.bincount(position[match], minlength=len(products))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def prediction_shift(
    clean: RatingTable, attacked: RatingTable, flagged: Bools, targets: npt.NDArray[np.int64]
) -> Shift:
    products = np.sort(np.asarray(targets, dtype=np.int64))
    honest = comprehensive_scores(clean, products)
    raw = comprehensive_scores(attacked, products)
    screened = comprehensive_scores(attacked, products, keep=~flagged)
    return Shift(raw=float(np.nanmean(raw - honest)), screened=float(np.nanmean(screened - honest)))


def run_attack(
    base: RatingTable,
    kind: str,
    *,
    attack_size: float,
    filler_size: float,
    targets: int,
    seed: int,
    campaign_days: float = 14.0,
    screener: Callable[[], Screener] = Screener,
) -> AttackRun:
    """Inject one attack into ``base``, fit a fresh screener on the attacked data WITHOUT the attack
    labels (rules + anomaly model), score it, and measure."""
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    target_ids = pick_targets(base, targets, rng)
    attacked, injected = inject(
        base,
        kind,
        attack_size=attack_size,
        filler_size=filler_size,
        targets=target_ids,
        rng=rng,
        campaign_days=campaign_days,
    )
    model = screener()
    features = rater_features(attacked, model.params)
    result = model.fit(attacked, random_state=seed, features=features).score(attacked, features=features)
    return AttackRun(
        kind=kind,
        attack_size=attack_size,
        filler_size=filler_size,
        targets=target_ids,
        injected=int(np.count_nonzero(injected)),
        detection=detection(injected, result.score, result.verdict),
        shift=prediction_shift(base, attacked, result.flagged, target_ids),
        seconds=time.monotonic() - started,
    )


def cross_validate_text(
    texts: Sequence[str],
    labels: npt.NDArray[np.int64],
    groups: Sequence[str] | None = None,
    *,
    folds: int = 5,
    random_state: int = 7,
) -> dict[str, float]:
    """Cross-validated accuracy, precision, recall, F1 (at 0.5) and ROC-AUC of the comment model.

    Folds keep each ``group`` (e.g. an account or a template family) on one side when given.
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = np.asarray(labels, dtype=np.int64)
    if len(np.unique(y)) < 2:
        raise ValueError("the labels need both classes (0 and 1)")
    minority = int(min(np.sum(y == 1), np.sum(y == 0)))
    k = max(2, min(folds, minority))
    text = list(texts)
    probability = np.zeros(len(y))
    if groups is not None:
        splits = StratifiedGroupKFold(k, shuffle=True, random_state=random_state).split(text, y, list(groups))
    else:
        splits = StratifiedKFold(k, shuffle=True, random_state=random_state).split(text, y)
    for train, test in splits:
        model = comment_model(random_state).fit([text[i] for i in train], y[train])
        probability[test] = model.predict_proba([text[i] for i in test])[:, 1]
    predicted = (probability >= 0.5).astype(np.int64)
    precision, recall, f1, _ = precision_recall_fscore_support(y, predicted, average="binary", zero_division=0)
    return {
        "folds": float(k),
        "accuracy": float(accuracy_score(y, predicted)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(roc_auc_score(y, probability)),
    }


def cross_fitted(
    table: RatingTable,
    labels: F64,
    *,
    folds: int = 3,
    seed: int = 7,
    screener: Callable[[], Screener] = Screener,
) -> tuple[F64, npt.NDArray[np.str_], Bools]:
    """Score every labelled vote with a screener that did not see its rater's labels.

    Raters are split into ``folds``; for each, a screener is fitted with the other raters' labels
    (its own are hidden) and scores the table. Returns score and verdict per vote and which rows
    were scored (the labelled ones).
    """
    labelled = ~np.isnan(labels)
    raters = np.unique(table.user_id[labelled])
    rng = np.random.default_rng(seed)
    fold_of_rater = rng.permutation(len(raters)) % max(folds, 2)
    fold = np.full(len(table), -1, dtype=np.int64)
    fold[labelled] = fold_of_rater[np.searchsorted(raters, table.user_id[labelled])]
    score = np.full(len(table), np.nan)
    verdict = np.full(len(table), COUNTED, dtype="<U8")
    features = None
    for k in range(max(folds, 2)):
        hidden = fold == k
        if not np.any(hidden):
            continue
        model = screener()
        features = features if features is not None else rater_features(table, model.params)
        result = model.fit(table, np.where(hidden, np.nan, labels), random_state=seed, features=features).score(
            table, features=features
        )
        score[hidden] = result.score[hidden]
        verdict[hidden] = result.verdict[hidden]
    return score, verdict, labelled
