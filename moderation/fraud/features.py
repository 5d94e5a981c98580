"""Signals of a vote, its rater, its product and its device/network group, as one float64 matrix.

Everything is vectorised (sorting, ``np.unique``, ``bincount``, ``searchsorted``) so that a table
of ~3M votes is processed in a couple of minutes with memory linear in the number of votes; the
only per-row Python work is reading the comment strings into one buffer.

Conventions: one row per vote; counts are raw counts (the anomaly model takes logs); a value that
cannot be known (no fingerprint, no fill time) is NaN.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from moderation.fraud.data import RatingTable

DAY = 86_400.0
HOUR = 3_600.0

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class FeatureParams:
    """Windows and sizes of the signals; the defaults are the ones the evaluation was run with."""

    #: Accounts of one device (network) that rated the same product within this many hours of a vote.
    device_window_hours: float = 2.0
    #: Width of the window in which a product's votes are counted against its normal rate.
    burst_window_days: float = 7.0
    #: A product needs this much history before a burst can be judged against its normal rate.
    min_history_days: float = 28.0
    #: The normal rate of a product: this quantile of its vote counts per window over its history.
    normal_rate_quantile: float = 0.5
    #: A push vote's window is a burst when its p-value survives a Bonferroni correction at this
    #: family-wise error over every push vote's window, with at least ``burst_min_votes`` pushes and
    #: ``burst_min_ratio`` times as many as the window's other traffic predicts.
    burst_fwer: float = 0.02
    #: Wider windows tested besides the burst window, as multiples of it.
    burst_scales: tuple[float, ...] = (2.0, 4.0)
    burst_min_votes: int = 5
    burst_min_ratio: float = 3.0
    #: Votes in windows this many times busier than normal are left out of the product's consensus ...
    baseline_burst_ratio: float = 3.0
    #: ... unless their window holds at most this share of the product's busiest and lies at least this many
    #: days from it: the product's own peak is a second yardstick. A campaign's votes come in a rush when
    #: its invitations go out, fewer each day after; four weeks of them beside one straggler weeks later
    #: (or beside the product's next campaign half a year on) were all "busy" against a normal rate that
    #: counts the empty weeks between, and a consensus of the straggler alone (shrunk to the category's
    #: mean) made every vote of a good product a push: on the medium screening bench 13,863 honest votes
    #: on 101 products were a burst, and 2.48% of honest votes went to review (0.22% with the peak as a
    #: yardstick). An attack on a film it outnumbers is even over its days: none of its votes is two weeks
    #: from its peak, and the film's one vote in a year and a half stays its yardstick. (Keeping the least
    #: busy quarter of every product's votes instead made such an attack its own consensus: on MovieLens's
    #: 2016 set the recall of 5% attacks fell from 0.94-0.96 to 0.45-0.56; a third of the peak without the
    #: distance, to 0.68-0.83.)
    baseline_peak_share: float = 1 / 3
    baseline_peak_days: float = 14.0
    #: A vote this many standard deviations above (below) the consensus pushes the product up (down).
    push_sd: float = 1.0
    #: Pushes by filler-like raters are counted apart too, against the product's own baseline of them:
    #: a vote this many standard deviations from the consensus by a rater whose filler profile
    #: (``rater_profile``, 0-1) is at least ``filler_profile``. Nine attackers on a film with a few
    #: hundred honest raters vanish among its honest pushes, not among its filler-like ones.
    filler_push_sd: float = 0.5
    filler_profile: float = 0.85
    #: ... over at least this many of the rater's ratings in the table: the profile of one or two ratings
    #: is noise (on the platform a buyer rates a few products of a category; in the demo one each, where
    #: every push on a small product came out "filler-like" and its evenly spread enthusiasts a burst).
    filler_min_votes: int = 5
    #: A filler-like push chained to a burst by gaps of at most half a window joins it on a product whose
    #: filler-like pushes outside bursts come fewer than this many a window (one in four weeks). At 1.0, on
    #: MovieLens 100K, 1% bandwagon with 10% filler gained recall (0.80 -> 0.83) but 5% bandwagon lost
    #: precision (0.88 -> 0.85), and the generated data's precision fell 0.01-0.025 in every attack.
    straggler_quiet_per_window: float = 0.25
    #: ... and by gaps of up to a whole window when both pushes are by raters this rare
    #: (``filler_profiles``' rarity: the products they rate are rarely rated): an attack's fillers are drawn
    #: from the whole catalogue. On MovieLens 100K an average attack's three first accounts pushed five days
    #: before the other six (seed 40, target 991) and were missed; 10 -> 12 of 12 settings on seeds 40..42
    #: and 50..52 (``fraud_eval``), 9 of 12 on 20..22 and 7 of 12 on the 2016 set as before. A whole window
    #: for every filler-like push instead lost precision (see ``straggler_quiet_per_window``' history in
    #: docs/fraud-eval.md).
    straggler_rarity: float = 0.9
    #: The consensus is shrunk towards the overall mean with this many pseudo-votes.
    prior_votes: float = 5.0
    #: Share of the lowest and of the highest votes left out of a product's trimmed mean.
    trim: float = 0.1
    #: Floor of a product's standard deviation (in score points).
    min_sd: float = 0.35
    #: Time windows of the co-rating signal, and how many votes of a rater it looks at.
    corate_bucket_days: float = 7.0
    corate_max_votes: int = 30
    #: A co-rating group counts when it is this many times bigger than expected (the minimum effect),
    #: has at least ``corate_min_accounts`` other raters, and survives a Benjamini-Hochberg
    #: correction at the false discovery rate ``corate_fdr`` over every (pair, window) cell tested.
    corate_lift: float = 3.0
    corate_min_accounts: int = 5
    corate_fdr: float = 0.001
    #: Filler profiles: DegSim's neighbours, and the most raters it is computed for (else unknown).
    degsim_neighbours: int = 10
    degsim_max_raters: int = 50_000
    #: ... among the raters with at least this many ratings in the table (others: unknown).
    degsim_min_votes: int = 5
    #: Near-duplicate comments: character shingles, minimum normalised length, MinHash bands x rows.
    shingle: int = 3
    min_comment_chars: int = 50
    common_shingle_share: float = 0.2
    minhash_bands: int = 8
    minhash_rows: int = 5
    near_copy_similarity: float = 0.6
    #: Comments hashed per chunk (bounds memory).
    chunk: int = 50_000
    seed: int = 7


NAMES: tuple[str, ...] = (
    # the vote
    "account_age_days",
    "purchases",
    "seconds_per_factor",
    "n_factors",
    "vote_mean",
    "straight_line",
    "score_var",
    "consensus_dev",
    "comment_chars",
    "near_copies",
    "near_copies_any",
    # its product and brand
    "product_votes",
    "burst_votes",
    "burst_ratio",
    "burst_normal_per_day",
    "push_votes",
    "push_ratio",
    "push_bursts",
    "brand_burst_ratio",
    # its device / network group
    "device_accounts_window",
    "network_accounts_window",
    "device_accounts",
    "network_accounts",
    # its rater
    "rater_votes",
    "rater_span_days",
    "rater_mean_dev",
    "rater_mean_absdev",
    "rater_max_push_ratio",
    "rater_mean_log_fill",
    "rater_straight_share",
    "rater_max_near_copies",
    "rater_max_device_window",
    "rater_corate_accounts",
    "rater_corate_lift",
    "rater_rdma",
    "rater_wdma",
    "rater_degsim",
    "rater_length_var",
    "rater_meanvar",
    "rater_fmtd",
    "rater_profile",
    "rater_rarity",
)


@dataclass
class Features:
    """One row per vote of the table they were computed from; ``names`` label the columns of ``X``."""

    names: list[str]
    X: F64

    def column(self, name: str) -> F64:
        """One signal for every vote (a view into ``X``)."""
        return self.X[:, self.names.index(name)]

    def __len__(self) -> int:
        return int(self.X.shape[0])


def rater_features(table: RatingTable, params: FeatureParams | None = None) -> Features:
    """Every signal of every vote in ``table``, judged among the votes of ``table`` itself.

    ``X`` is column-major, so each signal is a contiguous column that later signals read in place:
    beyond ``X`` itself, memory holds a handful of vote-length arrays at a time.
    """
    p = params or FeatureParams()
    n = len(table)
    X = np.full((n, len(NAMES)), np.nan, order="F")
    if n == 0:
        return Features(names=list(NAMES), X=X)

    def c(name: str) -> F64:
        return X[:, NAMES.index(name)]

    t = table.timestamp
    user, n_users = dense_codes(table.user_id)
    product, n_products = dense_codes(table.product_id)

    # --- the vote itself (in chunks: the score matrix has up to ten columns)
    c("account_age_days")[:] = table.account_age_days
    c("purchases")[:] = table.purchases
    answered, vote, straight, variance = c("n_factors"), c("vote_mean"), c("straight_line"), c("score_var")
    for start in range(0, n, 250_000):
        part = slice(start, start + 250_000)
        scores = table.scores[part]
        known = ~np.isnan(scores)
        count = known.sum(axis=1)
        filled = np.where(known, scores, 0.0)
        total = filled.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
            variance[part] = np.where(
                count > 0, np.maximum((filled * filled).sum(axis=1) / np.maximum(count, 1) - mean**2, 0.0), np.nan
            )
            top = np.fmax.reduce(scores, axis=1)
            bottom = np.fmin.reduce(scores, axis=1)
        answered[part] = count
        vote[part] = mean
        straight[part] = np.where(count >= 3, (top == bottom).astype(np.float64), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c("seconds_per_factor")[:] = table.seconds_to_fill / np.maximum(answered, 1.0)

    # --- the product: bursts against its normal rate, consensus of its ordinary votes
    half = p.burst_window_days * DAY / 2
    span = _group_span(product, t)
    c("product_votes")[:] = np.bincount(product)[product]
    window_votes, ratio, normal = _burst(
        product, t, span, half=half, min_history=p.min_history_days * DAY, quantile=p.normal_rate_quantile
    )
    c("burst_votes")[:] = window_votes
    c("burst_ratio")[:] = ratio
    c("burst_normal_per_day")[:] = normal * DAY
    del window_votes, ratio, normal
    baseline, usual = _ordinary(product, n_products, c("burst_votes"), c("burst_ratio"), t, ~np.isnan(vote), half, p)
    deviation = c("consensus_dev")
    deviation[:] = _consensus_deviation(product, vote, baseline, p)
    profiles = filler_profiles(user, product, vote, p)
    filler_like = (np.nan_to_num(profiles["profile"], nan=0.0) >= p.filler_profile) & (
        np.bincount(user, minlength=n_users) >= p.filler_min_votes
    )
    filler_like = filler_like[user]
    rare = (np.nan_to_num(profiles["rarity"], nan=0.0) >= p.straggler_rarity)[user]
    push_votes, push_ratio, in_burst = _push_burst(
        product, t, deviation, c("burst_votes"), usual, span, half=half, p=p, filler_like=filler_like, rare=rare
    )
    del filler_like
    c("push_votes")[:] = push_votes
    c("push_ratio")[:] = push_ratio
    c("push_bursts")[:] = in_burst
    del push_votes, push_ratio, in_burst, baseline, usual
    if np.any(table.brand_id >= 0):
        brand, _ = dense_codes(table.brand_id)
        _, brand_ratio, _ = _burst(
            brand,
            t,
            _group_span(brand, t),
            half=half,
            min_history=p.min_history_days * DAY,
            quantile=p.normal_rate_quantile,
        )
        c("brand_burst_ratio")[:] = np.where(brand >= 0, brand_ratio, np.nan)
        del brand, brand_ratio
    del span

    # --- device and network groups: many accounts behind one fingerprint
    window = p.device_window_hours * HOUR
    for fingerprint, name in ((table.device, "device"), (table.network, "network")):
        known_print = fingerprint >= 0
        if not np.any(known_print):
            continue
        code, _ = dense_codes(fingerprint)
        pair, _ = dense_codes(np.where(known_print, code * (int(product.max()) + 1) + product, -1))
        c(f"{name}_accounts_window")[:] = np.where(known_print, _window_counts(pair, t, window), np.nan)
        del pair
        accounts, _ = dense_codes(np.where(known_print, code * n_users + user, -1))
        first = np.zeros(int(accounts.max()) + 1, dtype=np.int64)
        first[accounts[known_print]] = code[known_print]
        per_device = np.bincount(first, minlength=int(code.max()) + 1)
        c(f"{name}_accounts")[:] = np.where(known_print, per_device[np.maximum(code, 0)], np.nan)
        del code, accounts, first, per_device, known_print

    # --- comments: near-copies across accounts
    chars, copies, copies_any = near_copies(table.comment, user, product, p)
    c("comment_chars")[:] = chars
    c("near_copies")[:] = copies
    c("near_copies_any")[:] = copies_any
    del chars, copies, copies_any

    # --- the rater
    c("rater_votes")[:] = np.bincount(user, minlength=n_users)[user]
    first_t = np.full(n_users, np.inf)
    last_t = np.full(n_users, -np.inf)
    np.fmin.at(first_t, user, t)  # fmin/fmax: unknown times (NaN) leave the span alone
    np.fmax.at(last_t, user, t)
    c("rater_span_days")[:] = ((last_t - first_t) / DAY)[user]
    c("rater_mean_dev")[:] = _group_mean(user, deviation, n_users)[user]
    c("rater_mean_absdev")[:] = _group_mean(user, np.abs(deviation), n_users)[user]
    c("rater_max_push_ratio")[:] = _group_max(user, c("push_ratio"), n_users)[user]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_fill = np.log(np.maximum(c("seconds_per_factor"), 0.1))
    c("rater_mean_log_fill")[:] = _group_mean(user, log_fill, n_users)[user]
    del log_fill
    c("rater_straight_share")[:] = _group_mean(user, straight, n_users)[user]
    c("rater_max_near_copies")[:] = _group_max(user, c("near_copies"), n_users)[user]
    device_window = np.nan_to_num(c("device_accounts_window"), nan=0.0)
    c("rater_max_device_window")[:] = _group_max(user, device_window, n_users)[user]
    del device_window
    # Only votes with a known time can share a window; without times (a ratings file may have none) the
    # co-rating evidence stays silent, as device evidence does without devices.
    timed = np.isfinite(t)
    corate, lift = np.zeros(n_users), np.zeros(n_users)
    if timed.any():
        found, found_lift = corating(user[timed], product[timed], t[timed], p)
        corate[: len(found)], lift[: len(found_lift)] = found, found_lift
    c("rater_corate_accounts")[:] = corate[user]
    c("rater_corate_lift")[:] = lift[user]
    for name, values in profiles.items():
        c(f"rater_{name}")[:] = values[user]
    return Features(names=list(NAMES), X=X)


# --- building blocks -----------------------------------------------------------------------------------


def dense_codes(values: I64) -> tuple[I64, int]:
    """Codes 0..G-1 for the known values (>= 0); unknown (-1) stays -1. Returns the codes and G."""
    values = np.asarray(values, dtype=np.int64)
    known = values >= 0
    out = np.full(len(values), -1, dtype=np.int64)
    if not np.any(known):
        return out, 0
    uniques, inverse = np.unique(values[known], return_inverse=True)
    out[known] = inverse.reshape(-1)
    return out, len(uniques)


def _window_counts(group: I64, t: F64, half: float, mask: npt.NDArray[np.bool_] | None = None) -> F64:
    """For each row, the rows of its group (among ``mask``) with a timestamp within ``half`` seconds of its own.

    Groups and times are packed into one sorted int64 key, so one ``searchsorted`` answers every row.
    Rows with an unknown group (-1) get 0.
    """
    out = np.zeros(len(t))
    chosen = (group >= 0) & ~np.isnan(t)
    if mask is not None:
        chosen &= mask
    if not np.any(chosen):
        return out
    rows = np.flatnonzero((group >= 0) & ~np.isnan(t))
    origin = float(np.min(t[rows]))
    seconds = np.zeros(len(t), dtype=np.int64)
    seconds[rows] = np.floor(t[rows] - origin).astype(np.int64)
    reach = int(np.ceil(half))
    width = int(seconds[rows].max()) + 2 * reach + 2
    keys = group[rows] * width + seconds[rows] + reach
    pool = np.sort(group[chosen] * width + seconds[chosen] + reach)
    # sorted queries make searchsorted walk the pool once instead of jumping around it
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    counts = np.searchsorted(pool, keys + reach, side="right") - np.searchsorted(pool, keys - reach, side="left")
    out[rows[order]] = counts
    return out


def _group_span(group: I64, t: F64) -> F64:
    """Per row, the time between the first and the last row of its group (0 for unknown groups)."""
    known = group >= 0
    if not np.any(known):
        return np.zeros(len(t))
    size = int(group.max()) + 1
    first = np.full(size, np.inf)
    last = np.full(size, -np.inf)
    np.fmin.at(first, group[known], t[known])
    np.fmax.at(last, group[known], t[known])
    return np.where(known, (last - first)[np.maximum(group, 0)], 0.0)


def _burst(
    group: I64,
    t: F64,
    span: F64,
    *,
    half: float,
    min_history: float,
    mask: npt.NDArray[np.bool_] | None = None,
    quantile: float = 0.5,
) -> tuple[F64, F64, F64]:
    """Votes of the group (among ``mask``) in the window around each vote, how many times the group's
    normal rate that is, and the normal rate (per second).

    The normal rate is a quantile (``normal_rate_quantile``) of the group's counts per window-sized
    period over its whole history, empty periods included: a campaign or a viral week of a few
    periods does not raise its own yardstick.
    A group with less history than ``min_history`` has no normal rate yet: its ratio is 1.
    """
    in_window = _window_counts(group, t, half, mask)
    period = 2 * half
    chosen = (group >= 0) & ~np.isnan(t)
    if mask is not None:
        chosen &= mask
    normal = np.zeros(len(t))
    if np.any(chosen):
        rows = np.flatnonzero(chosen)
        size = int(group.max()) + 1
        slot = np.floor((t[rows] - np.nanmin(t)) / period).astype(np.int64)
        cells, _ = dense_codes(group[rows] * (int(slot.max()) + 1) + slot)
        cell_count = np.bincount(cells)
        cell_group = np.zeros(len(cell_count), dtype=np.int64)
        cell_group[cells] = group[rows]
        order = np.lexsort((cell_count, cell_group))
        busy = np.bincount(cell_group, minlength=size)
        starts = np.concatenate([[0], np.cumsum(busy)[:-1]])
        group_span = np.zeros(size)
        group_span[group[group >= 0]] = span[group >= 0]
        periods = np.maximum(np.ceil(group_span / period), busy)
        middle = np.floor(quantile * (periods - 1)).astype(np.int64)
        empty = (periods - busy).astype(np.int64)
        position = np.clip(starts + middle - empty, 0, max(len(order) - 1, 0))
        median = np.where((middle >= empty) & (busy > 0), cell_count[order][position], 0)
        known = group >= 0
        normal[known] = median[group[known]] / period
    expected = normal * period
    ratio = np.where(span >= min_history, in_window / (expected + 1.0), 1.0)
    return in_window, ratio, normal


def _ordinary(
    group: I64,
    size: int,
    in_window: F64,
    ratio: F64,
    t: F64,
    rated: npt.NDArray[np.bool_],
    half: float,
    p: FeatureParams,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The votes a product's consensus is taken from, and those its usual rate of pushes is (of ``rated``).

    The consensus: votes whose window is not busy (below ``baseline_burst_ratio`` times the product's normal
    rate), and, however busy, those far below its peak (at most ``baseline_peak_share`` of its busiest window,
    and ``baseline_peak_days`` or more from it).

    The usual pushes: the same, less, on a product with fewer than ``burst_min_votes`` of them away from its
    peak, those within a window of a busy vote and within ``baseline_peak_days`` of the peak: on a quiet
    product a campaign's quieter first and last days are the campaign's. On a film rated once a year
    before, seven top scores over two weeks are busy only in their middle days; the first and the last two,
    each alone in its window, made three of the film's four "usual" votes pushes, and the four in the middle
    were as many as that share predicts (MovieLens's 2016 cut, film 115151, average attack, seed 7). They
    stay in the consensus: an honest vote in the campaign's window is judged against the same consensus as
    before. A product with a history of its own keeps its usual pushes whole: taking a busy week's neighbours
    out of a film of 129 votes made three downward pushes near it, two of them honest, a burst (MovieLens 100K,
    bandwagon 5%/3%, seed 42, film 485), and two heavy raters' accounts followed."""
    order = np.lexsort((t, -in_window, group))
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[order][1:] != group[order][:-1]
    peak = np.zeros(size)
    peak_at = np.zeros(size)
    peak[group[order][first]] = in_window[order][first]
    peak_at[group[order][first]] = t[order][first]
    near_peak = np.abs(t - peak_at[group]) < p.baseline_peak_days * DAY
    busy = ratio >= p.baseline_burst_ratio
    consensus = rated & (~busy | (~near_peak & (in_window <= p.baseline_peak_share * peak[group])))
    beside_busy = near_peak & (_window_counts(group, t, 2 * half, busy) > 0)
    history = np.bincount(group[consensus & ~near_peak], minlength=size)
    return consensus, consensus & ~(beside_busy & (history[group] < p.burst_min_votes))


