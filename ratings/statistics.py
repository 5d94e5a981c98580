"""The numbers of the scoring method, as pure functions over 1–5 histograms: no database in here.

Every figure of a factor follows from how many counted votes gave it each score 1–5, so the job
needs only five counts per factor from the database. Every counted vote weighs exactly 1.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from math import sqrt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Bump when any formula here changes: results record the version that made them.
METHOD_VERSION = "2026.11"
SCALE_MIN = 1
SCALE_MAX = 5
SCORES = tuple(range(SCALE_MIN, SCALE_MAX + 1))
CONFIDENCE = 0.95
#: Variance of scores drawn uniformly at random from 1–5: (A² − 1) / 12 with A = 5 options.
UNIFORM_VARIANCE = (len(SCORES) ** 2 - 1) / 12
#: The prior of a category with no counted vote yet: the middle of the scale.
NEUTRAL_PRIOR = (SCALE_MIN + SCALE_MAX) / 2

Histogram = Sequence[int]


@dataclass(frozen=True)
class FactorFigures:
    votes: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    median: float | None
    agreement: float | None


@dataclass(frozen=True)
class Candidate:
    """A published product as the list sees it."""

    product_id: int
    ranking_score: float
    comprehensive: float
    counted: int


#: ``t_quantile``'s figures, by degrees of freedom: kept for the process's life (a few thousand floats).
_T_QUANTILES: dict[int, float] = {}


def t_quantile(df: int) -> float:
    """The two-sided 95% quantile of Student's t with ``df`` degrees of freedom."""
    known = _T_QUANTILES.get(df)
    return known if known is not None else t_quantiles([df])[0]


def t_quantiles(dfs: Sequence[int]) -> list[float]:
    """``t_quantile`` of each of ``dfs``, those not known yet computed in one call of scipy's ``t.ppf`` over an
    array: the same figures to the last bit (one ufunc, element by element; tested), but scipy's per-call cost,
    ~1 ms, is paid once, not once per value (the full run's first categories met ~1,450 of them: 1.5 s)."""
    missing = sorted({int(df) for df in dfs if int(df) not in _T_QUANTILES})
    if missing:
        from scipy.stats import t  # lazily: web processes that never score stay light

        _T_QUANTILES.update(zip(missing, t.ppf(0.5 + CONFIDENCE / 2, missing).tolist(), strict=True))
    return [_T_QUANTILES[int(df)] for df in dfs]


