"""A crowd's burst on a much-rated product: thirty filler accounts give the platform's most popular
product a top score in one week, as a bandwagon does, and forty honest regulars happen to rate it five
that week too. Every push there goes to review; the regulars' other votes stay counted, the crowd's
fillers do not. Pure numpy."""

import numpy as np

from moderation.fraud.data import RatingTable
from moderation.fraud.features import DAY, HOUR, rater_features
from moderation.fraud.rules import Thresholds, apply_rules
from tests.moderation.test_fraud_rules_null import START, sessions

POPULAR = 1  # ``sessions`` makes product 1 the most rated
CROWD = np.arange(40_000_001, 40_000_031)
WEEK = START + 80 * DAY


def crowded_platform(rng: np.random.Generator) -> tuple[RatingTable, np.ndarray]:
    """The honest platform, forty of its regulars (20 ratings and more) rating the popular product five in
    the crowd's week, and the crowd: each rates it and a quiet product five, and forty products at random."""
    honest = sessions(1500, 300, weeks=26, rng=rng)
    regulars = np.flatnonzero(np.bincount(honest.user_id) >= 20)[:40]
    table = honest.concat(
        RatingTable.from_arrays(
            user_id=regulars,
            product_id=np.full(len(regulars), POPULAR),
            timestamp=WEEK + rng.uniform(0, 5 * DAY, len(regulars)),
            scores=np.full((len(regulars), 1), 5.0),
        )
    )
    counts = np.bincount(honest.product_id)
    quiet = int(np.flatnonzero((counts >= 8) & (counts <= 20))[0])
    for n, rater in enumerate(CROWD):
        filler = rng.choice(np.setdiff1d(np.arange(2, 301), [quiet]), size=40, replace=False)
        table = table.concat(
            RatingTable.from_arrays(
                user_id=np.full(42, rater),
                product_id=np.r_[POPULAR, quiet, filler],
                timestamp=WEEK + n * 0.15 * DAY + np.sort(rng.uniform(0, HOUR, 42)),
                scores=np.r_[5.0, 5.0, rng.integers(1, 6, 40)].reshape(-1, 1),
            )
        )
    return table, regulars


def test_a_regulars_push_in_a_crowds_burst_on_a_popular_product_leaves_their_other_votes_counted() -> None:
    table, regulars = crowded_platform(np.random.default_rng(31))
    features = rater_features(table)
    regular = np.isin(table.user_id, regulars)
    in_week = regular & (table.product_id == POPULAR) & (table.timestamp >= WEEK)
    ordinary = regular & (features.column("rater_profile") < Thresholds().crowd_profile)

    result = apply_rules(table, features)
    without = apply_rules(table, features, thresholds=Thresholds(crowd_burst_share=0.0, mild_profile=0.0))

    # their pushes that week are in the crowd's burst, and go to review
    assert np.count_nonzero(result.reasons.has("burst") & in_week) >= 10
    # but the rest of an ordinary regular's ratings stay counted; without the exemption they followed
    assert not np.any(result.reasons.has("account_flagged") & ordinary & ~in_week)
    assert np.count_nonzero(without.reasons.has("account_flagged") & ordinary & ~in_week) >= 100
    # while every vote of the crowd, fillers too, goes to review
    assert np.all(result.score[np.isin(table.user_id, CROWD)] >= 0.5)


def test_a_mild_push_in_a_burst_by_a_rater_far_from_a_filler_leaves_their_other_votes_counted() -> None:
    # given the crowd's week with the crowded-product exemption off, where the regulars' five was a mild push
    # (0.7 standard deviations above the consensus) in the crowd's burst, and their profile 0.87: filler-like
    # enough for their mild pushes to be tested with the fillers' (0.85), short of ``mild_profile``
    table, regulars = crowded_platform(np.random.default_rng(31))
    features = rater_features(table)
    regular = np.isin(table.user_id, regulars)
    in_week = regular & (table.product_id == POPULAR) & (table.timestamp >= WEEK)
    features.column("consensus_dev")[in_week] = 0.7
    features.column("push_bursts")[in_week] = 1.0
    features.column("rater_profile")[regular] = 0.87

    result = apply_rules(table, features, thresholds=Thresholds(crowd_burst_share=0.0))
    without = apply_rules(table, features, thresholds=Thresholds(crowd_burst_share=0.0, mild_profile=0.0))

    # then their push goes to review and the rest of their ratings stay counted; without the rule they followed
    assert np.all(result.reasons.has("burst")[in_week])
    assert not np.any(result.reasons.has("account_flagged") & regular & ~in_week)
    assert np.count_nonzero(without.reasons.has("account_flagged") & regular & ~in_week) >= 100
    # while every vote of the crowd, fillers too, still goes to review
    assert np.all(result.score[np.isin(table.user_id, CROWD)] >= 0.5)