def _push_burst(
    group: I64,
    t: F64,
    deviation: F64,
    in_window: F64,
    baseline: npt.NDArray[np.bool_],
    span: F64,
    *,
    half: float,
    p: FeatureParams,
    filler_like: npt.NDArray[np.bool_] | None = None,
    rare: npt.NDArray[np.bool_],
) -> tuple[F64, F64, F64]:
    """For a vote that pushes (``push_sd`` above the consensus, or below it): the votes pushing the same
    way in the window around it, how many times more of them there were than the window's other
    traffic predicts, and how many significant bursts cover it. Other votes get (0, 0, 0).

    Each push vote's window is one test against the product's own baseline (its ordinary votes
    OUTSIDE the window, so a campaign does not raise its own yardstick; the share of pushes among
    them shrunk towards the overall share with ``prior_votes`` pseudo-votes): the pushes expected in
    the window are the larger of the product's usual pushes per window over the rest of its history
    and what the window's other votes predict at its usual share (so a product that turns popular
    or goes viral, bringing more votes of every kind, is not a burst), and the window's p-value is
    the Poisson tail of its pushes. The same tests run over the pushes of filler-like raters alone
    (``filler_like``: ``filler_profile`` and up, a push from ``filler_push_sd``), against the
    product's own baseline of those: nine attackers among a film's few hundred honest raters
    vanish among its pushes, not among its filler-like pushes; in their wider windows a vote is in
    the burst only when its own window is one, and filler-like pushes already in a burst count
    within half the window. Windows of one and of
    ``burst_scales`` times the burst window are tested (a campaign spread over two weeks shows in
    the wider one). A window is a burst when its p-value survives Bonferroni at ``burst_fwer`` over
    every push vote's windows, with at least ``burst_min_votes`` pushes and ``burst_min_ratio``
    times the expected; in the wider windows, votes a narrower one found count only near by. The
    tail scales with the product: nine pushes in two weeks on a product with three votes a week are
    a burst, forty on one with four hundred are not. Every push vote inside a burst window is in
    the burst.
    """
    from scipy.stats import binom, poisson  # lazily: web processes stay light

    votes = np.zeros(len(t))
    ratio = np.zeros(len(t))
    size = int(group.max()) + 1
    base_n = np.bincount(group[baseline], minlength=size).astype(np.float64)
    group_span = np.zeros(size)
    group_span[group] = span
    sides: tuple[npt.NDArray[np.bool_], ...] = (deviation >= p.push_sd, deviation <= -p.push_sd)
    pushes = int(np.count_nonzero(sides[0] | sides[1]))
    if filler_like is not None and np.any(filler_like):
        # the same tests over the pushes of filler-like raters alone (a weaker push counts): a small
        # attack stands out against the product's few such votes, not against all its pushes
        filler_sides = (filler_like & (deviation >= p.filler_push_sd), filler_like & (deviation <= -p.filler_push_sd))
        sides = (*sides, *filler_sides)
        pushes += int(np.count_nonzero(filler_sides[0] | filler_sides[1]))
    overlaps = np.zeros(len(t))
    if pushes == 0:
        return votes, ratio, overlaps
    scales = (1.0, *p.burst_scales)
    tests = pushes * len(scales)
    for scale in scales:
        width = half * scale
        # votes already in a narrower burst count in a wider window only when they are near (within
        # the burst window): an honest week of pushes a fortnight from a campaign must not become
        # significant for the campaign's sake, while the campaign's own stragglers still add up
        free = overlaps == 0
        window = in_window if scale == 1.0 else _counts_near(group, t, np.ones(len(t), dtype=bool), free, width, half)
        # the periods of the product's history OUTSIDE the window (a product younger than two windows
        # counts as one)
        periods = np.maximum(group_span / (2 * width) - 1.0, 1.0)
        # ... and whether it is younger than ``min_history_days`` besides the window
        young = group_span - 2 * width < p.min_history_days * DAY
        # the window's own ordinary votes are not part of its yardstick: nine pushes in one fortnight of
        # a quiet product must not raise the rate they are compared with
        base_in_window = _window_counts(group, t, width, baseline)
        for side_number, side in enumerate(sides):
            # filler-like pushes are few: a campaign's stragglers a week from its peak still count
            # with it, and each is judged by its OWN window alone (below)
            fillers = side_number >= 2
            chosen = side if fillers else side & free
            if not np.any(chosen):
                continue
            # (a filler-like push already in a burst counts within half the wider window)
            same = _counts_near(group, t, side, free, width, width / 2 if fillers else half)
            base_side = np.bincount(group[baseline & side], minlength=size).astype(np.float64)
            side_in_window = _window_counts(group, t, width, baseline & side)
            overall = float(np.count_nonzero(baseline & side)) / max(float(np.count_nonzero(baseline)), 1.0)
            # a product with little history outside the window is shrunk towards its OWN share of pushes
            # over all its ordinary votes (itself shrunk towards the overall share): a product every buyer
            # loves, or one whose campaign is younger than a window, has its enthusiasts spread evenly,
            # and the overall share of pushes would call their every week a burst
            own = (base_side + p.prior_votes * overall) / (base_n + p.prior_votes)
            others = np.maximum(window - same, 0.0)
            rows = np.flatnonzero(chosen)
            g = group[rows]
            outside_side = np.maximum(base_side[g] - side_in_window[rows], 0.0)
            outside_n = np.maximum(base_n[g] - base_in_window[rows], 0.0)
            share = (outside_side + p.prior_votes * own[g]) / (outside_n + p.prior_votes)
            odds = share / np.maximum(1.0 - share, 0.05)
            scale_ratio = same[rows] / (others[rows] * odds + 1.0)
            if scale == 1.0 and not fillers:
                votes[rows] = same[rows]
                ratio[rows] = scale_ratio
            # the usual pushes per window outside this one (one pseudo-push, so a spotless product still
            # has a rate), or what the window's other traffic predicts at the product's usual share, if
            # that is more
            usual = (outside_side + 1.0) / periods[g]
            expected = np.maximum(usual, others[rows] * odds)
            # ... and conditioned on the product's own pushes: of all its pushes, inside the window and out,
            # as many in the window as its share of the product's other traffic allows (a binomial tail).
            # The share of pushes outside the window is an estimate; when little history lies outside (a
            # campaign younger than the window, a product every buyer loves), a chance run of ordinary
            # votes out there made the window's evenly spread enthusiasts look like a burst. With a long
            # history both tests agree; the larger p-value is the window's. (Filler-like pushes are few and
            # far between, and their baseline is the product's long history: the first test alone.) On an old
            # product with fewer than ``burst_min_votes`` ordinary votes outside the window the second test
            # cannot tell anything: a film rated once in a year and a half, then 24 times in a week, 20 of
            # them top scores, has nearly all its traffic in that week, so its pushes are "as many as its
            # traffic allows". Its long quiet history is the evidence there, and the first test alone judges.
            p_value = poisson.sf(same[rows] - 1, expected)
            if not fillers:
                traffic_in = others[rows] + 1.0
                traffic_out = np.maximum(outside_n - outside_side, 0.0) + 1.0
                in_window_share = traffic_in / (traffic_in + traffic_out)
                conditioned = binom.sf(same[rows] - 1, same[rows] + outside_side, in_window_share)
                sparse = ~young[g] & (outside_n < p.burst_min_votes)
                p_value = np.where(sparse, p_value, np.maximum(p_value, conditioned))
            significant = np.zeros(len(t), dtype=bool)
            significant[rows] = (
                (p_value * tests <= p.burst_fwer)
                & (same[rows] >= p.burst_min_votes)
                & (scale_ratio >= p.burst_min_ratio)
            )
            if not np.any(significant):
                continue
            if scale == 1.0 or not fillers:
                # every push inside a burst window is in the burst
                overlaps[side] += _window_counts(group, t, width, significant)[side]
            else:
                # in a wider window of filler-like pushes, only those whose OWN window is a burst
                overlaps[significant] += 1
    for fillers_side in sides[2:]:
        overlaps += _stragglers(
            group, t, fillers_side, overlaps > 0, baseline, group_span, half, p.straggler_quiet_per_window, rare=rare
        )
    return votes, ratio, overlaps


