"""How sure a place on a category's list is: a bootstrap over the category's raters.

Pure numpy, no ORM (the scoring job reads the votes and writes the intervals). Each replicate draws the
category's raters with replacement, as many as there are: a rater drawn twice counts twice in every
product they rated, one not drawn counts in none. Each product's ranking score is recomputed from the
resampled votes (the comprehensive score moved by the resample's change in its mean vote, then shrunk
towards the category prior as the published one is), the products are ranked in every replicate, and a
product's interval is the central ``level`` share of its places. A place is always inside its own
interval: the percentiles are widened to it when the bootstrap's distribution sits to one side.

Deterministic: the generator is seeded from the category id, so a re-run over the same votes gives the
same intervals. Cost: ``replicates`` × votes of the category, in chunks of replicates whose arrays stay
under ~50 MB.
"""

from dataclasses import dataclass

import numpy as np

#: Replicates of the bootstrap and the share of places the interval holds.
REPLICATES = 500
LEVEL = 0.90
#: Float cells per chunk of replicates × votes (8 bytes each: ~48 MB).
_CHUNK_CELLS = 6_000_000


@dataclass(frozen=True)
class RankIntervals:
    """For products in the order of their places (index 0 is place 1): the interval's ends, 1-based."""

    low: np.ndarray
    high: np.ndarray


def rank_intervals(
    *,
    ranking: np.ndarray,
    comprehensive: np.ndarray,
    counted: np.ndarray,
    vote_product: np.ndarray,
    vote_rater: np.ndarray,
    vote_score: np.ndarray,
    prior: float,
    prior_strength: int,
    seed: int,
    replicates: int = REPLICATES,
    level: float = LEVEL,
) -> RankIntervals:
    """The rank intervals of products ranked by ``ranking`` (already in the order of their places).

    ``comprehensive`` and ``counted`` are each product's published figures; the votes are given as three
    parallel arrays: the product's index (into the arrays above), the rater (any integer id), and the
    vote's own score (its weighted mean over the factors it scored). A product with no vote in the arrays
    keeps its published ranking score in every replicate.
    """
    products = len(ranking)
    places = np.arange(1, products + 1)
    if products == 0:
        return RankIntervals(low=places.copy(), high=places.copy())
    raters, rater_index = np.unique(vote_rater, return_inverse=True)
    order = np.argsort(vote_product, kind="stable")
    by_product, rater_of_vote = vote_product[order], rater_index[order]
    score = vote_score[order].astype(np.float64)
    voted, starts = np.unique(by_product, return_index=True)
    n_votes = np.diff(np.append(starts, len(by_product))).astype(np.float64)
    plain_mean = np.add.reduceat(score, starts) / n_votes if len(starts) else np.zeros(0)
    # The votes read may differ slightly from those counted (a vote whose verdict changed after the
    # cut-off, say): the resampled count is scaled to the published one, the mean moved by the change.
    scale = counted[voted] / n_votes
    base = np.asarray(ranking, dtype=np.float64)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(replicates, _CHUNK_CELLS // max(1, len(score), len(raters))))
    ranks = np.empty((replicates, products), dtype=np.int32)
    for first in range(0, replicates, chunk):
        size = min(chunk, replicates - first)
        draws = rng.integers(0, len(raters), size=(size, len(raters)))
        offsets = (draws + np.arange(size)[:, None] * len(raters)).ravel()
        weights = np.bincount(offsets, minlength=size * len(raters)).reshape(size, len(raters)).astype(np.float64)
        per_vote = weights[:, rater_of_vote]
        n = np.add.reduceat(per_vote, starts, axis=1) if len(starts) else np.zeros((size, 0))
        total = np.add.reduceat(per_vote * score, starts, axis=1) if len(starts) else np.zeros((size, 0))
        with np.errstate(invalid="ignore", divide="ignore"):
            moved = np.where(n > 0, total / n - plain_mean, 0.0)
        n_counted = n * scale
        shrunk = ((n_counted * (comprehensive[voted] + moved)) + prior_strength * prior) / np.maximum(
            n_counted + prior_strength, 1e-12
        )
        sample = np.broadcast_to(base, (size, products)).copy()
        sample[:, voted] = shrunk
        # Ties keep the order of the places (the list's own tie-break: more votes, then the older product).
        by_score = np.argsort(-sample, axis=1, kind="stable")
        np.put_along_axis(ranks[first : first + size], by_score, places[None, :].astype(np.int32), axis=1)
    tail = (1 - level) / 2
    low = np.quantile(ranks, tail, axis=0, method="inverted_cdf").astype(np.int64)
    high = np.quantile(ranks, 1 - tail, axis=0, method="inverted_cdf").astype(np.int64)
    return RankIntervals(low=np.minimum(low, places), high=np.maximum(high, places))
