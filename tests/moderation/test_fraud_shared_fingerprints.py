"""Accounts behind one device or network, over all their votes: silent on honest households, caught on a
phone behind five accounts even when each account votes once, in its own category. Pure numpy."""

import numpy as np

from moderation.fraud.data import RatingTable
from moderation.fraud.features import DAY, rater_features
from moderation.fraud.fingerprints import rater_fingerprints
from moderation.fraud.rules import apply_rules

START = 1_735_689_600.0


def households(n_raters: int, rng: np.random.Generator, *, weeks: int = 26) -> RatingTable:
    """Honest raters in households of 1-4 people who share the home network (a third of households also
    share one device, a family tablet), each rating a handful of products in one or two sittings."""
    size = rng.integers(1, 5, size=n_raters)
    household = np.repeat(np.arange(n_raters), size)[:n_raters]
    shares_device = rng.random(n_raters) < 1 / 3
    users, products, times, devices, networks = [], [], [], [], []
    for rater in range(n_raters):
        home = int(household[rater])
        count = int(rng.integers(2, 15))
        users.append(np.full(count, rater + 1))
        products.append(rng.choice(300, size=count, replace=False) + 1)
        sitting = START + rng.uniform(0, weeks * 7 * DAY, size=2)
        times.append(np.sort(rng.choice(sitting, size=count) + rng.uniform(0, 3600, size=count)))
        devices.append(np.full(count, 10_000 + home if shares_device[home] else 50_000 + rater))
        networks.append(np.full(count, 90_000 + home))
    n = sum(len(u) for u in users)
    return RatingTable.from_arrays(
        user_id=np.concatenate(users),
        product_id=np.concatenate(products),
        timestamp=np.concatenate(times),
        scores=rng.integers(1, 6, size=(n, 1)).astype(np.float64),
        device=np.concatenate(devices),
        network=np.concatenate(networks),
    )


def with_phone_of_five(honest: RatingTable, *, votes_each: int = 1) -> tuple[RatingTable, np.ndarray]:
    """Five new accounts on one phone and one network, each voting once a day apart on a different
    product (as in five categories): never two of them on one product."""
    n = 5 * votes_each
    planted = RatingTable.from_arrays(
        user_id=np.repeat(np.arange(9_001, 9_006), votes_each),
        product_id=np.arange(n) * 37 % 300 + 1,
        timestamp=START + 40 * DAY + np.arange(n) * DAY,
        scores=np.full((n, 1), 5.0),
        device=np.full(n, 777),
        network=np.full(n, 888),
    )
    table = RatingTable.concatenate([honest, planted])
    return table, np.r_[np.zeros(len(honest), dtype=bool), np.ones(n, dtype=bool)]


def test_honest_households_sharing_a_network_or_a_tablet_are_never_a_group() -> None:
    honest = households(2000, np.random.default_rng(3))
    assert len(np.unique(honest.network)) < 1000  # many raters share their home network

    reasons = apply_rules(honest, rater_features(honest)).reasons

    assert not reasons.has("device_group").any()
    assert not reasons.has("network_group").any()


def test_five_accounts_on_one_phone_are_sent_to_review_though_they_never_rate_one_product() -> None:
    table, planted = with_phone_of_five(households(500, np.random.default_rng(5)))
    assert len(np.unique(table.product_id[planted])) == 5

    result = apply_rules(table, rater_features(table))
    reasons = result.reasons

    assert reasons.has("device_group")[planted].all()
    assert not reasons.has("device_group")[~planted].any()
    assert not reasons.has("shared_device").any()  # the per-product rule could not see them
    assert (result.score[planted] >= 0.5).all() and not result.strong[planted].any()
    [reason] = [r for r in reasons.reasons_for(int(np.flatnonzero(planted)[0])) if r.code == "device_group"]
    assert reason.text() == "this account and 4 others used one device within 7 days, in any category"


def test_a_group_seen_in_another_category_counts_in_this_one() -> None:
    table, planted = with_phone_of_five(households(300, np.random.default_rng(8)))
    groups = rater_fingerprints(table.user_id, table.device, table.network, table.timestamp)
    one_category = table.take(np.flatnonzero(planted)[:1])  # the group's first account alone

    alone = apply_rules(one_category, rater_features(one_category)).reasons.has("device_group")
    seen_whole = apply_rules(one_category, rater_features(one_category), fingerprints=groups).reasons

    assert not alone.any()
    assert seen_whole.has("device_group").all()


def test_eight_accounts_on_one_network_in_a_week_are_weaker_evidence_than_a_device() -> None:
    honest = households(300, np.random.default_rng(9))
    n = 8
    planted = RatingTable.from_arrays(
        user_id=np.arange(9_001, 9_001 + n),
        product_id=np.arange(n) + 1,
        timestamp=START + 10 * DAY + np.arange(n) * 3600.0,
        scores=np.full((n, 1), 5.0),
        device=np.arange(n) + 700,
        network=np.full(n, 888),
    )
    table = RatingTable.concatenate([honest, planted])
    reasons = apply_rules(table, rater_features(table)).reasons

    on_network = reasons.has("network_group")
    assert on_network[len(honest) :].all() and not on_network[: len(honest)].any()
    assert not reasons.has("device_group").any()


def test_a_fingerprint_shared_by_a_crowd_is_common_and_tells_nothing() -> None:
    n = 200  # a carrier's address pool: two hundred strangers on one network in a week
    groups = rater_fingerprints(np.arange(n), np.arange(n), np.full(n, 5), START + np.arange(n) * 600.0)

    assert (groups.network_accounts == 0).all()
    assert (groups.device_accounts == 1).all()


def test_votes_without_times_are_grouped_over_all_time() -> None:
    groups = rater_fingerprints(np.arange(5), np.full(5, 3), np.full(5, -1), np.full(5, np.nan))

    assert (groups.device_accounts == 5).all()
    assert (groups.network_accounts == 0).all()