def _stragglers(
    group: I64,
    t: F64,
    side: npt.NDArray[np.bool_],
    in_burst: npt.NDArray[np.bool_],
    baseline: npt.NDArray[np.bool_],
    group_span: F64,
    half: float,
    quiet: float,
    *,
    rare: npt.NDArray[np.bool_],
) -> F64:
    """Filler-like pushes that trail (or lead) a burst on a quiet product: chained to a push in the burst
    by gaps of at most ``half`` (twice that between two ``rare`` raters' pushes), on a product whose
    filler-like pushes outside bursts come fewer than ``quiet`` per window. A campaign's last three votes, a
    few days apart after its busiest week, are too few for a test of their own (``burst_min_votes``), yet on
    a film that sees a filler-like push a season they are the campaign's. On a busy product nothing is
    chained: its own fans push every week."""
    rows = np.flatnonzero(side)
    if len(rows) == 0 or not np.any(in_burst[rows]):
        return np.zeros(len(t))
    size = len(group_span)
    quiet_pushes = np.bincount(group[baseline & side & ~in_burst], minlength=size).astype(np.float64)
    per_window = (quiet_pushes + 1.0) / np.maximum(group_span / (2 * half), 1.0)
    rows = rows[per_window[group[rows]] < quiet]
    if len(rows) == 0:
        return np.zeros(len(t))
    rows = rows[np.lexsort((t[rows], group[rows]))]
    reach = np.full(len(rows) - 1, half)
    reach[rare[rows][1:] & rare[rows][:-1]] = 2 * half
    breaks = np.r_[True, (group[rows][1:] != group[rows][:-1]) | (np.diff(t[rows]) > reach)]
    chain = np.cumsum(breaks) - 1
    burst_chain = np.bincount(chain, weights=in_burst[rows].astype(np.float64)) > 0
    joined = np.zeros(len(t))
    joined[rows] = (burst_chain[chain] & ~in_burst[rows]).astype(np.float64)
    return joined


