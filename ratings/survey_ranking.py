"""How a factor survey's answers become one ranking: a Borda count, with Kendall's W as the agreement.

Pure numbers, no ORM: the survey selector reads the ranks, this module counts them.

*Borda count.* With ``n`` candidates, a respondent's first place earns ``n − 1`` points, the next
``n − 2`` … the last 0; a candidate's score is its points summed over the respondents. Every answer
ranks every candidate, so no place is ever shared.

*Kendall's coefficient of concordance* (W, 0 = no agreement, 1 = every respondent gave the same
ranking): with ``m`` respondents, ``R_i`` the sum of candidate ``i``'s ranks and ``R̄`` their mean,
``W = 12 · Σ (R_i − R̄)² ÷ (m² · (n³ − n))``. It needs two respondents and two candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

METHOD_NAME = "Borda count; agreement: Kendall's W"


@dataclass(frozen=True)
class CandidateTally:
    candidate: int
    #: Borda points: summed over respondents, ``n − rank`` each.
    points: int
    #: How many respondents put it first, and in their top three.
    firsts: int
    top_three: int
    mean_rank: float


#: The ranking method's name, as the API states it.
METHOD = "borda"


@dataclass(frozen=True)
class SurveyRanking:
    #: Best first; ties in points go to more first places, then to the lower candidate id.
    tallies: list[CandidateTally]
    respondents: int
    #: Kendall's W, or None with fewer than two respondents or candidates.
    agreement: float | None


def borda_ranking(candidates: Sequence[int], rankings: Sequence[Sequence[int]]) -> SurveyRanking:
    """Rank ``candidates`` (ids) from ``rankings``: each a full ordering of those ids, most important first.

    Raises ``ValueError`` when a ranking is not a permutation of the candidates.
    """
    n = len(candidates)
    expected = set(candidates)
    rank_sums = dict.fromkeys(candidates, 0)
    firsts = dict.fromkeys(candidates, 0)
    top_three = dict.fromkeys(candidates, 0)
    for ranking in rankings:
        if len(ranking) != n or set(ranking) != expected:
            raise ValueError("every ranking must order every candidate exactly once")
        for place, candidate in enumerate(ranking, start=1):
            rank_sums[candidate] += place
            firsts[candidate] += place == 1
            top_three[candidate] += place <= 3
    m = len(rankings)
    tallies = [
        CandidateTally(
            candidate=candidate,
            points=m * n - rank_sums[candidate],
            firsts=firsts[candidate],
            top_three=top_three[candidate],
            mean_rank=rank_sums[candidate] / m if m else 0.0,
        )
        for candidate in candidates
    ]
    tallies.sort(key=lambda tally: (-tally.points, -tally.firsts, tally.candidate))
    agreement = None
    if m >= 2 and n >= 2:
        mean_sum = m * (n + 1) / 2
        spread = sum((rank_sum - mean_sum) ** 2 for rank_sum in rank_sums.values())
        agreement = 12 * spread / (m**2 * (n**3 - n))
    return SurveyRanking(tallies=tallies, respondents=m, agreement=agreement)
