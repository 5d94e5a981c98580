"""How sure a place on a category's list is: a bootstrap over each product's raters.

Pure numpy, no ORM (the scoring job reads the votes and writes the intervals). Each replicate re-draws
the raters: a Poisson bootstrap, in which every rater counts a Poisson(1) number of times (0, 1, 2, …),
the large-sample form of drawing them with replacement that needs no per-rater arrays (Hanley &
MacGibbon 2006; Chamandy et al. 2012). Raters who gave a product the same vote score are one bin, re-drawn
at once (a sum of Poisson(1) is Poisson(bin size)), so a replicate costs the number of bins, not of votes.
A rater who rated two products of the category is re-drawn in each apart (a rater rarely buys two rival
products; reading who rated what would cost a second scan of every score).

Each product's ranking score is recomputed from the re-drawn votes (the comprehensive score moved by
the change in its mean vote score, then shrunk towards the category prior as the published one is), the
products are ranked in every replicate, and a product's interval is the central ``level`` share of its
places. A place is always inside its own interval: the percentiles are widened to it when the bootstrap's
distribution sits to one side.

Deterministic: the generator is seeded from the category id, so a re-run over the same votes gives the
same intervals.
"""

from dataclasses import dataclass

import numpy as np

#: Replicates of the bootstrap and the share of places the interval holds.
REPLICATES = 500
LEVEL = 0.90


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
    bin_product: np.ndarray,
    bin_score: np.ndarray,
    bin_votes: np.ndarray,
    prior: float,
    prior_strength: int,
    seed: int,
    replicates: int = REPLICATES,
    level: float = LEVEL,
) -> RankIntervals:
    """The rank intervals of products ranked by ``ranking`` (already in the order of their places).

    ``comprehensive`` and ``counted`` are each product's published figures. The votes come as bins, three
    parallel arrays: the product's index (into the arrays above), a vote score (a vote's weighted mean
    over the factors it scored) and how many of the product's counted votes have it. A product with no
    bin keeps its published ranking score in every replicate.
    """
    products = len(ranking)
    places = np.arange(1, products + 1)
    if products == 0:
        return RankIntervals(low=places.copy(), high=places.copy())
    order = np.argsort(bin_product, kind="stable")
    by_product = bin_product[order]
    score = bin_score[order].astype(np.float64)
    votes = bin_votes[order].astype(np.float64)
    voted, starts = np.unique(by_product, return_index=True)
    base = np.asarray(ranking, dtype=np.float64)
    if len(voted) == 0:
        return RankIntervals(low=places.copy(), high=places.copy())
    n_votes = np.add.reduceat(votes, starts)
    plain_mean = np.add.reduceat(votes * score, starts) / n_votes
    # The votes read may differ slightly from those counted (a vote whose verdict changed after the
    # cut-off, say): the re-drawn count is scaled to the published one, the mean moved by the change.
    scale = np.asarray(counted, dtype=np.float64)[voted] / n_votes
    published = np.asarray(comprehensive, dtype=np.float64)[voted]

    rng = np.random.default_rng(seed)
    drawn = rng.poisson(votes, size=(replicates, len(votes))).astype(np.float64)
    n = np.add.reduceat(drawn, starts, axis=1)
    total = np.add.reduceat(drawn * score, starts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        moved = np.where(n > 0, total / n - plain_mean, 0.0)
    n_counted = n * scale
    shrunk = (n_counted * (published + moved) + prior_strength * prior) / np.maximum(n_counted + prior_strength, 1e-12)
    sample = np.broadcast_to(base, (replicates, products)).copy()
    sample[:, voted] = shrunk
    # Ties keep the order of the places (the list's own tie-break: more votes, then the older product).
    by_score = np.argsort(-sample, axis=1, kind="stable")
    ranks = np.empty((replicates, products), dtype=np.int32)
    np.put_along_axis(ranks, by_score, np.broadcast_to(places.astype(np.int32), (replicates, products)), axis=1)
    tail = (1 - level) / 2
    low = np.quantile(ranks, tail, axis=0, method="inverted_cdf").astype(np.int64)
    high = np.quantile(ranks, 1 - tail, axis=0, method="inverted_cdf").astype(np.int64)
    return RankIntervals(low=np.minimum(low, places), high=np.maximum(high, places))
