"""Small attacks are visible: nine filler accounts pushing a product that a few hundred honest raters rate
(a 1% attack) are a burst, counted against the product's own baseline of filler-like pushes, which
leaves out the window's own votes; honest raters alone make no burst. Pure numpy."""

import numpy as np

from moderation.fraud.data import RatingTable
from moderation.fraud.features import DAY, HOUR, FeatureParams, dense_codes, rater_features
from moderation.fraud.rules import apply_rules, burst_edge
from tests.moderation.test_fraud_rules_null import START, sessions

ATTACKERS = np.arange(30_000_001, 30_000_010)


def honest_platform() -> RatingTable:
    return sessions(1500, 300, weeks=26, rng=np.random.default_rng(21))


def busy_target(table: RatingTable) -> int:
    """A product that a few hundred honest raters rate, with a middling mean."""
    counts = np.bincount(table.product_id)
    means = np.bincount(table.product_id, weights=table.vote_mean) / np.maximum(counts, 1)
    fitting = np.flatnonzero((counts >= 150) & (counts <= 400) & (means < 4.0))
    return int(fitting[0])


def with_nine_fillers(honest: RatingTable, target: int, rng: np.random.Generator) -> RatingTable:
    """Nine accounts, spread over twelve days, each rating the target 5 and forty random products at
    random scores (a random attack: its filler votes are far from what others say)."""
    table = honest
    for n, rater in enumerate(ATTACKERS):
        filler = rng.choice(np.setdiff1d(np.arange(1, 301), [target]), size=40, replace=False)
        session = START + 80 * DAY + n * 1.4 * DAY
        table = table.concat(
            RatingTable.from_arrays(
                user_id=np.full(41, rater),
                product_id=np.r_[target, filler],
                timestamp=session + np.sort(rng.uniform(0, HOUR, 41)),
                scores=np.r_[5.0, rng.integers(1, 6, 40)].reshape(-1, 1),
            )
        )
    return table


def test_honest_raters_alone_make_no_burst_even_counting_filler_like_ones() -> None:
    honest = honest_platform()

    burst = apply_rules(honest, rater_features(honest)).reasons.has("burst")

    assert not burst.any()


def test_nine_filler_accounts_pushing_a_product_with_hundreds_of_raters_are_a_burst() -> None:
    honest = honest_platform()
    target = busy_target(honest)
    assert len(np.unique(honest.user_id[honest.product_id == target])) >= 150
    table = with_nine_fillers(honest, target, np.random.default_rng(22))
    pushes = np.isin(table.user_id, ATTACKERS) & (table.product_id == target)

    result = apply_rules(table, rater_features(table))

    # spread over twelve days, most of them: the densest week and those within it
    assert np.count_nonzero(result.reasons.has("burst")[pushes]) >= 5
    # and their filler votes follow them to review
    caught = np.isin(table.user_id, table.user_id[pushes & result.reasons.has("burst")]) & ~pushes
    assert np.mean(result.score[caught] >= 0.5) >= 0.95
    assert np.mean(result.score[: len(honest)] >= 0.5) <= 0.01


def test_counted_among_all_the_products_pushes_the_nine_were_invisible() -> None:
    honest = honest_platform()
    table = with_nine_fillers(honest, busy_target(honest), np.random.default_rng(22))
    pushes = np.isin(table.user_id, ATTACKERS) & (table.product_id == busy_target(honest))
    without_fillers = FeatureParams(filler_profile=2.0)  # no rater is filler-like: every push counts alike

    burst = apply_rules(table, rater_features(table, without_fillers), params=without_fillers).reasons.has("burst")

    assert np.count_nonzero(burst[pushes]) <= 2


def test_a_rater_in_one_burst_beside_a_group_in_several_is_on_its_edge() -> None:
    # given a group of four raters (0-3) in bursts on the target (10) and a popular product (20), one honest
    # rater (4) whose push on the popular product fell in that week, and three raters (5-7) in a burst of
    # their own on product 30, each on that product only
    user = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7])
    product = np.array([10, 20, 10, 20, 10, 20, 10, 20, 20, 40, 30, 30, 30])
    burst = np.array([True] * 9 + [False] + [True] * 3)

    edge = burst_edge(user, 8, *dense_codes(product), burst, core=3, mild=np.ones(len(user), dtype=bool))

    # then only the honest rater's burst vote is on the group's edge: the group's own votes are not, nor a
    # burst whose raters share no other burst (nothing tells a group there), nor a vote outside any burst
    assert edge.tolist() == [False] * 8 + [True] + [False] * 4