def _counts_near(
    group: I64, t: F64, mask: npt.NDArray[np.bool_], free: npt.NDArray[np.bool_], width: float, half: float
) -> F64:
    """Per row, the rows of ``mask`` in its group within ``width`` seconds, those outside ``free``
    counted only within ``half`` seconds."""
    if width == half or np.all(free):
        return _window_counts(group, t, width, mask)
    return _window_counts(group, t, width, mask & free) + _window_counts(group, t, half, mask & ~free)


def _consensus_deviation(group: I64, value: F64, baseline: npt.NDArray[np.bool_], p: FeatureParams) -> F64:
    """(vote - the product's trimmed mean of its OTHER ordinary votes) / the product's sd, shrunk to the prior."""
    n = len(value)
    size = int(group.max()) + 1
    rows = np.flatnonzero(baseline)
    if len(rows) == 0:
        rows = np.flatnonzero(~np.isnan(value))
    if len(rows) == 0:
        return np.zeros(n)
    base_value = value[rows]
    base_group = group[rows]
    prior_mean = float(np.mean(base_value))
    prior_var = max(float(np.var(base_value)), p.min_sd**2)

    order = np.lexsort((base_value, base_group))
    sorted_group = base_group[order]
    counts = np.bincount(base_group, minlength=size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[sorted_group]
    cut = np.floor(p.trim * counts).astype(np.int64)[sorted_group]
    kept_sorted = (rank >= cut) & (rank < counts[sorted_group] - cut)
    kept = np.zeros(n, dtype=bool)
    kept[rows[order[kept_sorted]]] = True

    kept_sum = np.bincount(group[kept], weights=value[kept], minlength=size)
    kept_n = np.bincount(group[kept], minlength=size).astype(np.float64)
    base_sum = np.bincount(base_group, weights=base_value, minlength=size)
    base_sq = np.bincount(base_group, weights=base_value * base_value, minlength=size)
    base_n = counts.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        base_var = np.where(base_n > 1, base_sq / np.maximum(base_n, 1) - (base_sum / np.maximum(base_n, 1)) ** 2, 0.0)
    shrunk_var = (base_n * np.maximum(base_var, 0.0) + p.prior_votes * prior_var) / (base_n + p.prior_votes)
    sd = np.maximum(np.sqrt(shrunk_var), p.min_sd)

    own = np.where(kept, np.nan_to_num(value), 0.0)
    others_sum = kept_sum[group] - own
    others_n = kept_n[group] - kept.astype(np.float64)
    consensus = (others_sum + p.prior_votes * prior_mean) / (others_n + p.prior_votes)
    deviation = (value - consensus) / sd[group]
    return np.where(np.isnan(deviation), 0.0, deviation)


def _group_mean(group: I64, value: F64, size: int) -> F64:
    ok = ~np.isnan(value)
    sums = np.bincount(group[ok], weights=value[ok], minlength=size)
    counts = np.bincount(group[ok], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _group_median(group: I64, value: F64, size: int) -> F64:
    """The median of ``value`` over each group's rows (NaN for a group without rows)."""
    order = np.lexsort((value, group))
    counts = np.bincount(group, minlength=size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    out = np.full(size, np.nan)
    ranked = value[order]
    low = starts[has] + (counts[has] - 1) // 2
    high = starts[has] + counts[has] // 2
    out[has] = (ranked[low] + ranked[high]) / 2
    return out


def _group_max(group: I64, value: F64, size: int) -> F64:
    out = np.full(size, -np.inf)
    np.maximum.at(out, group, value)
    return np.where(np.isfinite(out), out, 0.0)


# --- near-duplicate comments ---------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[^\w\x1f]|_")
_SEPARATOR = "\x1f"
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(x: U64) -> U64:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash of each element (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def normalise_text(text: str) -> str:
    """What near-duplicate detection compares: NFKC, lower case, letters and digits only."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def near_copies(comments: list[str], user: I64, product: I64, p: FeatureParams) -> tuple[F64, F64, F64]:
    """Per vote: the length of its comment (characters), and how many OTHER accounts wrote a near-copy of
    it on the same product, and on any product.

    MinHash over character shingles with banded LSH: two comments land in the same bucket of a band
    when their ``rows`` min-hashes agree, which happens with probability J**rows for Jaccard
    similarity J; a comment's copies are the accounts in its biggest bucket, less its own.
    Shingles found in more than ``common_shingle_share`` of the comments ("the", "is") are dropped
    first, or every comment would share its minimum with every other. Comments shorter than
    ``min_comment_chars`` (after normalising) are never judged: "good value" is written by
    thousands of honest buyers. Copies on the same product are the evidence (paid templates are
    posted where they are paid for); copies anywhere are a feature only.
    """
    n = len(comments)
    chars = np.fromiter(map(len, comments), dtype=np.int64, count=n).astype(np.float64)
    copies = np.zeros(n)
    copies_any = np.zeros(n)
    # normalising only shortens a comment: the short ones never need reading
    written = np.flatnonzero(chars >= p.min_comment_chars)
    chunks = [written[start : start + p.chunk] for start in range(0, len(written), p.chunk)]

    # pass 1: how common each shingle is (hashed into 2**22 counters)
    table_bits = 22
    frequency = np.zeros(2**table_bits, dtype=np.int64)
    eligible = 0
    for rows in chunks:
        doc_len, shingles, shingle_doc = _shingles(comments, rows, p)
        eligible += int(np.count_nonzero(doc_len >= p.min_comment_chars))
        first = np.r_[True, (shingle_doc[1:] != shingle_doc[:-1]) | (shingles[1:] != shingles[:-1])]
        frequency += np.bincount(
            (shingles[first] >> np.uint64(64 - table_bits)).astype(np.int64), minlength=2**table_bits
        )
    if eligible == 0:
        return chars, copies, copies_any
    common = max(p.common_shingle_share * eligible, 50.0)

    # pass 2: MinHash signatures of the eligible comments, one bucket key per band
    hashes = p.minhash_bands * p.minhash_rows
    # one multiply-add per hash function over shingles that are already well-mixed 64-bit hashes
    seeds = _mix(np.arange(1, 2 * hashes + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(p.seed))
    multipliers = seeds[:hashes] | np.uint64(1)
    offsets = seeds[hashes:]
    eligible_rows: list[I64] = []
    signatures: list[npt.NDArray[np.uint32]] = []
    band_keys: list[U64] = []
    for rows in chunks:
        doc_len, shingles, shingle_doc = _shingles(comments, rows, p)
        rare = frequency[(shingles >> np.uint64(64 - table_bits)).astype(np.int64)] <= common
        keep = rare & (doc_len[shingle_doc] >= p.min_comment_chars)
        shingles, shingle_doc = shingles[keep], shingle_doc[keep]
        if len(shingles) == 0:
            continue
        boundaries = np.flatnonzero(np.r_[True, shingle_doc[1:] != shingle_doc[:-1]])
        signature = np.empty((len(boundaries), hashes), dtype=np.uint64)
        for j in range(hashes):
            signature[:, j] = np.minimum.reduceat(shingles * multipliers[j] + offsets[j], boundaries)
        keys = np.empty((len(boundaries), p.minhash_bands), dtype=np.uint64)
        for b in range(p.minhash_bands):
            key = np.full(len(boundaries), np.uint64(b + 1))
            for r in range(p.minhash_rows):
                key = _mix(key ^ signature[:, b * p.minhash_rows + r])
            keys[:, b] = key
        eligible_rows.append(rows[shingle_doc[boundaries]])
        signatures.append((signature >> np.uint64(32)).astype(np.uint32))
        band_keys.append(keys)
    if not eligible_rows:
        return chars, copies, copies_any
    docs = np.concatenate(eligible_rows)
    signature_all = np.vstack(signatures)
    keys_all = np.vstack(band_keys)
    del signatures, band_keys
    owners = user[docs]
    same = np.zeros(len(docs))
    anywhere = np.zeros(len(docs))
    for b in range(keys_all.shape[1]):
        _, bucket = np.unique(keys_all[:, b], return_inverse=True)
        bucket = bucket.reshape(-1).astype(np.int64)
        anywhere = np.maximum(anywhere, _verified_copies(bucket, owners, signature_all, p.near_copy_similarity))
        local, _ = dense_codes(bucket * (int(product.max()) + 1) + product[docs])
        same = np.maximum(same, _verified_copies(local, owners, signature_all, p.near_copy_similarity))
    copies[docs] = same
    copies_any[docs] = anywhere
    return chars, copies, copies_any


def _verified_copies(group: I64, owner: I64, signature: npt.NDArray[np.uint32], similarity: float) -> F64:
    """Per row, the OTHER accounts of its LSH bucket whose comments are near-copies of the bucket's first
    comment (estimated Jaccard >= ``similarity``), if its own is one too; else 0.

    Buckets of a busy product also collect comments that merely share a phrase; comparing each
    member's full signature with one representative keeps those out, in one vectorised pass.
    """
    size = int(group.max()) + 1
    representative = np.full(size, len(group), dtype=np.int64)
    np.minimum.at(representative, group, np.arange(len(group)))
    rep = representative[group]
    bucket_size = np.bincount(group, minlength=size)[group]
    agree = np.ones(len(group), dtype=bool)
    crowded = np.flatnonzero(bucket_size > 1)
    if len(crowded):
        agree[crowded] = np.mean(signature[crowded] == signature[rep[crowded]], axis=1) >= similarity
    out = np.zeros(len(group))
    members = np.flatnonzero(agree)
    if len(members):
        out[members] = _distinct_per_group(group[members], owner[members]) - 1
    return out


def _shingles(comments: list[str], rows: I64, p: FeatureParams) -> tuple[I64, U64, I64]:
    """Normalised lengths of ``comments[rows]``, and the hashed character shingles of each (with the
    position in ``rows`` they come from, ascending). The chunk is normalised as one string."""
    text = _SEPARATOR.join([comments[i] for i in rows.tolist()])
    if text.count(_SEPARATOR) != len(rows) - 1:
        text = _SEPARATOR.join([comments[i].replace(_SEPARATOR, " ") for i in rows.tolist()])
    text = _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    is_sep = points == np.uint64(ord(_SEPARATOR))
    doc = np.cumsum(is_sep) - is_sep
    doc_len = np.bincount(doc[~is_sep], minlength=len(rows)).astype(np.int64)
    k = p.shingle
    if len(points) < k:
        return doc_len, np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    seps_before = np.concatenate([[0], np.cumsum(is_sep)])
    starts = np.arange(len(points) - k + 1)
    starts = starts[seps_before[starts + k] - seps_before[starts] == 0]
    shingles = np.zeros(len(starts), dtype=np.uint64)
    for offset in range(k):
        shingles = _mix(shingles ^ points[starts + offset])
    return doc_len, shingles, doc[starts].astype(np.int64)


def _distinct_per_group(group: I64, member: I64) -> F64:
    """Per row, how many distinct members its group has."""
    pairs, _ = dense_codes(group * (int(member.max()) + 1) + member)
    group_of_pair = np.zeros(int(pairs.max()) + 1, dtype=np.int64)
    group_of_pair[pairs] = group
    return np.bincount(group_of_pair, minlength=int(group.max()) + 1)[group].astype(np.float64)


# --- co-rating groups ------------------------------------------------------------------------------------------


def corating(user: I64, product: I64, t: F64, p: FeatureParams) -> tuple[F64, F64]:
    """Per rater: the biggest group of OTHER raters who rated the same two products in the same window,
    among groups that chance cannot explain, and the lift of its biggest group (0 for a rater in none).

    The null model: in a window of N raters (weighted by activity, see below), ``K_a`` rated product
    A and ``K_b`` product B (full cell sizes, the group itself included); the raters of both are a
    hypergeometric draw, so P(together >= k) is its upper tail. Every (pair, window) cell that a
    rater's votes make is one test. A cell counts when its p-value survives Benjamini-Hochberg at
    ``corate_fdr`` over all the cells tested, its group has at least ``corate_min_accounts`` other
    raters, AND it is ``corate_lift`` times bigger than the larger of chance (K_a * K_b / N) and the
    pair's habit (the share of the rarer product's raters in other windows who rated both, times
    its raters in this one: who rates one film of a series rates the next, every week; a ring does
    it once). Popular pairs that real people rate in one session are big but expected; a planted
    group on two quiet products is not. A group can only stand out among many more raters than
    itself: 25 accounts in a week of 60 raters are most of the week, whatever they rate.

    Each rater contributes pairs of at most ``corate_max_votes`` votes per window (its most crowded
    cells), so memory stays linear.
    """
    from scipy.stats import false_discovery_control, hypergeom  # lazily: web processes stay light

    n_users = int(user.max()) + 1
    corate = np.zeros(n_users)
    lift_out = np.zeros(n_users)
    bucket = np.floor((t - np.min(t)) / (p.corate_bucket_days * DAY)).astype(np.int64)
    n_buckets = int(bucket.max()) + 1
    n_products = int(product.max()) + 1
    cell, _ = dense_codes(product * n_buckets + bucket)
    cell_size = np.bincount(cell).astype(np.float64)
    active, _ = dense_codes(user * n_buckets + bucket)
    first_bucket = np.zeros(int(active.max()) + 1, dtype=np.int64)
    first_bucket[active] = bucket
    # A rater with forty votes in a window is forty times likelier to be among a product's raters than
    # one with a single vote: the window counts as D**2 / sum(d**2) raters of equal activity (d: each
    # rater's votes in it, D: their sum), not as its head count, or a crowd of one-vote visitors would
    # make every pair of a heavy raters' session look surprising.
    activity = np.bincount(active).astype(np.float64)
    window_votes = np.bincount(first_bucket, weights=activity, minlength=n_buckets)
    window_square = np.bincount(first_bucket, weights=activity * activity, minlength=n_buckets)
    active_users = window_votes**2 / np.maximum(window_square, 1.0)

    # rows grouped by (rater, window), the most crowded cells first
    order = np.lexsort((-cell_size[cell], active))
    g_sorted = active[order]
    sizes = np.bincount(g_sorted)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(len(order)) - starts[g_sorted]
    limit = np.minimum(sizes, p.corate_max_votes)[g_sorted]
    a_parts: list[I64] = []
    b_parts: list[I64] = []
    for d in range(1, p.corate_max_votes):
        left = np.flatnonzero(rank + d < limit)
        if len(left) == 0:
            break
        a_parts.append(order[left])
        b_parts.append(order[left + d])
    if not a_parts:
        return corate, lift_out
    a = np.concatenate(a_parts)
    b = np.concatenate(b_parts)
    del a_parts, b_parts
    pa = np.minimum(product[a], product[b])
    pb = np.maximum(product[a], product[b])
    product_pair = pa * n_products + pb
    _, pair_inverse, pair_counts = np.unique(product_pair, return_inverse=True, return_counts=True)
    cell_pair = product_pair * n_buckets + bucket[a]
    _, first, cell_inverse, cell_counts = np.unique(
        cell_pair, return_index=True, return_inverse=True, return_counts=True
    )
    cell_inverse = cell_inverse.reshape(-1)
    # per (pair, window) cell
    together = cell_counts.astype(np.float64)
    size_a = cell_size[cell[a[first]]]
    size_b = cell_size[cell[b[first]]]
    raters = active_users[bucket[a[first]]]
    chance = size_a * size_b / np.maximum(raters, 1.0)
    # the pair's habit: of the rarer product's raters in OTHER windows, the share who rated both
    product_votes = np.bincount(product, minlength=n_products).astype(np.float64)
    elsewhere = np.minimum(product_votes[product[a[first]]] - size_a, product_votes[product[b[first]]] - size_b)
    elsewhere_together = pair_counts[pair_inverse.reshape(-1)[first]] - together
    habit = np.minimum(size_a, size_b) * elsewhere_together / np.maximum(elsewhere, 1.0)
    lift = together / np.maximum(np.maximum(habit, chance), 1e-9)
    # Only a cell big and surprising enough to count needs its p-value; the others keep p = 1,
    # which leaves them in the correction's count of tests (it only gets stricter).
    p_value = np.ones(len(together))
    worth = (together - 1 >= p.corate_min_accounts) & (lift >= p.corate_lift)
    if np.any(worth):
        population = np.maximum(np.round(raters[worth]), np.maximum(size_a[worth], size_b[worth]))
        p_value[worth] = hypergeom.sf(together[worth] - 1, population, size_a[worth], size_b[worth])
    counts = worth & (false_discovery_control(p_value, method="bh") <= p.corate_fdr)
    qualified = np.where(counts, together - 1.0, 0.0)
    # both rows of a pair are the same rater's: the cell's verdict goes to that rater
    rater = user[a]
    np.maximum.at(corate, rater, qualified[cell_inverse])
    np.maximum.at(lift_out, rater, np.where(together - 1 >= 2, lift, 0.0)[cell_inverse])
    return corate, lift_out


#: ``_beside_volume``: raters within this factor of a rater's number of ratings are its peers, and it needs
#: this many of them to be judged beside them; fewer, the nearest this many within the wider factor.
#: (Judging the filler profile so too, as the lower of it and its plain rank, met 12 of 12 settings on the
#: seeds it was tuned on and lost on those it was not: see docs/fraud-eval.md.)
VOLUME_SPAN = 1.5
VOLUME_PEERS = 20
VOLUME_REACH = 3.0

# --- filler profiles -------------------------------------------------------------------------------------------


def filler_profiles(user: I64, product: I64, rating: F64, p: FeatureParams) -> dict[str, F64]:
    """Per rater, the shilling-detection features of the literature (Chirita et al. 2005; Williams,
    Mobasher and Burke 2007), over every rating of the rater in the table, so that the *filler*
    votes an attacker adds to look ordinary are judged too:

    * ``rdma``: rating deviation from mean agreement, mean over its ratings of |r - item mean| / item
      ratings (fillers on obscure items, far from their mean, weigh most); ``wdma`` the same over
      item ratings squared;
    * ``degsim``: mean Pearson similarity (mean-centred cosine over co-rated items) with its
      ``degsim_neighbours`` most similar raters; attackers resemble no honest rater (and, with an
      average attack, each other), among the raters with ``degsim_min_votes`` ratings or more (NaN
      for the others); NaN above ``degsim_max_raters`` such raters, where the similarity matrix would
      not fit;
    * ``length_var``: how far its number of ratings is from the mean, over the variance (attack
      profiles share one length);
    * ``meanvar`` / ``fmtd``: its target (its top-rated items) against its fillers (the rest): the
      mean squared deviation of the fillers from their item means, and |mean target - mean filler|;
    * ``profile``: the mean of its percentile ranks (among the table's raters) in ``rdma`` and
      ``wdma``: one number, 1.0 the most attacker-like profile, for the rules to gate on;
    * ``rarity``: its percentile rank in how little rated the products it rates are (1.0 the rarest).

    Ratings are each vote's mean score; votes without one are skipped. Sparse and vectorised.
    """
    from scipy import sparse  # lazily: web processes stay light

    n_users = int(user.max()) + 1
    n_products = int(product.max()) + 1
    ok = ~np.isnan(rating)
    u, i, r = user[ok], product[ok], rating[ok]
    item_n = np.bincount(i, minlength=n_products).astype(np.float64)
    item_mean = np.bincount(i, weights=r, minlength=n_products) / np.maximum(item_n, 1.0)
    deviation = r - item_mean[i]
    votes = np.bincount(u, minlength=n_users).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rdma = np.bincount(u, weights=np.abs(deviation) / item_n[i], minlength=n_users) / votes
        wdma = np.bincount(u, weights=np.abs(deviation) / item_n[i] ** 2, minlength=n_users) / votes
        centred = votes - np.mean(votes[votes > 0]) if np.any(votes > 0) else votes
        length_var = np.abs(centred) / max(float(np.sum(centred[votes > 0] ** 2)), 1e-9)
        top = np.full(n_users, -np.inf)
        np.maximum.at(top, u, r)
        target = r == top[u]
        filler = ~target
        filler_n = np.bincount(u[filler], minlength=n_users).astype(np.float64)
        meanvar = np.bincount(u[filler], weights=deviation[filler] ** 2, minlength=n_users) / filler_n
        target_mean = np.bincount(u[target], weights=r[target], minlength=n_users) / np.bincount(
            u[target], minlength=n_users
        )
        filler_mean = np.bincount(u[filler], weights=r[filler], minlength=n_users) / filler_n
        fmtd = np.abs(target_mean - filler_mean)

    degsim = np.full(n_users, np.nan)
    # only raters with a few ratings have neighbours worth the name (a similarity over one or two co-rated
    # items is noise), and only they are compared: the similarity matrix is theirs squared. On the
    # platform a buyer rates a few products of a category, so this is a few heavy raters; over every
    # rater, a category of 24,500 raters took 61 s (``bench/screening.py`` data), a night 93 of them.
    raters = np.flatnonzero(votes >= p.degsim_min_votes)
    if 2 <= len(raters) <= p.degsim_max_raters:
        own_mean = np.bincount(u, weights=r, minlength=n_users) / np.maximum(votes, 1.0)
        matrix = sparse.csr_matrix((r - own_mean[u], (u, i)), shape=(n_users, n_products))
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        scale = sparse.diags(np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0))
        among = (scale @ matrix).tocsr()[raters]
        others = among.T.tocsc()
        k = min(p.degsim_neighbours, len(raters) - 1)
        step = max(1, 2_000_000 // len(raters))
        for start in range(0, len(raters), step):
            block = among[start : start + step]
            similar = (block @ others).toarray()
            similar[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = -np.inf
            degsim[raters[start : start + step]] = np.mean(-np.partition(-similar, k - 1, axis=1)[:, :k], axis=1)

    def percentile(values: F64) -> F64:
        known = ~np.isnan(values) & (votes > 0)
        out = np.full(n_users, np.nan)
        if np.any(known):
            order = np.argsort(np.argsort(values[known], kind="stable"), kind="stable")
            out[known] = (order + 1) / np.count_nonzero(known)
        return out

    # DegSim is left out of the one number: a bandwagon attacker, rating the most popular items,
    # resembles honest raters more than most honest raters do
    profile = (percentile(rdma) + percentile(wdma)) / 2
    # An attack's fillers are drawn from the whole catalogue, most of it rarely rated; people rate what
    # others rate. Rarity is the inverse of the median number of ratings of the products rated (a median:
    # a bandwagon's popular products, a tenth of its fillers, do not hide the rest), ranked beside raters
    # of as many ratings (the more one rates, the further into the catalogue one reaches), or among all
    # raters where it has too few such peers. An average attack's fillers sit at their products' means,
    # so its RDMA is ordinary: on MovieLens's 2016 small cut (9,066 films, most rated once to three
    # times) its accounts ranked 0.62-0.77 in profile, but 0.93 and up in rarity.
    reach = 1.0 / _group_median(u, item_n[i], n_users)
    beside = _beside_volume(reach, votes)
    rarity = np.where(np.isnan(beside), percentile(reach), percentile(beside))
    return {
        "rdma": rdma,
        "wdma": wdma,
        "degsim": degsim,
        "length_var": length_var,
        "meanvar": meanvar,
        "fmtd": fmtd,
        "profile": profile,
        "rarity": rarity,
    }


def _beside_volume(values: F64, votes: F64) -> F64:
    """A per-rater measure (``rarity``'s reach) as it stands beside raters of about as many ratings: its logarithm less
    the median of its peers' (the raters within a factor ``VOLUME_SPAN`` of its number of ratings but not
    of exactly as many: a campaign's accounts, often all of one length, are not each other's yardstick; a
    median, so that those of nearby lengths move it only once they are half of it). Where fewer than
    ``VOLUME_PEERS`` are that near (the heaviest raters), the ``VOLUME_PEERS`` nearest in length within a
    factor ``VOLUME_REACH``; NaN where even those are too few (an attack's accounts far longer than any
    honest rater's are judged as they are, with no yardstick), or ``values`` is NaN."""
    out = np.full(len(values), np.nan)
    known = np.flatnonzero(~np.isnan(values) & (votes > 0))
    if len(known) < VOLUME_PEERS:
        return out
    x = values[known]
    positive = x[x > 0]
    # a value of 0 (none here: the reach is 1 / a count) would have no logarithm: a floor far below any other
    floor = 1e-3 * float(np.median(positive)) if len(positive) else 1e-12
    order = np.argsort(votes[known], kind="stable")
    lengths, logs = votes[known][order], np.log(x[order] + floor)
    distinct = np.unique(lengths)
    low = np.searchsorted(lengths, distinct / VOLUME_SPAN, side="left")
    same_from = np.searchsorted(lengths, distinct, side="left")
    same_to = np.searchsorted(lengths, distinct, side="right")
    high = np.searchsorted(lengths, distinct * VOLUME_SPAN, side="right")
    yardstick = np.full(len(distinct), np.nan)
    for n, (start, a, b, stop) in enumerate(
        zip(low.tolist(), same_from.tolist(), same_to.tolist(), high.tolist(), strict=True)
    ):
        if (a - start) + (stop - b) >= VOLUME_PEERS:
            yardstick[n] = np.median(np.concatenate((logs[start:a], logs[b:stop])))
            continue
        # the nearest in length on either side, as far as VOLUME_REACH
        near = np.r_[np.arange(max(a - VOLUME_PEERS, 0), a), np.arange(b, min(b + VOLUME_PEERS, len(lengths)))]
        distance = np.abs(np.log(lengths[near] / distinct[n]))
        nearest = np.argsort(distance, kind="stable")[:VOLUME_PEERS]
        if len(nearest) == VOLUME_PEERS and distance[nearest].max() <= np.log(VOLUME_REACH):
            yardstick[n] = np.median(logs[near[nearest]])
    out[known[order]] = logs - yardstick[np.searchsorted(distinct, lengths)]
    return out
