"""Accounts behind one device or one network, counted over ALL of their votes, whatever the category.

The per-product signals of ``features`` (``device_accounts_window``) see accounts on one device only
when they rate the same product within two hours. Screening reads one category at a time, so a phone
behind five accounts that each vote once, each in another category, was never seen: every category
held one account of the group. Here the group is found over every vote of every category at once
(``moderation.screening.fingerprint_groups`` reads them in one query), and each account carries the
largest group it was part of into the screening of every one of its votes.

A *device* is the pair (device fingerprint, network fingerprint) when both are known, the device
fingerprint alone when the network is not: on the platform the device fingerprint hashes a browser's
user agent, which thousands of honest people share; the same browser build on the same network is
one phone or one family's tablet. A *network* is the network fingerprint: a household, an office, a
café, a carrier's address pool. A group is the distinct accounts that voted through one fingerprint
within ``window_days`` of each other (two overlapping grids of windows, so a group across a window's
edge is still whole; without times, within all time). A fingerprint shared by more than
``common_accounts`` accounts over all time is common (a carrier's or an office's address pool, a
popular browser build without its network): it tells nothing, and is left out.

False positives on honest raters: MovieLens 100K's 943 raters given households of 1-4 people (a
third of households also sharing one device, a family tablet), ``python bench/screening_null.py
/tmp/ml100k.csv --fingerprints``: no account in a device group of 5 or a network group of 8 (0% of
votes); a household never reaches either size, whatever its raters' times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DAY = 86_400.0

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FingerprintParams:
    """Sizes and windows of the groups; the defaults are the ones the null figures were measured with."""

    #: Accounts through one fingerprint count as a group when they voted within this many days.
    window_days: float = 7.0
    #: A fingerprint shared by more accounts than this over all time is common, not evidence.
    common_accounts: int = 50


@dataclass(frozen=True)
class RaterFingerprints:
    """Per account (``rater_id`` ascending): the largest group of distinct accounts (its own included)
    it voted with through one device, and through one network; 0 where it has no known fingerprint."""

    rater_id: I64
    device_accounts: I64
    network_accounts: I64
    #: The window the groups were counted in.
    window_days: float = 7.0

    def lookup(self, rater: I64) -> tuple[I64, I64]:
        """The device and network group of each rater of ``rater`` (0 for an account not known here)."""
        rater = np.asarray(rater, dtype=np.int64)
        device = np.zeros(len(rater), dtype=np.int64)
        network = np.zeros(len(rater), dtype=np.int64)
        if len(self.rater_id) == 0 or len(rater) == 0:
            return device, network
        at = np.clip(np.searchsorted(self.rater_id, rater), 0, len(self.rater_id) - 1)
        hit = self.rater_id[at] == rater
        device[hit] = self.device_accounts[at[hit]]
        network[hit] = self.network_accounts[at[hit]]
        return device, network


def rater_fingerprints(
    rater: I64, device: I64, network: I64, timestamp: F64, params: FingerprintParams | None = None
) -> RaterFingerprints:
    """The device and network groups of every account, from one row per vote of every category.

    ``device`` and ``network`` are integer codes of the fingerprints (-1 unknown); ``timestamp`` is in
    seconds (NaN unknown). Vectorised: a few sorts of the vote arrays.
    """
    p = params or FingerprintParams()
    rater = np.asarray(rater, dtype=np.int64)
    device = np.asarray(device, dtype=np.int64)
    network = np.asarray(network, dtype=np.int64)
    timestamp = np.asarray(timestamp, dtype=np.float64)
    raters, user = np.unique(rater, return_inverse=True)
    user = user.reshape(-1)
    # the device: (device, network) when both are known, else the device alone
    device_key = np.where(device >= 0, _pair(device, np.where(device >= 0, network, -1)), -1)
    device_groups = _groups(user, device_key, timestamp, p)
    network_groups = _groups(user, network, timestamp, p)
    per_rater_device = np.zeros(len(raters), dtype=np.int64)
    per_rater_network = np.zeros(len(raters), dtype=np.int64)
    np.maximum.at(per_rater_device, user, device_groups)
    np.maximum.at(per_rater_network, user, network_groups)
    return RaterFingerprints(
        rater_id=raters,
        device_accounts=per_rater_device,
        network_accounts=per_rater_network,
        window_days=p.window_days,
    )


def _pair(a: I64, b: I64) -> I64:
    """One code for each (a, b): equal pairs get equal codes (dense, >= 0)."""
    _, da = np.unique(a, return_inverse=True)
    codes_b, db = np.unique(b, return_inverse=True)
    _, inverse = np.unique(da.reshape(-1).astype(np.int64) * (len(codes_b) + 1) + db.reshape(-1), return_inverse=True)
    codes: I64 = inverse.reshape(-1).astype(np.int64)
    return codes


def _groups(user: I64, key: I64, t: F64, p: FingerprintParams) -> I64:
    """Per vote: the distinct accounts that voted through its fingerprint (``key``, -1 unknown) within a
    window of it, its own included; 0 for an unknown or a common fingerprint."""
    out = np.zeros(len(user), dtype=np.int64)
    known = key >= 0
    if not np.any(known):
        return out
    rows = np.flatnonzero(known)
    k, u, when = key[rows], user[rows], t[rows]
    common = _distinct(k, u) > p.common_accounts
    timed = np.isfinite(when)
    origin = float(np.min(when[timed])) if np.any(timed) else 0.0
    width = p.window_days * DAY
    best = np.zeros(len(rows), dtype=np.int64)
    for offset in (0.0, 0.5):
        # votes without a time share one window (-1): all time
        window = np.where(timed, np.floor((np.where(timed, when, origin) - origin) / width + offset), -1.0)
        cell = _pair(k, window.astype(np.int64))
        best = np.maximum(best, _distinct(cell, u))
    out[rows] = np.where(common, 0, best)
    return out


def _distinct(group: I64, member: I64) -> I64:
    """Per row, how many distinct members its group has."""
    pairs = _pair(group, member)
    _, dense = np.unique(group, return_inverse=True)
    dense = dense.reshape(-1)
    dense_of_pair = np.zeros(int(pairs.max()) + 1, dtype=np.int64)
    dense_of_pair[pairs] = dense
    counts: I64 = np.bincount(dense_of_pair)[dense].astype(np.int64)
    return counts
