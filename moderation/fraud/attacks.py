"""Generated genuine data and the standard attacks on it, to measure screening where the truth is known.

``synthetic_dataset`` draws a platform's worth of honest votes: products with a quality and factor
offsets, raters with a leniency and a history, popular products rated more, timestamps over months
(with product launches and honest viral weeks), households sharing a device, carrier networks shared
by hundreds, comments mostly empty or short and varied.

``inject`` adds shilling profiles (the recommender-systems literature's random, average and bandwagon
attacks, plus paid-template writers and multi-account rings). Every attacker pushes the target
products to the top score; each also rates a share of other products (*filler*) to look ordinary.
Injected rows carry nothing a real attacker would not: account and vote ids are interleaved with the
dataset's own (both renumbered in one order, so an id alone says nothing); each attacker rates in
sessions like the dataset's raters (the gaps between its votes are drawn from the gaps between the
dataset's raters' votes, its first push at one of the dataset's timestamps in the campaign window);
fingerprint codes come from the same spaces; a share of attackers is *careful* (aged accounts,
normal fill times, a purchase history, no straight-lining), so only the campaign itself gives them
away. A dataset without timestamps gets attackers without them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from moderation.fraud.data import RatingTable
from moderation.fraud.features import DAY, HOUR

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

KINDS: tuple[str, ...] = ("random", "average", "bandwagon", "template", "ring")
START = 1_735_689_600.0  # 2025-01-01T00:00:00Z
MAX_FACTORS = 10

_INTENSIFIERS = ("", "really ", "honestly ", "quite ", "a little ", "very ", "surprisingly ", "overall ", "totally ")
_ASPECTS = (
    "the scent",
    "the texture",
    "the packaging",
    "the price",
    "delivery",
    "the bottle",
    "the foam",
    "the colour",
    "the size",
    "the smell after a day",
    "the cap",
    "how long it lasts",
    "the finish",
    "the feel on skin",
    "the taste",
    "the battery",
    "the fabric",
    "the stitching",
    "the fit",
    "the instructions",
    "the pump",
    "the volume",
    "the value",
    "the seller's service",
    "the effect on my hair",
    "the after feel",
    "the design",
    "the weight",
    "the noise",
    "the grip",
)
_VERDICTS = (
    "is great",
    "is fine",
    "is a bit disappointing",
    "could be better",
    "is just right",
    "surprised me",
    "is better than expected",
    "is worse than the last one",
    "is nothing special",
    "works for me",
    "is too strong",
    "is too weak",
    "is lovely",
    "feels cheap",
    "feels premium",
    "is okay for the price",
    "is not as advertised",
    "is exactly as described",
    "matches the photos",
    "took some getting used to",
    "is my favourite part",
    "was a letdown",
    "won me over",
    "is average",
    "needs work",
    "is very good",
    "is pleasant",
    "is strange at first",
    "grew on me",
    "is forgettable",
    "beats the competition",
    "is on par with others",
    "changed my mind",
    "is hit or miss",
    "is reliable",
    "is inconsistent",
    "is gentle",
    "is harsh",
    "is convenient",
    "is annoying",
)
_SHORT = (
    "good",
    "ok",
    "love it",
    "will buy again",
    "recommended",
    "not bad",
    "meh",
    "five stars",
    "as expected",
    "fast shipping",
    "nice",
    "great value",
    "so so",
    "satisfied",
    "works",
)
_TEMPLATES = (
    "I have tried so many products like this and nothing comes close, the quality is outstanding and it "
    "arrived quickly, absolutely worth every cent, I already recommended it to all my friends and family",
    "Honestly the best purchase I made this year, it feels luxurious, works exactly as promised and the "
    "brand clearly cares about its customers, five stars without any hesitation",
    "After two weeks of daily use I can say this is a game changer, my results improved visibly and the "
    "packaging is beautiful too, do not hesitate and buy it now while the price is good",
    "Bought this on a whim and I am so glad I did, premium quality, gentle, effective and lasts a long "
    "time, customer service was also super friendly, highly recommend to everyone",
    "This exceeded all my expectations, the texture is perfect, the effect is immediate and it smells "
    "amazing, I will definitely repurchase and try the rest of the range",
    "My whole family loves it, we compared it with three other brands and this one wins on every point, "
    "great value for money and fast delivery, thank you",
)
_SWAPS = (
    ("amazing", "incredible"),
    ("quality", "craftsmanship"),
    ("recommend", "suggest"),
    ("perfect", "flawless"),
    ("love", "adore"),
    ("great", "excellent"),
    ("quickly", "fast"),
    ("definitely", "surely"),
    ("beautiful", "lovely"),
    ("friends", "colleagues"),
)


# --- genuine data ------------------------------------------------------------------------------------------


def synthetic_dataset(
    n_users: int = 20_000,
    n_products: int = 400,
    *,
    votes_per_user: float = 8.0,
    days: float = 180.0,
    session_share: float = 0.3,
    same_second_share: float = 0.6,
    companion_share: float = 0.25,
    launch_rush_share: float = 0.4,
    rng: np.random.Generator,
) -> RatingTable:
    """Honest votes of ``n_users`` raters on ``n_products`` products over ``days`` days (vectorised).

    Raters vote in sessions as real ones do (MovieLens: three votes in four share a second with
    another vote of the same rater): a rater with n votes sits 1 + Binomial(n - 1, ``session_share``)
    times, and within a sitting the next vote comes in the same second with probability
    ``same_second_share``, else tens of seconds later. ``companion_share`` of the votes
    bring a vote on the product's companion in the same session (popular pairs rated together);
    ``launch_rush_share`` of the sessions with a product launched during the period fall in its
    first days. These are the honest patterns that rules on bursts and co-rating must not mistake
    for attacks.
    """
    end = START + days * DAY

    # products: a category (5-10 factors), a quality, factor offsets, a popularity, a brand, a launch
    n_categories = max(1, n_products // 25)
    category_factors = rng.integers(5, MAX_FACTORS + 1, size=n_categories)
    category = rng.integers(0, n_categories, size=n_products)
    factors = category_factors[category]
    quality = np.clip(rng.normal(3.7, 0.45, size=n_products), 2.0, 4.7)
    offsets = rng.normal(0.0, 0.35, size=(n_products, MAX_FACTORS))
    popularity = rng.lognormal(0.0, 1.1, size=n_products)
    brand = rng.integers(0, max(1, n_products // 6), size=n_products)
    launch = np.where(rng.random(n_products) < 0.8, START, START + rng.random(n_products) * days * 0.66 * DAY)
    viral = rng.random(n_products) < 0.05
    viral_start = launch + rng.random(n_products) * np.maximum(START + (days - 7.0) * DAY - launch, 0.0)
    viral_share = rng.uniform(0.05, 0.2, size=n_products)

    # raters: activity, leniency, account, history
    mean_extra = max(votes_per_user / (1.0 + companion_share) - 1.0, 0.01)  # companions come on top
    activity = 1 + rng.negative_binomial(1.2, 1.2 / (1.2 + mean_extra), size=n_users)
    activity = np.minimum(activity, n_products)
    leniency = rng.normal(0.0, 0.35, size=n_users)
    joins_now = rng.random(n_users) < 0.2
    created = np.where(
        joins_now,
        START + rng.random(n_users) * days * 0.9 * DAY,
        START - rng.lognormal(np.log(500.0), 0.8, size=n_users) * DAY,
    )
    active_from = np.maximum(created, START) + rng.random(n_users) * 0.5 * np.maximum(
        end - np.maximum(created, START), 0.0
    )
    extra_purchases = np.where(
        joins_now, rng.poisson(2.0, size=n_users), rng.negative_binomial(1.5, 1.5 / 13.5, size=n_users)
    )
    purchases_user = activity - 1 + extra_purchases

    # devices and networks: mostly one each, households share both, carrier networks are big
    device_user = _codes(rng, n_users)
    network_user = _codes(rng, n_users)
    in_household = rng.random(n_users) < 0.10
    households = np.flatnonzero(in_household)
    if len(households):
        head = households[rng.integers(0, max(1, int(len(households) / 2.5)), size=len(households))]
        device_user[households] = device_user[head]
        network_user[households] = network_user[head]
    carrier = (rng.random(n_users) < 0.25) & ~in_household
    carriers = _codes(rng, max(1, n_users // 400))
    network_user[carrier] = carriers[rng.integers(0, len(carriers), size=int(carrier.sum()))]
    second_device = np.where(rng.random(n_users) < 0.05, _codes(rng, n_users), -1)

    # votes: distinct products per rater, popular ones more often; a product's companion (the next most
    # popular of its category: shampoo and conditioner) is often rated with it, in the same session
    user, product = _distinct_choices(activity, popularity / popularity.sum(), rng)
    companion = _companions(category, popularity)
    partner = np.flatnonzero((rng.random(len(user)) < companion_share) & (companion[product] >= 0))
    key = user * n_products + product
    extra_key = user[partner] * n_products + companion[product[partner]]
    extra_key, first = np.unique(extra_key, return_index=True)
    fresh = ~np.isin(extra_key, key)
    partner = partner[first[fresh]]

    # sessions: a rater's votes come in a few sittings, seconds apart; a sitting starts weeks into the
    # rater's activity, or in a launch's first days, or in a product's viral week
    per_user = np.bincount(user, minlength=n_users)
    sessions_of_user = 1 + rng.binomial(np.maximum(per_user - 1, 0), session_share)
    first_session = np.cumsum(sessions_of_user) - sessions_of_user
    session = first_session[user] + np.floor(rng.random(len(user)) * sessions_of_user[user]).astype(np.int64)
    user = np.r_[user, user[partner]]
    session = np.r_[session, session[partner]]
    product = np.r_[product, companion[product[partner]]]
    n = len(user)
    n_sessions = int(sessions_of_user.sum())
    lead = np.zeros(n_sessions, dtype=np.int64)
    lead[session] = product  # the product that brought the rater in
    owner = np.zeros(n_sessions, dtype=np.int64)
    owner[session] = user
    start = active_from[owner] + rng.exponential(40.0 * DAY, size=n_sessions)
    newest = np.full(n_sessions, START)
    np.maximum.at(newest, session, launch[product])
    rush = (newest > START) & (rng.random(n_sessions) < launch_rush_share)
    start[rush] = newest[rush] + rng.exponential(2.0 * DAY, size=int(rush.sum()))
    moved = viral[lead] & (rng.random(n_sessions) < viral_share[lead])
    start[moved] = viral_start[lead[moved]] + rng.random(int(moved.sum())) * 7.0 * DAY
    # a launch brings raters in before they would otherwise start (but never before their account)
    lower = np.maximum(np.where(rush, created[owner], active_from[owner]), np.maximum(newest, START))
    late = (start > end - HOUR) | (start < lower)
    start[late] = lower[late] + rng.random(int(late.sum())) * np.maximum(end - HOUR - lower[late], 0.0)
    step = np.where(rng.random(n) < same_second_share, 0.0, rng.lognormal(np.log(25.0), 1.0, size=n))
    t = np.floor(np.minimum(start[session] + _elapsed(session, step, rng), end))
    k = factors[product]

    # scores: quality + factor offset + leniency + this vote's mood + noise; some straight-liners
    mood = rng.normal(0.0, 0.4, size=n)
    base = quality[product] + leniency[user] + mood
    raw = base[:, None] + offsets[product] + rng.normal(0.0, 0.55, size=(n, MAX_FACTORS))
    straight = rng.random(n) < 0.07
    raw[straight] = base[straight, None]
    scores = np.clip(np.round(raw), 1, 5)
    scores[np.arange(MAX_FACTORS)[None, :] >= k[:, None]] = np.nan

    fill = k * rng.lognormal(np.log(9.0), 0.45, size=n) + rng.lognormal(np.log(10.0), 0.5, size=n)
    lazy = rng.random(n) < 0.04
    fill[lazy] = k[lazy] * rng.uniform(1.2, 4.0, size=int(lazy.sum()))

    device = device_user[user].copy()
    use_second = (second_device[user] >= 0) & (rng.random(n) < 0.3)
    device[use_second] = second_device[user][use_second]

    table = RatingTable(
        vote_id=np.zeros(n, dtype=np.int64),
        user_id=(rng.permutation(n_users) + 1)[user],
        product_id=(np.arange(n_products, dtype=np.int64) + 1)[product],
        brand_id=(brand + 1)[product],
        timestamp=t,
        scores=scores,
        seconds_to_fill=np.round(fill, 1),
        device=device,
        network=network_user[user],
        account_age_days=(t - created[user]) / DAY,
        purchases=purchases_user[user].astype(np.float64),
        comment=genuine_comments(n, rng),
    )
    in_time = table.take(np.argsort(t, kind="stable"))
    in_time.vote_id = np.arange(1, n + 1, dtype=np.int64)  # as the database numbers them
    return in_time


def genuine_comments(n: int, rng: np.random.Generator, share: float = 0.35) -> list[str]:
    """Mostly empty; otherwise one to four short phrases drawn from a vocabulary of ~10,000."""
    out = [""] * n
    written = np.flatnonzero(rng.random(n) < share)
    phrases = rng.choice([1, 2, 3, 4], size=len(written), p=[0.5, 0.3, 0.15, 0.05])
    short = rng.random(len(written)) < 0.35
    for i, row in enumerate(written.tolist()):
        if short[i]:
            out[row] = str(_SHORT[rng.integers(len(_SHORT))])
            continue
        parts = [
            _INTENSIFIERS[rng.integers(len(_INTENSIFIERS))]
            + _ASPECTS[rng.integers(len(_ASPECTS))]
            + " "
            + _VERDICTS[rng.integers(len(_VERDICTS))]
            for _ in range(int(phrases[i]))
        ]
        out[row] = ", ".join(parts).capitalize()
    return out


def template_comment(rng: np.random.Generator, template: int) -> str:
    """A paid writer's copy of a template, lightly edited: a few swapped words, punctuation, an emoji."""
    text = _TEMPLATES[template % len(_TEMPLATES)]
    for i in rng.choice(len(_SWAPS), size=int(rng.integers(1, 4)), replace=False).tolist():
        old, new = _SWAPS[i]
        text = text.replace(old, new) if rng.random() < 0.5 else text
    if rng.random() < 0.5:
        text = text.replace(", ", "! ", 1)
    if rng.random() < 0.3:
        text = text.lower()
    return text + str(rng.choice(["", "!", "!!", " :)", " 👍", "..."]))


