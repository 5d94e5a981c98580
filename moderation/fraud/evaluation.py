"""How well screening works: detection metrics per attack, and how far attacks move the scores.

A vote is *flagged* when its verdict is not "counted" (review or excluded): until managers decide,
a vote under review does not count either. A rater is flagged when any of their votes is.

Two shifts measure what an attack does to the targets, each without and with screening (flagged
votes left out), against the honest data with all its votes:

* the *score shift*: the mean over the targets of (comprehensive score with the attack - without it),
  the comprehensive score being the platform's equal-weights score (the mean over a product's votes
  of each vote's mean factor score);
* the *prediction shift* of the recommender-systems literature (Mobasher, Burke, Bhaumik & Williams
  2007, "Toward trustworthy recommender systems"): the mean change of a user-based kNN prediction of
  the target for honest users who did not rate it (mean-centred similarity over co-rated products,
  significance-weighted by n/50, the 20 most similar raters of the target).

Every setting (kind, attack size, filler size) is run for several seeds, each with its own target(s),
and reported as the mean and standard deviation over the runs: one run's cut swings with the target.
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
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

#: The benchmark an attack setting is held to (issue 12). Attacks of at least ``FULL_ATTACK`` of the
#: raters must be caught with high precision and recall and their shift cut; smaller ones must be
#: mostly caught and screening must never make a target's shift worse. Genuine votes flagged and
#: excluded stay within the false-positive budget either way.
FULL_ATTACK = 0.05
TARGET_PRECISION = 0.95
TARGET_RECALL = 0.95
TARGET_SMALL_RECALL = 0.8
TARGET_SHIFT_CUT = 0.8
TARGET_GENUINE_FLAGGED = 0.02
TARGET_GENUINE_EXCLUDED = 0.005

#: A shift counts as made worse by screening only when it grew by more than this (points of the scale):
#: leaving out flagged honest votes moves a kNN prediction by a hair even when no attacker was caught.
WORSE_BY = 0.01

NEIGHBOURS = 20
SIGNIFICANCE = 50.0


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
        """How much of the shift screening removed (1.0 = all of it; negative = screening made it worse)."""
        if abs(self.raw) < 1e-12:
            return float("nan")
        return 1.0 - abs(self.screened) / abs(self.raw)


@dataclass(frozen=True)
class AttackRun:
    kind: str
    attack_size: float
    filler_size: float
    seed: int
    targets: I64
    injected: int
    #: Per vote (truth: injected), and per rater (truth: an injected account; flagged: any vote flagged;
    #: score: the rater's highest vote score).
    detection: Detection
    raters: Detection
    shift: Shift
    prediction: Shift
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


def rater_detection(user_id: I64, truth: Bools, score: F64, verdict: npt.NDArray[np.str_]) -> Detection:
    """``detection`` per rater: a rater is positive if any vote is, flagged (or excluded) if any vote
    is, and scored by their highest vote score."""
    _, rater = np.unique(user_id, return_inverse=True)
    rater = rater.reshape(-1)
    n = int(rater.max()) + 1 if len(rater) else 0
    positive = np.zeros(n, dtype=bool)
    np.logical_or.at(positive, rater, truth)
    rank = np.select([verdict == EXCLUDED, verdict != COUNTED], [2, 1], 0)
    worst = np.zeros(n, dtype=np.int64)
    np.maximum.at(worst, rater, rank)
    highest = np.full(n, -np.inf)
    np.fmax.at(highest, rater, score)
    return detection(positive, highest, np.asarray(["counted", "review", EXCLUDED])[worst])


def comprehensive_scores(table: RatingTable, products: I64, keep: Bools | None = None) -> F64:
    """Each product's equal-weights score over the kept votes (NaN for a product with none)."""
    chosen = ~np.isnan(table.vote_mean) if keep is None else keep & ~np.isnan(table.vote_mean)
    position = np.searchsorted(products, table.product_id)
    position = np.clip(position, 0, max(len(products) - 1, 0))
    match = chosen & (products[position] == table.product_id) if len(products) else np.zeros(len(table), bool)
    sums = np.bincount(position[match], weights=table.vote_mean[match], minlength=len(products))
    counts = np.bincount(position[match], minlength=len(products))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def score_shift(clean: RatingTable, attacked: RatingTable, flagged: Bools, targets: I64) -> Shift:
    """The targets' mean comprehensive-score shift, without and with screening."""
    products = np.sort(np.asarray(targets, dtype=np.int64))
    honest = comprehensive_scores(clean, products)
    raw = comprehensive_scores(attacked, products)
    screened = comprehensive_scores(attacked, products, keep=~flagged)
    return Shift(raw=float(np.nanmean(raw - honest)), screened=float(np.nanmean(screened - honest)))