def test_a_strong_push_where_a_few_of_a_groups_fillers_landed_is_on_its_edge_but_not_on_its_target() -> None:
    # given a group of eight raters (0-7) in bursts on their target (10), three of them also on a film their
    # fillers crowded (50), three on another (60) and two on a third (70); an honest rater (8) whose strong
    # push on 50 fell in that week; and a member (9) in a burst on the target only
    user = np.array([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    product = np.array([10] * 8 + [50] * 3 + [60] * 3 + [70] * 2 + [50, 10])
    burst = np.ones(len(user), dtype=bool)

    strong = burst_edge(user, 10, *dense_codes(product), burst, core=3, mild=np.zeros(len(user), dtype=bool))
    mild = burst_edge(user, 10, *dense_codes(product), burst, core=3, mild=np.ones(len(user), dtype=bool))

    # then the honest rater's strong push is on the edge (its account stays counted) and the member's strong
    # push on the target is not (every member pushed it: its account follows); mild, both are on the edge
    assert np.flatnonzero(strong).tolist() == [16]
    assert np.flatnonzero(mild).tolist() == [16, 17]


def test_a_heavy_raters_strong_pushes_where_a_groups_fillers_landed_are_spared_if_none_is_on_its_target() -> None:
    # given a group of ten raters (0-9) in bursts on their target (10) and on films their fillers crowded
    # (three of them on 50, three on 60, four on 70); a heavy honest rater (10) whose strong pushes on 50 and
    # 60 fell in those weeks (in bursts on two products: a core rater by count); and a rater (11) in the
    # bursts on 50 and on the target
    members = list(range(10))
    user = np.array(members + members + [10, 10] + [11, 11])
    product = np.array([10] * 10 + [50] * 3 + [60] * 3 + [70] * 4 + [50, 60] + [50, 10])
    burst = np.ones(len(user), dtype=bool)

    strong = burst_edge(user, 12, *dense_codes(product), burst, core=3, mild=np.zeros(len(user), dtype=bool))

    # then the heavy rater's pushes are spared (its account stays counted): none of its bursts is on a
    # target; the rater who also pushed the target is not, nor is any member, on the target or elsewhere
    assert np.flatnonzero(strong).tolist() == [20, 21]


def with_nine_fillers_on_days(
    honest: RatingTable, target: int, days: list[float], scores: list[float] | None = None
) -> RatingTable:
    """The nine accounts (or as many as ``days``), each pushing the target with a 5 (or its score of ``scores``) on
    its day (from the 80th), in a session with forty fillers drawn from the whole catalogue at random scores."""
    rng = np.random.default_rng(23)
    table = honest
    pushes = scores or [5.0] * len(days)
    for rater, day, push in zip(ATTACKERS[: len(days)], days, pushes, strict=True):
        filler = rng.choice(np.setdiff1d(np.arange(1, 301), [target]), size=40, replace=False)
        table = table.concat(
            RatingTable.from_arrays(
                user_id=np.full(41, rater),
                product_id=np.r_[target, filler],
                timestamp=START + 80 * DAY + day * DAY + np.sort(rng.uniform(0, HOUR, 41)),
                scores=np.r_[push, rng.integers(1, 6, 40)].reshape(-1, 1),
            )
        )
    return table


def test_a_campaigns_stragglers_on_a_quiet_product_are_in_its_burst() -> None:
    # given a product a handful of honest raters rated over half a year, and nine filler accounts pushing it:
    # six within a week, then three more a few days apart (too few for a burst of their own)
    honest = honest_platform()
    counts = np.bincount(honest.product_id)
    quiet = int(np.flatnonzero((counts > 0) & (counts <= 12))[0])
    table = with_nine_fillers_on_days(honest, quiet, [0.0, 0.0, 0.1, 0.2, 3.0, 6.5, 7.6, 10.1, 12.2])
    pushes = np.isin(table.user_id, ATTACKERS) & (table.product_id == quiet)

    burst = apply_rules(table, rater_features(table)).reasons.has("burst")

    # then all nine pushes are the burst's, the three stragglers chained to the week before them
    assert np.count_nonzero(burst[pushes]) == 9
    assert not burst[: len(honest)].any()


def test_rare_fillers_leading_a_burst_by_five_days_are_chained_to_it() -> None:
    # given a product that a few dozen honest raters rated over half a year, and nine accounts whose forty
    # fillers are drawn from the whole catalogue (most of it rarely rated: they are the rarest raters there
    # are): three push it in the campaign's first two days, six more from five days later (the average
    # attack's target 991 on MovieLens 100K, seed 40, to the day)
    honest = honest_platform()
    counts = np.bincount(honest.product_id)
    target = int(np.flatnonzero((counts >= 20) & (counts <= 30))[0])
    table = with_nine_fillers_on_days(honest, target, [0.0, 0.75, 1.85, 6.67, 8.23, 9.88, 11.76, 12.38, 12.87])
    pushes = np.isin(table.user_id, ATTACKERS) & (table.product_id == target)
    features = rater_features(table)
    assert (features.column("rater_rarity")[pushes] >= 0.9).all()

    burst = apply_rules(table, features).reasons.has("burst")

    # then the three leaders are the burst's too, across five days (half a window chained only the six)
    assert np.count_nonzero(burst[pushes]) == 9
    assert not burst[: len(honest)].any()


def test_a_campaign_on_a_film_rated_once_is_not_its_own_yardstick() -> None:
    # given a film one honest rater gave a 2 a year ago, and seven of the accounts pushing it over two weeks, a
    # careful one with a 4: four in the middle two days, the first, and two the week after (MovieLens's 2016
    # cut, film 115151, average attack, seed 7, to the day). Only the middle days are busy for so quiet a film;
    # the others, alone in their windows, were three of its four usual votes, all pushes.
    honest = honest_platform()
    film = 301
    table = honest.concat(
        RatingTable.from_arrays(
            user_id=np.array([1]),
            product_id=np.array([film]),
            timestamp=np.array([START + 80 * DAY - 374 * DAY]),
            scores=np.array([[2.0]]),
        )
    )
    days, scores = [0.0, 4.77, 5.71, 5.72, 5.73, 10.79, 13.55], [5.0, 5.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    table = with_nine_fillers_on_days(table, film, days, scores)
    pushes = np.isin(table.user_id, ATTACKERS) & (table.product_id == film) & (table.vote_mean == 5.0)

    burst = apply_rules(table, rater_features(table)).reasons.has("burst")

    # then the campaign's quiet days are not the film's usual pushes: every top score is the burst's
    assert np.count_nonzero(burst[pushes]) == 6
    assert not burst[: len(table) - 7 * 41].any()