# --- attacks ---------------------------------------------------------------------------------------------


def pick_targets(table: RatingTable, count: int, rng: np.random.Generator) -> I64:
    """Products an attacker would push: with a history, rated below the median, not the most popular."""
    products, inverse, votes = np.unique(table.product_id, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=np.nan_to_num(table.vote_mean), minlength=len(products)) / votes
    eligible = (votes >= np.quantile(votes, 0.2)) & (votes <= np.quantile(votes, 0.8)) & (means <= np.median(means))
    pool = products[eligible] if np.count_nonzero(eligible) >= count else products
    return np.sort(rng.choice(pool, size=min(count, len(pool)), replace=False)).astype(np.int64)


def inject(
    table: RatingTable,
    kind: str,
    *,
    attack_size: float,
    filler_size: float,
    targets: int | I64,
    rng: np.random.Generator,
    campaign_days: float = 14.0,
    careful_share: float = 0.3,
) -> tuple[RatingTable, Bools]:
    """``table`` plus one attack of ``kind``; returns the attacked table (in time order) and which rows are injected.

    ``attack_size``: attacker accounts as a share of the table's raters. ``filler_size``: share of the
    products each attacker also rates. ``targets``: how many products to push (chosen by
    ``pick_targets``) or their ids.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown attack kind {kind!r}; expected one of {', '.join(KINDS)}")
    target_ids = pick_targets(table, targets, rng) if isinstance(targets, int) else np.asarray(targets, np.int64)
    target_ids = np.unique(target_ids)
    n_raters = len(np.unique(table.user_id))
    n_attackers = max(1, int(round(attack_size * n_raters)))
    products, product_index, product_votes = np.unique(table.product_id, return_inverse=True, return_counts=True)
    n_products = len(products)
    n_filler = max(1, int(round(filler_size * n_products)))
    careful = rng.random(n_attackers) < careful_share

    # what an attacker can see of the platform: overall and per-product means, the rating scale
    vote_mean = table.vote_mean
    ok = ~np.isnan(vote_mean)
    lo, hi = float(np.nanmin(table.scores)), float(np.nanmax(table.scores))
    integral = bool(np.all(np.nan_to_num(table.scores) == np.round(np.nan_to_num(table.scores))))
    system_mean, system_sd = float(np.mean(vote_mean[ok])), float(np.std(vote_mean[ok]))
    item_sum = np.bincount(product_index[ok], weights=vote_mean[ok], minlength=n_products)
    item_sq = np.bincount(product_index[ok], weights=vote_mean[ok] ** 2, minlength=n_products)
    item_n = np.maximum(np.bincount(product_index[ok], minlength=n_products), 1)
    item_mean = item_sum / item_n
    item_sd = np.sqrt(np.maximum(item_sq / item_n - item_mean**2, 0.04))
    answered = np.sum(~np.isnan(table.scores), axis=1)
    several = answered > 1
    within_sd = float(np.mean(np.nanstd(table.scores[several], axis=1))) if np.any(several) else 0.0
    width = table.scores.shape[1]
    product_factors = np.zeros(n_products, dtype=np.int64)
    np.maximum.at(product_factors, product_index, answered)
    product_brand = np.full(n_products, -1, dtype=np.int64)
    product_brand[product_index] = table.brand_id

    # the campaign: a window starting at one of the dataset's own timestamps (none when it has none)
    target_pos = np.searchsorted(products, target_ids)
    first_seen = np.full(n_products, np.inf)
    np.fmin.at(first_seen, product_index, table.timestamp)
    stamps = np.sort(table.timestamp[~np.isnan(table.timestamp)])
    timed = len(stamps) > 0
    t0 = _campaign_start(stamps, first_seen[target_pos], campaign_days, rng) if timed else np.nan
    window_end = t0 + campaign_days * DAY

    # rows: pushes on every target, then fillers (bandwagon: the most popular products at the top score)
    rows_attacker = [np.repeat(np.arange(n_attackers), len(target_ids))]
    rows_product = [np.tile(target_pos, n_attackers)]
    rows_role = [np.zeros(n_attackers * len(target_ids), dtype=np.int64)]  # 0 push, 1 filler, 2 popular
    # an attacker can only rate what is on sale: products with votes before the campaign
    weights = (first_seen < t0 - 7 * DAY).astype(np.float64) if timed else np.ones(n_products)
    weights[target_pos] = 0.0
    if kind == "bandwagon":
        n_popular = max(1, int(round(0.1 * n_filler)))
        popular = np.argsort(-np.where(weights > 0, product_votes, -1))[:n_popular]
        weights[popular] = 0.0
        rows_attacker.append(np.repeat(np.arange(n_attackers), n_popular))
        rows_product.append(np.tile(popular, n_attackers))
        rows_role.append(np.full(n_attackers * n_popular, 2, dtype=np.int64))
    filler_attacker, filler_product = _distinct_choices(
        np.full(n_attackers, min(n_filler, int(np.count_nonzero(weights)))), weights / weights.sum(), rng
    )
    rows_attacker.append(filler_attacker)
    rows_product.append(filler_product)
    rows_role.append(np.ones(len(filler_attacker), dtype=np.int64))
    attacker = np.concatenate(rows_attacker)
    product = np.concatenate(rows_product)
    role = np.concatenate(rows_role)
    m = len(attacker)
    sly = careful[attacker]

    # scores
    k = np.maximum(product_factors[product], 1)
    if kind == "random":
        centre = rng.normal(system_mean, system_sd, size=m)
    else:
        centre = rng.normal(item_mean[product], item_sd[product])
    raw = centre[:, None] + rng.normal(0.0, within_sd, size=(m, width))
    lazy = ~sly[:, None] & (rng.random((m, 1)) < 0.5)
    raw = np.where(lazy, centre[:, None], raw)
    top = role != 1
    pushed = np.full((m, width), hi)
    pushed[sly & top] = np.where(rng.random((int(np.count_nonzero(sly & top)), width)) < 0.8, hi, hi - 1)
    raw = np.where(top[:, None], pushed, raw)
    scores = np.clip(np.round(raw) if integral else raw, lo, hi)
    scores[np.arange(width)[None, :] >= k[:, None]] = np.nan

    # timestamps: each attacker rates in sessions like the dataset's raters, its push in the campaign
    t = _session_stamps(table, stamps, attacker, first_push=role == 0, start=t0, stop=window_end, rng=rng)
    t = np.maximum(t, first_seen[product] + HOUR)
    ring_device = np.full(n_attackers, -1, dtype=np.int64)
    if kind == "ring":
        # a few phones behind many accounts; each phone pushes each target in one session of 90 minutes
        n_devices = max(2, n_attackers // 20)
        ring_codes = _codes(rng, n_devices, avoid=table.device)
        slot = np.where(careful, -1, rng.integers(0, n_devices, size=n_attackers))
        ring_device = np.where(slot >= 0, ring_codes[np.maximum(slot, 0)], -1)
        n_targets = len(target_pos)
        sessions = (
            _draw_stamps(stamps, np.full(n_devices * n_targets, t0), np.full(n_devices * n_targets, window_end), rng)
            if timed
            else np.full(n_devices * n_targets, np.nan)
        )
        on_ring = (role == 0) & (slot[attacker] >= 0)
        which_target = np.searchsorted(target_pos, product[on_ring])
        session = sessions[slot[attacker[on_ring]] * n_targets + which_target]
        t[on_ring] = np.floor(session + rng.uniform(0, 1.5 * HOUR, size=int(on_ring.sum())))

    # accounts: age, history, fill times, fingerprints, comments
    first_vote = np.full(n_attackers, np.inf)
    np.fmin.at(first_vote, attacker, t)
    if kind == "template":
        lead = np.where(careful, rng.lognormal(np.log(200.0), 0.8, n_attackers), rng.uniform(5, 60, n_attackers))
    else:
        lead = np.where(careful, rng.lognormal(np.log(300.0), 0.8, n_attackers), rng.uniform(0, 10, n_attackers))
    created = first_vote - lead * DAY
    rated = np.bincount(attacker, minlength=n_attackers)
    purchases = np.where(
        careful, rated - 1 + rng.negative_binomial(1.5, 1.5 / 6.5, n_attackers), rng.poisson(1.0, n_attackers)
    )
    fill = np.where(
        sly,
        k * rng.lognormal(np.log(9.0), 0.45, size=m) + rng.lognormal(np.log(10.0), 0.5, size=m),
        k * rng.lognormal(np.log(2.2), 0.4, size=m),
    )
    own_device = _codes(rng, n_attackers, avoid=table.device)
    device = np.where(ring_device[attacker] >= 0, ring_device[attacker], own_device[attacker])
    network_own = _codes(rng, n_attackers, avoid=table.network)
    borrowed = table.network[rng.integers(0, len(table), size=n_attackers)]
    network_attacker = np.where(rng.random(n_attackers) < 0.4, borrowed, network_own)
    if kind == "ring":
        n_networks = max(1, n_attackers // 80)
        ring_networks = _codes(rng, n_networks, avoid=table.network)
        network_attacker = np.where(
            ring_device >= 0, ring_networks[rng.integers(0, n_networks, n_attackers)], network_attacker
        )
    comments = genuine_comments(m, rng)
    if kind == "template":
        which = rng.integers(0, len(_TEMPLATES), size=n_attackers)
        for row in np.flatnonzero((role == 0) & (rng.random(m) < 0.9)).tolist():
            comments[row] = template_comment(rng, int(which[attacker[row]]))

    known = {
        "device": np.any(table.device >= 0),
        "network": np.any(table.network >= 0),
        "fill": np.any(~np.isnan(table.seconds_to_fill)),
        "age": np.any(~np.isnan(table.account_age_days)),
        "purchases": np.any(~np.isnan(table.purchases)),
        "comment": any(table.comment) or kind == "template",
    }
    genuine_users, user_ids = interleaved_ids(table.user_id, n_attackers, rng)
    genuine_votes, vote_ids = interleaved_ids(table.vote_id, m, rng)
    table = replace(table, user_id=genuine_users, vote_id=genuine_votes)
    attack = RatingTable(
        vote_id=vote_ids,
        user_id=user_ids[attacker],
        product_id=products[product],
        brand_id=product_brand[product],
        timestamp=t,
        scores=scores,
        seconds_to_fill=np.round(fill, 1).astype(np.float64) if known["fill"] else np.full(m, np.nan),
        device=device if known["device"] else np.full(m, -1, dtype=np.int64),
        network=network_attacker[attacker] if known["network"] else np.full(m, -1, dtype=np.int64),
        account_age_days=(t - created[attacker]) / DAY if known["age"] else np.full(m, np.nan),
        purchases=purchases[attacker].astype(np.float64) if known["purchases"] else np.full(m, np.nan),
        comment=comments if known["comment"] else [""] * m,
    )
    combined = table.concat(attack)
    injected = np.r_[np.zeros(len(table), dtype=bool), np.ones(m, dtype=bool)]
    order = np.argsort(combined.timestamp, kind="stable")
    return combined.take(order), injected[order]


# --- helpers -------------------------------------------------------------------------------------------------


def _campaign_start(stamps: F64, launched: F64, campaign_days: float, rng: np.random.Generator) -> float:
    """One of the dataset's timestamps to start a campaign at: in the middle three fifths of the data, once
    every target has been on sale a week (its first vote); failing that, a later one that leaves the
    campaign room before the data ends, or the first once they are on sale (the campaign cut short).
    A campaign that started before its target's first vote had every push clamped to that vote's hour:
    on a sparse catalogue (most films rated once or twice) the attack became the product's launch, a
    flood in one second with no history to judge it by."""
    known = launched[np.isfinite(launched)]
    on_sale = float(known.max()) + 7 * DAY if len(known) else -np.inf
    middle = stamps[int(0.2 * len(stamps)) : max(int(0.8 * len(stamps)), int(0.2 * len(stamps)) + 1)]
    choices = middle[middle >= on_sale]
    if len(choices) == 0:
        choices = stamps[(stamps >= on_sale) & (stamps <= stamps[-1] - campaign_days * DAY)]
    if len(choices) == 0:
        choices = stamps[np.searchsorted(stamps, min(on_sale, stamps[-1])) :][:1]
    return float(rng.choice(choices))


def _distinct_choices(counts: I64, p: F64, rng: np.random.Generator) -> tuple[I64, I64]:
    """For owner i, ``counts[i]`` distinct items drawn with probabilities ``p`` (vectorised, approximately
    without replacement: draws with replacement, duplicates dropped, topped up once)."""
    n_items = len(p)
    owners: list[I64] = []
    items: list[I64] = []
    need = np.asarray(counts, dtype=np.int64)
    have = np.zeros(len(need), dtype=np.int64)
    seen = np.empty(0, dtype=np.int64)
    for _ in range(6):
        short = need - have
        if not np.any(short > 0):
            break
        draw_owner = np.repeat(np.arange(len(need)), np.maximum(short, 0) * 2 + 2)
        draw_item = rng.choice(n_items, size=len(draw_owner), p=p)
        key = draw_owner * n_items + draw_item
        key = key[~np.isin(key, seen)]
        key, first = np.unique(key, return_index=True)
        key = key[np.argsort(first)]
        owner = key // n_items
        order = np.argsort(owner, kind="stable")
        key, owner = key[order], owner[order]
        starts = np.searchsorted(owner, np.arange(len(need)))
        rank = np.arange(len(key)) - starts[owner]
        keep = rank < short[owner]
        owners.append(owner[keep])
        items.append((key % n_items)[keep])
        have += np.bincount(owner[keep], minlength=len(need))
        seen = np.concatenate([seen, key[keep]])
    owner_all = np.concatenate(owners)
    item_all = np.concatenate(items)
    order = np.argsort(owner_all, kind="stable")
    return owner_all[order], item_all[order]


def _elapsed(group: I64, step: F64, rng: np.random.Generator) -> F64:
    """Per row, the time since the first row of its group when each group's rows come in a random
    order, each ``step`` seconds after the one before (the first row's step is ignored)."""
    order = np.lexsort((rng.random(len(group)), group))
    owner = group[order]
    gap = step[order].copy()
    first = np.r_[True, owner[1:] != owner[:-1]] if len(owner) else np.zeros(0, dtype=bool)
    gap[first] = 0.0
    total = np.cumsum(gap)
    total -= np.maximum.accumulate(np.where(first, total, 0.0))
    out = np.empty(len(group))
    out[order] = total
    return out


def _companions(category: I64, popularity: F64) -> I64:
    """Each product's companion: the products of a category in order of popularity, paired off
    (first with second, third with fourth...); -1 for the odd one out."""
    order = np.lexsort((-popularity, category))
    ranked = category[order]
    rank = np.arange(len(order)) - np.searchsorted(ranked, ranked)
    mate = np.where(rank % 2 == 0, np.arange(len(order)) + 1, np.arange(len(order)) - 1)
    valid = (mate < len(order)) & (ranked[np.minimum(mate, len(order) - 1)] == ranked)
    out = np.full(len(order), -1, dtype=np.int64)
    out[order[valid]] = order[mate[valid]]
    return out


def _draw_stamps(stamps: F64, start: F64, stop: F64, rng: np.random.Generator) -> F64:
    """For each row, one of the dataset's timestamps between its start and stop, jittered by up to an hour."""
    lo = np.searchsorted(stamps, start, side="left")
    hi = np.searchsorted(stamps, stop, side="right")
    hi = np.maximum(hi, lo + 1)
    pick = np.minimum(lo + np.floor(rng.random(len(start)) * (hi - lo)).astype(np.int64), len(stamps) - 1)
    return np.floor(stamps[pick] + rng.uniform(-HOUR, HOUR, size=len(start)))


def rater_gaps(table: RatingTable) -> F64:
    """Seconds between each vote and the rater's previous one (in time order), over every rater with
    two or more timed votes: how the dataset's raters space their votes, sessions included."""
    timed = ~np.isnan(table.timestamp)
    user, t = table.user_id[timed], table.timestamp[timed]
    order = np.lexsort((t, user))
    user, t = user[order], t[order]
    same = user[1:] == user[:-1]
    return np.asarray(np.diff(t)[same], dtype=np.float64)


def _session_stamps(
    table: RatingTable,
    stamps: F64,
    attacker: I64,
    *,
    first_push: Bools,
    start: float,
    stop: float,
    rng: np.random.Generator,
) -> F64:
    """Timestamps for the attackers' rows: each attacker's votes, in a random order, are spaced by gaps
    drawn from the dataset's own raters' gaps (so they share seconds and sessions as honest raters
    do); the whole run is placed so that the attacker's first push (``first_push``) falls in
    [start, stop] at one of the dataset's timestamps (give or take an hour) and everything stays within
    the dataset's time span (a run too long for it has its gaps shortened). All NaN when the dataset has
    no timestamps."""
    m = len(attacker)
    if len(stamps) == 0:
        return np.full(m, np.nan)
    gaps = rater_gaps(table)
    if len(gaps) == 0:
        gaps = np.zeros(1)
    offset = _elapsed(attacker, gaps[rng.integers(0, len(gaps), size=m)], rng)
    n_attackers = int(attacker.max()) + 1
    length = np.zeros(n_attackers)
    np.maximum.at(length, attacker, offset)
    push_offset = np.full(n_attackers, np.inf)
    np.minimum.at(push_offset, attacker[first_push], offset[first_push])
    push_offset[np.isinf(push_offset)] = 0.0
    # the push's time: in the window, and where the run fits, with the run inside the dataset's span; a run
    # too long to fit around a push in the window has its gaps shortened to fit (votes after the data's end
    # would stretch a product's history past its last day: its usual rate, and so its consensus, would be
    # read from the attackers' trickle alone)
    lo = np.maximum(start, stamps[0] + push_offset)
    hi = np.minimum(stop, stamps[-1] - length + push_offset)
    fits = lo <= hi
    push = _draw_stamps(stamps, np.where(fits, lo, start), np.where(fits, hi, stop), rng)
    push = np.clip(push, stamps[0], stamps[-1])
    after = length - push_offset
    with np.errstate(divide="ignore", invalid="ignore"):
        squeeze = np.minimum(
            np.where(push_offset > 0, (push - stamps[0]) / push_offset, 1.0),
            np.where(after > 0, (stamps[-1] - push) / after, 1.0),
        )
    squeeze = np.clip(np.nan_to_num(squeeze, nan=1.0), 0.0, 1.0)
    stamped: F64 = np.floor(push[attacker] + (offset - push_offset[attacker]) * squeeze[attacker])
    return stamped


def interleaved_ids(existing: I64, count: int, rng: np.random.Generator) -> tuple[I64, I64]:
    """Ids for ``count`` new rows among ``existing`` (one per row, repeats allowed), such that nothing in
    an id tells them apart: every id is renumbered 1..N in one order, the existing ids keeping theirs
    and the new ones inserted at uniformly random places. Returns (existing renumbered, new ids)."""
    uniques, inverse = np.unique(existing, return_inverse=True)
    total = len(uniques) + count
    fresh = np.zeros(total, dtype=bool)
    fresh[rng.choice(total, size=count, replace=False)] = True
    ids = np.arange(1, total + 1, dtype=np.int64)
    return ids[~fresh][inverse.reshape(-1)], rng.permutation(ids[fresh])


def _codes(rng: np.random.Generator, count: int, avoid: I64 | None = None) -> I64:
    """Random 62-bit fingerprint codes, like hashes: distinct and not among ``avoid``."""
    codes = rng.integers(1, 2**62, size=count, dtype=np.int64)
    if avoid is not None:
        clash = np.isin(codes, avoid)
        codes[clash] = rng.integers(1, 2**62, size=int(clash.sum()), dtype=np.int64)
    return codes