def knn_predictions(table: RatingTable, users: I64, target: int) -> F64:
    """User-based kNN predictions of ``target`` for ``users`` (NaN where a user has no votes or no
    similar rater of the target): the user's mean plus the similarity-weighted mean of the
    ``NEIGHBOURS`` most similar raters' deviations from their own means on the target."""
    from scipy.sparse import csr_matrix

    ok = ~np.isnan(table.vote_mean)
    user_codes, rater = np.unique(table.user_id[ok], return_inverse=True)
    product_codes, item = np.unique(table.product_id[ok], return_inverse=True)
    rating = table.vote_mean[ok]
    counts = np.bincount(rater, minlength=len(user_codes))
    mean = np.bincount(rater, weights=rating, minlength=len(user_codes)) / np.maximum(counts, 1)
    centred = rating - mean[rater]
    shape = (len(user_codes), len(product_codes))
    values = csr_matrix((centred, (rater, item)), shape=shape)
    rated = csr_matrix((np.ones(len(rater)), (rater, item)), shape=shape)
    squares = csr_matrix((centred**2, (rater, item)), shape=shape)
    out = np.full(len(users), np.nan)
    at = np.searchsorted(user_codes, users)
    present = (at < len(user_codes)) & (user_codes[np.minimum(at, len(user_codes) - 1)] == users)
    column = np.searchsorted(product_codes, target)
    if not np.any(present) or column >= len(product_codes) or product_codes[column] != target:
        return out
    neighbours = np.flatnonzero(rated[:, column].toarray().ravel() > 0)
    if not len(neighbours):
        return out
    rows = at[present]
    product = (values[rows] @ values[neighbours].T).toarray()
    norm_u = (squares[rows] @ rated[neighbours].T).toarray()
    norm_v = (rated[rows] @ squares[neighbours].T).toarray()
    common = (rated[rows] @ rated[neighbours].T).toarray()
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = np.where(norm_u * norm_v > 0, product / np.sqrt(norm_u * norm_v), 0.0)
    similarity *= np.minimum(common, SIGNIFICANCE) / SIGNIFICANCE
    similarity[similarity <= 0] = 0.0
    if similarity.shape[1] > NEIGHBOURS:
        cut = np.partition(similarity, -NEIGHBOURS, axis=1)[:, -NEIGHBOURS][:, None]
        similarity[similarity < cut] = 0.0
    deviation = values[neighbours, column].toarray().ravel()
    weight = similarity.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[present] = np.where(weight > 0, mean[rows] + similarity @ deviation / weight, np.nan)
    return out


def prediction_shift(
    clean: RatingTable,
    attacked: RatingTable,
    flagged: Bools,
    targets: I64,
    *,
    rng: np.random.Generator,
    users: int = 300,
) -> Shift:
    """The literature's prediction shift of the targets, without and with screening: for each target,
    up to ``users`` honest raters who did not rate it, the mean of (prediction on the attacked data -
    prediction on the honest data), over the users predicted in all three."""
    screened = attacked.take(~flagged)
    raw_shifts, screened_shifts = [], []
    for target in np.unique(targets).tolist():
        pool = np.setdiff1d(np.unique(clean.user_id), clean.user_id[clean.product_id == target])
        chosen = rng.choice(pool, size=min(users, len(pool)), replace=False) if len(pool) else pool
        honest = knn_predictions(clean, chosen, target)
        with_attack = knn_predictions(attacked, chosen, target)
        after = knn_predictions(screened, chosen, target)
        both = ~np.isnan(honest) & ~np.isnan(with_attack) & ~np.isnan(after)
        if np.any(both):
            raw_shifts.append(float(np.mean(with_attack[both] - honest[both])))
            screened_shifts.append(float(np.mean(after[both] - honest[both])))
    if not raw_shifts:
        return Shift(raw=float("nan"), screened=float("nan"))
    return Shift(raw=float(np.mean(raw_shifts)), screened=float(np.mean(screened_shifts)))