def _median(histogram: Histogram, votes: int) -> float:
    # The middle one or two scores, read off the cumulative counts: no sorting needed.
    def nth(position: int) -> int:
        seen = 0
        for score, count in zip(SCORES, histogram, strict=True):
            seen += count
            if position < seen:
                return score
        raise ValueError(position)  # pragma: no cover - position < votes by construction

    return (nth((votes - 1) // 2) + nth(votes // 2)) / 2


def factor_figures(histogram: Histogram) -> FactorFigures:
    """Count, mean, standard deviation, 95% t-interval, median and agreement of one factor.

    ``agreement`` is rwg (James, Demaree & Wolf): 1 − observed variance / variance of random answers,
    truncated to [0, 1]; it needs two votes, like the standard deviation and the interval.
    """
    if len(histogram) != len(SCORES) or any(count < 0 for count in histogram):
        raise ValueError("a histogram has five non-negative counts")
    votes = sum(histogram)
    if votes == 0:
        return FactorFigures(votes=0, mean=None, sd=None, ci_low=None, ci_high=None, median=None, agreement=None)
    total = sum(score * count for score, count in zip(SCORES, histogram, strict=True))
    mean = total / votes
    median = _median(histogram, votes)
    if votes == 1:
        return FactorFigures(votes=1, mean=mean, sd=None, ci_low=None, ci_high=None, median=median, agreement=None)
    squares = sum(count * (score - mean) ** 2 for score, count in zip(SCORES, histogram, strict=True))
    variance = squares / (votes - 1)
    sd = sqrt(variance)
    half = t_quantile(votes - 1) * sd / sqrt(votes)
    return FactorFigures(
        votes=votes,
        mean=mean,
        sd=sd,
        ci_low=max(SCALE_MIN, mean - half),
        ci_high=min(SCALE_MAX, mean + half),
        median=median,
        agreement=min(1.0, max(0.0, 1 - variance / UNIFORM_VARIANCE)),
    )


@dataclass(frozen=True)
class FactorFiguresMatrix:
    """``factor_figures`` of many histograms at once: one array per figure, NaN where that gives None."""

    votes: "np.ndarray"
    mean: "np.ndarray"
    sd: "np.ndarray"
    ci_low: "np.ndarray"
    ci_high: "np.ndarray"
    median: "np.ndarray"
    agreement: "np.ndarray"


def factor_figures_matrix(histograms: "np.ndarray") -> FactorFiguresMatrix:
    """``factor_figures`` over a matrix of histograms (one row of five counts per factor), in numpy.

    The same formulas in the same order of operations, so every figure equals ``factor_figures``'s to
    the last bit (the scoring job publishes these; tests compare the two): the sum of squares adds the
    five terms as Python's ``sum`` does, and the t quantiles are ``t_quantiles``'s, which ``t_quantile`` reads too.
    """
    import numpy as np  # lazily, like scipy: web processes that never score stay light

    counts = np.asarray(histograms, dtype=np.int64).reshape(-1, len(SCORES))
    if (counts < 0).any():
        raise ValueError("a histogram has five non-negative counts")
    scores = np.array(SCORES, dtype=np.int64)
    votes = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(votes > 0, (counts * scores).sum(axis=1) / votes, np.nan)
        # Squared with Python's float power (C ``pow``), not numpy's: the two differ in the last bit now and
        # then. Then summed left to right, as ``sum`` does.
        squared = np.array([d**2 for d in (scores - mean[:, None]).ravel().tolist()]).reshape(counts.shape)
        deviations = counts * squared
        squares = deviations[:, 0]
        for column in range(1, len(SCORES)):
            squares = squares + deviations[:, column]
        variance = np.where(votes > 1, squares / (votes - 1), np.nan)
        sd = np.sqrt(variance)
        dfs, where = np.unique(np.maximum(votes - 1, 1), return_inverse=True)
        quantiles = np.where(votes > 1, np.array(t_quantiles(dfs.tolist()))[where], np.nan)
        half = quantiles * sd / np.sqrt(votes)
    # The middle one or two scores, read off the cumulative counts (as ``_median``).
    cumulative = counts.cumsum(axis=1)

    def nth(position: "np.ndarray") -> "np.ndarray":
        chosen: np.ndarray = scores[(position[:, None] < cumulative).argmax(axis=1)]
        return chosen

    median = np.where(votes > 0, (nth((votes - 1) // 2) + nth(votes // 2)) / 2, np.nan)
    return FactorFiguresMatrix(
        votes=votes,
        mean=mean,
        sd=sd,
        ci_low=np.maximum(SCALE_MIN, mean - half),
        ci_high=np.minimum(SCALE_MAX, mean + half),
        median=median,
        agreement=np.minimum(1.0, np.maximum(0.0, 1 - variance / UNIFORM_VARIANCE)),
    )


def histogram_mean(histogram: Histogram) -> float | None:
    """The mean score of a histogram (None when empty), without the other figures."""
    votes = sum(histogram)
    if not votes:
        return None
    return sum(score * count for score, count in zip(SCORES, histogram, strict=True)) / votes


def comprehensive_score(means: Sequence[float | None], weights: Sequence[float]) -> float | None:
    """The weighted mean of the factor means (factors without votes left out)."""
    pairs = [(mean, weight) for mean, weight in zip(means, weights, strict=True) if mean is not None]
    total_weight = sum(weight for _, weight in pairs)
    if not pairs or total_weight <= 0:
        return None
    return sum(mean * weight for mean, weight in pairs) / total_weight


def unequal_weight_percents(weights: Sequence[float]) -> list[float]:
    """Each weight's share of their sum, in percent; empty when every weight is the same (the default,
    where each factor counts alike and there is nothing to point out)."""
    if len(set(weights)) <= 1:
        return []
    total = sum(weights)
    return [100 * weight / total for weight in weights]


def ranking_score(comprehensive: float, counted: int, *, prior: float, prior_strength: int) -> float:
    """Shrink toward the category prior as if ``prior_strength`` more votes sat at the prior.

    Small samples stay near the category average; with many votes the product's own score dominates.
    """
    return (counted * comprehensive + prior_strength * prior) / (counted + prior_strength)


def category_prior(scored: Sequence[tuple[float, int]]) -> float:
    """The category's average counted vote: the mean of comprehensive scores weighted by their votes."""
    votes = sum(counted for _, counted in scored)
    if votes == 0:
        return NEUTRAL_PRIOR
    return sum(score * counted for score, counted in scored) / votes


def heart_list(candidates: Sequence[Candidate], *, threshold: float, size: int) -> list[Candidate]:
    """The category's list: ranking score at or above the threshold, best first, at most ``size``.

    Ties go to the product more people rated, then to the older product (smaller id), so the order
    is total and a re-run gives the same list.
    """
    passing = [c for c in candidates if c.ranking_score >= threshold]
    passing.sort(key=lambda c: (-c.ranking_score, -c.counted, c.product_id))
    return passing[:size]


@dataclass(frozen=True)
class Reliability:
    products: int
    votes: int
    icc: float | None
    reliability: float | None


def factor_reliability(groups: Sequence[tuple[int, float, float]]) -> Reliability:
    """One-way ANOVA across products of (votes, mean, sd) per product: ICC(1) and ICC(1,k).

    ICC(1) is the share of score variance lying between products; ICC(1,k) the reliability of the
    product means. A factor near 0 tells products apart no better than chance.
    """
    usable = [(n, mean, sd) for n, mean, sd in groups if n >= 2]
    products = len(usable)
    votes = sum(n for n, _, _ in usable)
    if products < 2 or votes <= products:
        return Reliability(products=products, votes=votes, icc=None, reliability=None)
    grand = sum(n * mean for n, mean, _ in usable) / votes
    between = sum(n * (mean - grand) ** 2 for n, mean, _ in usable) / (products - 1)
    within = sum((n - 1) * sd**2 for n, _, sd in usable) / (votes - products)
    typical_n = (votes - sum(n * n for n, _, _ in usable) / votes) / (products - 1)
    denominator = between + (typical_n - 1) * within
    icc = (between - within) / denominator if denominator > 0 else None
    reliability = (between - within) / between if between > 0 else None
    return Reliability(products=products, votes=votes, icc=icc, reliability=reliability)


#: Bands of rwg, within-group agreement (LeBreton & Senter 2008, table 3): lower bound of each, highest first.
AGREEMENT_BANDS = ((0.9, "very_strong"), (0.7, "strong"), (0.5, "moderate"), (0.3, "weak"), (float("-inf"), "lack"))
#: Bands of an intraclass correlation's reliability (Koo & Li 2016): lower bound of each, highest first.
RELIABILITY_BANDS = ((0.9, "excellent"), (0.75, "good"), (0.5, "moderate"), (float("-inf"), "poor"))


def band(value: float | None, bands: Sequence[tuple[float, str]]) -> str | None:
    """The name of the band ``value`` falls in (a value on a boundary takes the higher band); None for none."""
    if value is None:
        return None
    return next(name for floor, name in bands if value >= floor)