def run_attack(
    base: RatingTable,
    kind: str,
    *,
    attack_size: float,
    filler_size: float,
    targets: I64,
    seed: int,
    campaign_days: float = 14.0,
    screener: Callable[[], Screener] = Screener,
) -> AttackRun:
    """Inject one attack on ``targets`` into ``base``, fit a fresh screener on the attacked data
    WITHOUT the attack labels (rules + anomaly model), score it, and measure."""
    started = time.monotonic()
    rng = np.random.default_rng([seed, *np.asarray(targets, dtype=np.int64).tolist()])
    attacked, injected = inject(
        base,
        kind,
        attack_size=attack_size,
        filler_size=filler_size,
        targets=targets,
        rng=rng,
        campaign_days=campaign_days,
    )
    model = screener()
    features = rater_features(attacked, model.params)
    result = model.fit(attacked, random_state=seed, features=features).score(attacked, features=features)
    clean = attacked.take(~injected)  # the base under the ids the injection gave it
    return AttackRun(
        kind=kind,
        attack_size=attack_size,
        filler_size=filler_size,
        seed=seed,
        targets=np.asarray(targets, dtype=np.int64),
        injected=int(np.count_nonzero(injected)),
        detection=detection(injected, result.score, result.verdict),
        raters=rater_detection(attacked.user_id, injected, result.score, result.verdict),
        shift=score_shift(clean, attacked, result.flagged, targets),
        prediction=prediction_shift(clean, attacked, result.flagged, targets, rng=rng),
        seconds=time.monotonic() - started,
    )


def run_setting(
    base: RatingTable,
    kind: str,
    *,
    attack_size: float,
    filler_size: float,
    seeds: Sequence[int],
    targets: int = 1,
    campaign_days: float = 14.0,
    screener: Callable[[], Screener] = Screener,
) -> list[AttackRun]:
    """One setting, measured as the literature does: for each seed, ``targets`` target products picked
    afresh, each attacked in a run of its own."""
    runs = []
    for seed in seeds:
        for target in pick_targets(base, targets, np.random.default_rng(seed)).tolist():
            runs.append(
                run_attack(
                    base,
                    kind,
                    attack_size=attack_size,
                    filler_size=filler_size,
                    targets=np.asarray([target], dtype=np.int64),
                    seed=seed,
                    campaign_days=campaign_days,
                    screener=screener,
                )
            )
    return runs


def mean_and_spread(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the standard deviation (0 for a single value) of the values that are not NaN."""
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    if not len(array):
        return float("nan"), float("nan")
    return float(np.mean(array)), float(np.std(array, ddof=1)) if len(array) > 1 else 0.0


def shortfalls(runs: Sequence[AttackRun]) -> list[str]:
    """What a setting's runs (one kind, size and filler) miss of the benchmark; empty when met."""

    def mean(metric: Callable[[AttackRun], float]) -> float:
        return mean_and_spread([metric(run) for run in runs])[0]

    missed = []
    precision, recall = mean(lambda r: r.detection.precision), mean(lambda r: r.detection.recall)
    full = runs[0].attack_size >= FULL_ATTACK - 1e-9
    # truncated, not rounded: a mean precision of 0.9496 reads "0.949 < 0.95", not "0.950 < 0.95"
    if full and precision < TARGET_PRECISION:
        missed.append(f"precision {np.floor(precision * 1000) / 1000:.3f} < {TARGET_PRECISION}")
    wanted = TARGET_RECALL if full else TARGET_SMALL_RECALL
    if recall < wanted:
        missed.append(f"recall {np.floor(recall * 1000) / 1000:.3f} < {wanted}")
    flagged = mean(lambda r: r.detection.genuine_flagged)
    if flagged > TARGET_GENUINE_FLAGGED:
        missed.append(f"genuine flagged {flagged:.2%} > {TARGET_GENUINE_FLAGGED:.0%}")
    excluded = mean(lambda r: r.detection.genuine_excluded)
    if excluded > TARGET_GENUINE_EXCLUDED:
        missed.append(f"genuine excluded {excluded:.2%} > {TARGET_GENUINE_EXCLUDED:.1%}")
    for name, shifts in (("score", [run.shift for run in runs]), ("prediction", [run.prediction for run in runs])):
        cut = mean_and_spread([shift.reduction for shift in shifts])[0]
        if full and cut < TARGET_SHIFT_CUT:
            missed.append(f"{name} shift cut {cut:.0%} < {TARGET_SHIFT_CUT:.0%}")
        worse = sum(1 for shift in shifts if abs(shift.screened) > abs(shift.raw) + WORSE_BY)
        if worse:
            missed.append(f"screening worsened the {name} shift (by > {WORSE_BY}) in {worse} of {len(runs)} runs")
    return missed


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
