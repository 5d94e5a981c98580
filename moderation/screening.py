"""Screening on the platform: votes from the database into ``moderation.fraud``, verdicts back.

The fraud package is pure numpy/scikit-learn; this module is its only door to the database:
``rating_table`` reads votes (and what screening needs of their raters) into a ``RatingTable``,
``screener_train`` fits and stores a versioned model, ``votes_screen`` scores votes with the current
model and records each verdict, and applies it:

* *excluded* — the vote stops counting (``Vote.verdict`` excluded, reason screening), and its author
  is told why in the inbox, with one appeal to staff (a case decided by screening);
* *review* — a moderation case opens with the evidence and the vote is held until managers decide;
* *counted* — a vote screening had excluded counts again (its screening decision says so).

A moderation decision wins over any model: a vote with a case decided by managers or staff keeps the
verdict they gave it. A vote with an open case is still screened (a report must not shield it):
screening may exclude it, never count it while the case is open (it is held), and its evidence joins
the case. Every change of what counts re-scores its product (debounced).
"""

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from catalog.models import OrderLine
from moderation.fraud.data import RatingTable
from moderation.fraud.fingerprints import RaterFingerprints, rater_fingerprints
from moderation.models import Case, Rule, ScreeningModel, VoteScreening
from moderation.services import cases_open_for_review, screening_exclusions_clear, screening_exclusions_record
from ratings.models import FactorScore, Vote
from ratings.services import rescore_soon
from xhs.copy_in import can_copy, copy_in

logger = logging.getLogger(__name__)

#: The rule a screening case cites: one person, one genuine vote.
SCREENING_RULE = (
    "genuine-votes",
    "真实投票",
    "Genuine votes",
    "一人一票，只评价自己真实购买和使用的商品。",
    "One person, one vote, about a product you really bought and used.",
)
#: Votes read per database round trip.
CHUNK = 20_000


def screening_rule() -> Rule:
    code, name_zh, name_en, description_zh, description_en = SCREENING_RULE
    return Rule.objects.get_or_create(
        code=code,
        defaults={
            "name_zh": name_zh,
            "name_en": name_en,
            "description_zh": description_zh,
            "description_en": description_en,
        },
    )[0]


# --- Reading -------------------------------------------------------------------------------------------


#: Transaction-level advisory locks (PostgreSQL): screenings of the same votes at once (the nightly
#: batch, a vote's own task, the sweep) apply their verdicts one after another, the second finding the
#: first one's rows and cases instead of inserting them again; trainings at once take turns to
#: become current.
_APPLY_LOCK = 0x5C_0001
_TRAIN_LOCK = 0x5C_0002
_REFIT_LOCK = 0x5C_0003


def _serialised(key: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _code(value: str) -> int:
    """An integer code of a fingerprint hash, equal for equal hashes within this process; "" is -1."""
    return hash(value) & 0x7FFF_FFFF_FFFF_FFFF if value else -1


_Purchases = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


def rating_table(votes: QuerySet[Vote], *, purchases: _Purchases | None = None) -> RatingTable:
    """The votes of ``votes`` (and what screening needs of their raters) as arrays, in vote id order.

    Read a chunk at a time and turned into numpy per chunk, so memory stays a few numbers per vote
    (and its comment) however many votes are read. ``purchases``: every buyer's paid order lines,
    read once by ``purchase_counts()`` when many tables are read one after another.
    """
    return _votes_read(votes, purchases=purchases)[0]


def rating_tables(votes: QuerySet[Vote], *, purchases: _Purchases | None = None) -> dict[int, RatingTable]:
    """The votes of ``votes`` as one table per category (by id), each as ``rating_table`` reads it.

    One pass over the votes and one over their scores, split by category in memory: reading a category
    at a time scanned every vote twice per category (93 categories). Memory holds every vote at once.
    """
    table, category = _votes_read(votes, purchases=purchases)
    order = np.argsort(category, kind="stable")  # vote id order within each category
    ids, starts = np.unique(category[order], return_index=True)
    tables = {}
    for category_id, positions in zip(ids.tolist(), np.split(order, starts[1:]), strict=True):
        part = table.take(positions)
        # as wide as the category's own votes have factors, as a read of the category alone makes it
        filled = np.flatnonzero(~np.isnan(part.scores).all(axis=0))
        part.scores = np.ascontiguousarray(part.scores[:, : int(filled[-1]) + 1 if len(filled) else 1])
        tables[category_id] = part
    return tables


def _votes_read(votes: QuerySet[Vote], *, purchases: _Purchases | None) -> tuple[RatingTable, npt.NDArray[np.int64]]:
    """``rating_table``'s read, with each vote's category."""
    rows = votes.order_by("pk").values_list(
        "pk",
        "user_id",
        "product_id",
        "product__brand_id",
        "created_at",
        "seconds_to_fill",
        "ip_hash",
        "user_agent_hash",
        "user__date_joined",
        "campaign__category_id",
        "comment",
    )
    numbers: list[npt.NDArray[np.float64]] = []
    codes: list[npt.NDArray[np.int64]] = []
    comments: list[str] = []
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        numbers.append(
            np.asarray(
                [
                    (
                        pk,
                        rater,
                        product,
                        brand,
                        created.timestamp(),
                        np.nan if seconds is None else seconds,
                        (created - joined).total_seconds() / 86_400,
                        category,
                    )
                    for pk, rater, product, brand, created, seconds, _ip, _ua, joined, category, _comment in chunk
                ],
                dtype=np.float64,
            ).reshape(-1, 8)
        )
        codes.append(
            np.asarray([(_code(ua), _code(ip)) for *_, ip, ua, _joined, _cat, _c in chunk], dtype=np.int64).reshape(
                -1, 2
            )
        )
        comments.extend(row[-1] for row in chunk)
        chunk.clear()

    with transaction.atomic():  # a server-side cursor that lives as long as the read, not WITH HOLD
        if connection.vendor == "postgresql":
            # a cursor is planned for its first rows by default: for "a category's votes in id order"
            # that walks the whole table's primary key; plan for reading every row instead
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        for row in rows.iterator(chunk_size=CHUNK):
            chunk.append(row)
            if len(chunk) == CHUNK:
                flush()
    flush()
    table = np.concatenate(numbers)
    fingerprints = np.concatenate(codes)
    vote_id = table[:, 0].astype(np.int64)
    user_id = table[:, 1].astype(np.int64)
    rating = RatingTable(
        vote_id=vote_id,
        user_id=user_id,
        product_id=table[:, 2].astype(np.int64),
        brand_id=table[:, 3].astype(np.int64),
        timestamp=table[:, 4].copy(),
        scores=_score_matrix(vote_id, votes),
        seconds_to_fill=table[:, 5].copy(),
        device=fingerprints[:, 0].copy(),
        network=fingerprints[:, 1].copy(),
        account_age_days=table[:, 6].copy(),
        purchases=_other_purchases(user_id, purchases),
        comment=comments,
    )
    return rating, table[:, 7].astype(np.int64)


def fingerprint_groups(*, raters: Sequence[int] | None = None) -> RaterFingerprints:
    """Every account's device and network groups over ALL its votes, every category at once (one query).

    Screening reads a category at a time; with these, a vote is judged with the fingerprints of its
    rater's votes in the other categories too (five accounts on one phone, one vote in each of five
    categories, are one group of five). ``raters``: only these accounts' groups are needed (a vote's
    own screening), so only the votes through their networks (or, without a network, their devices)
    are read: every group they are in, whole. A few numbers per vote, read a chunk at a time.
    """
    votes = Vote.objects.all()
    if raters is not None:
        # Their fingerprints first, as values: a subquery inside the OR made PostgreSQL scan every vote,
        # values let it OR two small index scans (vote_network_idx, vote_device_no_network_idx).
        theirs = list(Vote.objects.filter(user_id__in=list(raters)).values_list("ip_hash", "user_agent_hash"))
        networks = {network for network, _device in theirs if network}
        devices = {device for network, device in theirs if not network and device}
        votes = votes.filter(Q(ip_hash__in=networks) | Q(ip_hash="", user_agent_hash__in=devices))
    rows = votes.order_by().values_list("user_id", "user_agent_hash", "ip_hash", "created_at")
    parts: list[npt.NDArray[np.float64]] = []
    codes: list[npt.NDArray[np.int64]] = []
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        parts.append(np.asarray([(rater, created.timestamp()) for rater, _ua, _ip, created in chunk]).reshape(-1, 2))
        codes.append(np.asarray([(_code(ua), _code(ip)) for _r, ua, ip, _c in chunk], dtype=np.int64).reshape(-1, 2))
        chunk.clear()

    with transaction.atomic():
        for row in rows.iterator(chunk_size=CHUNK):
            chunk.append(row)
            if len(chunk) == CHUNK:
                flush()
    flush()
    table = np.concatenate(parts)
    fingerprints = np.concatenate(codes)
    return rater_fingerprints(table[:, 0].astype(np.int64), fingerprints[:, 0], fingerprints[:, 1], table[:, 1])


def _int_rows(rows: QuerySet[Any], width: int) -> npt.NDArray[np.int64]:
    """The integer columns of a ``values_list`` query straight into numpy, a chunk at a time."""
    sql, params = rows.query.sql_with_params()
    chunks = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK * 10):
            chunks.append(np.asarray(batch, dtype=np.int64).reshape(-1, width))
    return np.concatenate(chunks) if chunks else np.empty((0, width), dtype=np.int64)


def _score_matrix(vote_id: npt.NDArray[np.int64], votes: QuerySet[Vote]) -> npt.NDArray[np.float64]:
    """Factor scores as a (votes × factors) matrix; NaN where a vote has fewer factors.

    Columns follow the frozen factors' ids, which the eligibility job creates in position order, so the
    read walks the (vote, factor) unique index without a join or a sort.
    """
    rows = _int_rows(
        FactorScore.objects.filter(vote__in=votes.values("pk"))
        .order_by("vote_id", "factor_id")
        .values_list("vote_id", "score"),
        2,
    )
    if len(vote_id) == 0:
        return np.empty((0, 1), dtype=np.float64)
    if len(rows) == 0:
        return np.full((len(vote_id), 1), np.nan)
    # A vote committed between the two reads has scores but no row: leave it to its own screening.
    row_of = np.searchsorted(vote_id, rows[:, 0])
    read = row_of < len(vote_id)
    read[read] = vote_id[row_of[read]] == rows[read, 0]
    rows, row_of = rows[read], row_of[read]
    if len(rows) == 0:
        return np.full((len(vote_id), 1), np.nan)
    starts = np.r_[0, np.flatnonzero(np.diff(rows[:, 0])) + 1]
    column = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    matrix = np.full((len(vote_id), int(column.max()) + 1), np.nan)
    matrix[row_of, column] = rows[:, 1]
    return matrix


def purchase_counts() -> _Purchases:
    """Every buyer's paid order lines: buyer ids ascending and their counts (one grouped query)."""
    rows = _int_rows(
        OrderLine.objects.filter(status=OrderLine.Status.PAID)
        .values_list("buyer_id")
        .annotate(n=Count("*"))
        .order_by("buyer_id")
        .values_list("buyer_id", "n"),
        2,
    )
    return rows[:, 0].copy(), rows[:, 1].copy()


def _other_purchases(user_id: npt.NDArray[np.int64], known: _Purchases | None = None) -> npt.NDArray[np.float64]:
    """Each rater's genuine purchases beyond the one that qualified them (one grouped query, or none
    when ``known`` holds every buyer's)."""
    raters = np.unique(user_id)
    if known is None:
        counts = dict(
            OrderLine.objects.filter(buyer_id__in=raters.tolist(), status=OrderLine.Status.PAID)
            .values_list("buyer_id")
            .annotate(n=Count("*"))
            .order_by()
        )
        per_rater = np.asarray([max(0, counts.get(int(pk), 0) - 1) for pk in raters], dtype=np.float64)
    else:
        buyers, bought = known
        per_rater = np.zeros(len(raters))
        if len(buyers):
            at = np.clip(np.searchsorted(buyers, raters), 0, len(buyers) - 1)
            hit = buyers[at] == raters
            per_rater[hit] = np.maximum(bought[at[hit]] - 1, 0)
    return per_rater[np.searchsorted(raters, user_id)] if len(raters) else np.empty(0)


_Decisions = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


def decision_labels(vote_id: npt.NDArray[np.int64], decided: _Decisions | None = None) -> npt.NDArray[np.float64]:
    """Managers' decisions as labels: 1 = violates, 0 = complies, NaN = no decision.

    ``decided``: the decisions read once by ``_decisions()`` when labelling a part at a time.
    """
    decided_ids, decided_labels = decided if decided is not None else _decisions()
    labels = np.full(len(vote_id), np.nan)
    if len(decided_ids) == 0 or len(vote_id) == 0:
        return labels
    index = np.clip(np.searchsorted(decided_ids, vote_id), 0, len(decided_ids) - 1)
    hit = decided_ids[index] == vote_id
    labels[hit] = decided_labels[index[hit]]
    return labels


def _decisions() -> _Decisions:
    """Every case about a vote decided by people (managers or staff, no audit): vote ids ascending, and 1.0
    violates / 0.0 complies. Screening's own decisions are not labels: it would learn from itself."""
    rows = list(
        Case.objects.filter(
            status=Case.Status.DECIDED,
            is_audit=False,
            vote__isnull=False,
            decided_by__in=[Case.DecidedBy.MANAGERS, Case.DecidedBy.STAFF],  # never screening's own verdicts
        )
        .order_by("vote_id", "pk")
        .values_list("vote_id", "outcome")
    )
    ids = np.asarray([pk for pk, _ in rows], dtype=np.int64)
    labels = np.asarray([1.0 if outcome == Case.Outcome.VIOLATES else 0.0 for _, outcome in rows])
    # a vote with several decided cases: the last one (by case id) wins, as it did row by row
    last = np.r_[ids[1:] != ids[:-1], True] if len(ids) else np.zeros(0, dtype=bool)
    return ids[last], labels[last]


def categories_with_votes() -> list[int]:
    """The categories that have votes, in id order: the chunks of the nightly batch."""
    return [category_id for category_id, _votes in _categories(Vote.objects.all())]


def _categories(votes: QuerySet[Vote]) -> list[tuple[int, int]]:
    """(category id, votes) of the categories ``votes`` has votes in, in id order (one grouped query)."""
    return list(
        votes.order_by()
        .values_list("campaign__category_id")
        .annotate(n=Count("pk"))
        .order_by("campaign__category_id")
        .values_list("campaign__category_id", "n")
    )


# --- Training --------------------------------------------------------------------------------------------


def screener_train(
    *,
    now: datetime | None = None,
    tables: dict[int, RatingTable] | None = None,
    fingerprints: RaterFingerprints | None = None,
) -> ScreeningModel:
    """Fit a screener on every vote, with managers' decisions as labels, store it and make it current.

    Read and featurised a category at a time, as ``votes_screen`` judges votes (among their
    category's), so memory holds one category and the training sample, not every vote. ``tables`` and
    ``fingerprints``: every category's votes up to ``now`` and the groups, read already
    (``screening_nightly``).
    Harmless to re-run: each run stores a new version; the newest becomes current in one transaction.
    """
    from moderation.fraud.models import Screener  # lazily: scikit-learn stays out of web processes

    now = now or timezone.now()
    votes = Vote.objects.filter(created_at__lte=now)
    categories = _categories(votes) if tables is None else [(pk, len(table)) for pk, table in sorted(tables.items())]
    if not categories:
        raise ValueError("there are no votes to train a screener on")
    decided = _decisions()
    bought = purchase_counts() if tables is None else None
    labelled = 0
    trained = 0

    def parts() -> Iterator[tuple[RatingTable, npt.NDArray[np.float64]]]:
        nonlocal labelled, trained
        for category_id, _count in categories:
            table = (
                tables[category_id]
                if tables is not None
                else rating_table(votes.filter(campaign__category_id=category_id), purchases=bought)
            )
            labels = decision_labels(table.vote_id, decided)
            labelled += int(np.count_nonzero(~np.isnan(labels)))
            trained += len(table)
            yield table, labels

    # devices and networks over every category, as the nightly batch judges them: a phone behind five
    # accounts that vote in five categories is one group in training too
    groups = fingerprints or fingerprint_groups()
    screener = Screener().fit_parts(parts(), total=sum(count for _, count in categories), fingerprints=groups)
    with transaction.atomic():
        _serialised(_TRAIN_LOCK)
        ScreeningModel.objects.filter(is_current=True).update(is_current=False)
        model = ScreeningModel.objects.create(
            version=f"{timezone.localtime(now):%Y%m%d-%H%M%S-%f}-{trained}-{labelled}",
            trained_at=timezone.now(),
            data_cutoff=now,
            training_votes=trained,
            labelled_votes=labelled,
            metrics=screener.metrics,
            artefact=screener.to_bytes(),
            is_current=True,
        )
    return model


def current_model() -> ScreeningModel | None:
    return ScreeningModel.objects.filter(is_current=True).first()


# --- Screening ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreeningOutcome:
    screened: int
    excluded: int
    review: int
    counted_again: int


#: How long the nightly batch's device and network groups stay in the cache for its category tasks.
SHARED_GROUPS_SECONDS = 3 * 3600


def fingerprint_groups_share(batch: str) -> str:
    """Every account's device and network groups, read once for a nightly batch and left in the cache
    for its category tasks (``shared_fingerprint_groups``): each task reading its own raters' groups
    read 10-15 s of votes at full scale (2.8M votes: 52k raters of the largest category), 93 times a
    night, against 23 s once. Returns the cache key."""
    key = f"screening:groups:{batch}"
    cache.set(key, fingerprint_groups(), SHARED_GROUPS_SECONDS)
    return key


def shared_fingerprint_groups(key: str) -> RaterFingerprints | None:
    """The groups ``fingerprint_groups_share`` left under ``key``; None when gone (expired, evicted, or the
    cache unreachable): the caller reads its raters' own, as before."""
    groups = cache.get(key)
    return groups if isinstance(groups, RaterFingerprints) else None


def _current_or_fitted() -> ScreeningModel:
    """The current model, fitted now when there is none or it was stored by a screener of another format
    (fitted on other features), by one process at a time: the others wait and screen with the model it
    stored. After a release that changed the features, every vote's screening task would otherwise fit a
    model of its own, each reading every vote."""
    from moderation.fraud.models import Screener

    with transaction.atomic():
        _serialised(_REFIT_LOCK)
        model = current_model()
        if model is not None and Screener.readable(bytes(model.artefact)):
            return model
        return screener_train()


def votes_screen(
    *,
    vote_ids: Sequence[int] | None = None,
    category_ids: Iterable[int] | None = None,
    fingerprints: RaterFingerprints | None = None,
    model: ScreeningModel | None = None,
    tables: dict[int, RatingTable] | None = None,
) -> ScreeningOutcome:
    """Screen votes with the current model and apply the verdicts.

    A vote is judged among every vote of its category: product consensus, bursts, shared devices
    and near-copies are read from them; and with its rater's devices and networks over every
    category (``fingerprint_groups``). The categories are ``category_ids`` (else those of
    ``vote_ids``, else all), screened one after another, so memory holds one category at a time.
    Verdicts are recorded for ``vote_ids`` when given, else for every vote read. Harmless to repeat:
    a vote whose verdict is unchanged is left as it is, and moderation decisions are never overridden.
    ``model``: the model to use (else the current one); ``tables``: categories' votes read already, by
    category id (``screening_nightly``), taken out of the dict as they are screened.
    """
    from moderation.fraud.models import Screener

    model = model or current_model()
    if model is None or not Screener.readable(bytes(model.artefact)):
        model = _current_or_fitted()
    screener = Screener.from_bytes(bytes(model.artefact))
    context = Vote.objects.all()
    if category_ids is not None:
        categories = sorted(set(category_ids))
    elif vote_ids is not None:
        categories = [category for category, _ in _categories(context.filter(pk__in=list(vote_ids)))]
    else:
        categories = [category for category, _ in _categories(context)]
    wanted_ids = None if vote_ids is None else np.unique(np.asarray(list(vote_ids), dtype=np.int64))
    tables = tables or {}
    # many categories: every buyer's purchases in one query rather than one query per category
    bought = purchase_counts() if len(categories) > 3 and len(tables) < len(categories) else None
    # devices and networks over every category: an account's votes elsewhere count in each category. Only
    # the raters screened here need their groups: a per-category task reads its raters' fingerprints, not
    # every vote of every category once per category.
    if wanted_ids is not None:
        screened = Vote.objects.filter(pk__in=wanted_ids.tolist())
    elif category_ids is not None:
        screened = Vote.objects.filter(campaign__category_id__in=categories)
    else:
        screened = None
    groups = fingerprints or fingerprint_groups(
        raters=None if screened is None else list(screened.order_by().values_list("user_id", flat=True).distinct())
    )
    outcomes = []
    for category_id in categories:
        table = tables.pop(category_id, None) or rating_table(
            context.filter(campaign__category_id=category_id), purchases=bought
        )
        if len(table) == 0:
            continue
        result = screener.score(table, fingerprints=groups)
        wanted = np.ones(len(table), dtype=bool) if wanted_ids is None else np.isin(table.vote_id, wanted_ids)
        rows = np.flatnonzero(wanted)
        del table
        outcomes.append(
            _verdicts_apply(
                model=model,
                vote_id=result.vote_id[rows],
                score=np.asarray(result.score)[rows],
                verdict=np.asarray(result.verdict)[rows],
                reasons=result.reason_table.take(rows).as_lists(),
            )
        )
        del result
    return ScreeningOutcome(
        screened=sum(o.screened for o in outcomes),
        excluded=sum(o.excluded for o in outcomes),
        review=sum(o.review for o in outcomes),
        counted_again=sum(o.counted_again for o in outcomes),
    )


def screening_nightly() -> tuple[ScreeningModel, ScreeningOutcome]:
    """Train, then screen every vote with the new model, reading each category's votes and scores once.

    Votes and scores are read in one pass each (``rating_tables``), the device and network groups once,
    and both halves use them: ``screener_train()`` then ``votes_screen()`` read every category twice
    each. Memory holds every vote at once (a few hundred bytes a vote). A vote cast while it runs is left
    to its own screening (``screen_vote``) and the sweep. Harmless to re-run, like both halves.
    """
    now = timezone.now()
    tables = rating_tables(Vote.objects.filter(created_at__lte=now), purchases=purchase_counts())
    groups = fingerprint_groups()
    model = screener_train(now=now, tables=tables, fingerprints=groups)
    outcome = votes_screen(model=model, tables=tables, fingerprints=groups)
    return model, outcome


def unscreened_sweep(
    *, grace: timedelta = timedelta(minutes=2), within: timedelta = timedelta(days=2), limit: int = 5000
) -> ScreeningOutcome:
    """Screen the recent votes that have no verdict yet, a category at a time.

    This repairs a screening that was never enqueued (the broker was down when the vote was cast) or
    was lost; votes younger than ``grace`` are left to their own task. Older ones wait for the
    nightly batch, which screens every vote. Harmless to repeat, like ``votes_screen``.
    """
    now = timezone.now()
    rows = list(
        Vote.objects.filter(created_at__gte=now - within, created_at__lt=now - grace, screening__isnull=True)
        .order_by("created_at")
        .values_list("pk", "campaign__category_id")[:limit]
    )
    by_category: dict[int, list[int]] = {}
    for vote_id, category_id in rows:
        by_category.setdefault(category_id, []).append(vote_id)
    outcomes = [votes_screen(vote_ids=ids, category_ids=[category]) for category, ids in sorted(by_category.items())]
    return ScreeningOutcome(
        screened=sum(o.screened for o in outcomes),
        excluded=sum(o.excluded for o in outcomes),
        review=sum(o.review for o in outcomes),
        counted_again=sum(o.counted_again for o in outcomes),
    )


def _chunks(ids: list[int], size: int = 10_000) -> Iterator[list[int]]:
    """``ids`` a few thousand at a time: one query each, never a statement with millions of parameters."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _reason_dicts(reasons: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"code": reason.code, "params": dict(reason.params)} for reason in reasons]


#: The verdicts of one ``_verdicts_apply`` (``screening_verdicts``), loaded in bulk, dropped before its
#: transaction ends.
_VERDICTS_TABLE = {
    "postgresql": "CREATE TEMP TABLE screening_verdicts"
    " (vote_id bigint, score double precision, verdict text, reasons jsonb)",
    "sqlite": "CREATE TEMP TABLE screening_verdicts (vote_id integer, score real, verdict text, reasons text)",
}

#: New screenings inserted, changed ones rewritten, unchanged ones (same model, verdict, reasons and score
#: to 6 places) not written at all: a re-run of the nightly batch with no new evidence writes nothing.
_SCREENINGS_UPSERT = """
    INSERT INTO moderation_votescreening AS s (vote_id, model_id, score, verdict, reasons, screened_at)
    SELECT vote_id, %(model)s, score, verdict, reasons, %(now)s FROM screening_verdicts WHERE true ORDER BY vote_id
    ON CONFLICT (vote_id) DO UPDATE
       SET model_id = excluded.model_id, score = excluded.score, verdict = excluded.verdict,
           reasons = excluded.reasons, screened_at = excluded.screened_at
     WHERE s.model_id IS DISTINCT FROM excluded.model_id OR s.verdict <> excluded.verdict
        OR s.reasons <> excluded.reasons
        OR round(CAST(s.score AS numeric), 6) <> round(CAST(excluded.score AS numeric), 6)
"""

#: The screened votes whose verdict may change something, with what deciding that needs: votes with an
#: open case (its evidence, or holding the vote), votes to exclude, to hold for review or to count again.
#: Left out: votes whose case managers or staff decided (they have the last word), refunded votes (nothing
#: left to judge), and the many whose verdict agrees with the vote's already.
_CANDIDATES = """
    SELECT t.vote_id, v.campaign_id, v.user_id, v.verdict, v.exclusion_reason, c.id, c.evidence
      FROM screening_verdicts t
      JOIN ratings_vote v ON v.id = t.vote_id
      LEFT JOIN moderation_case c ON c.vote_id = t.vote_id AND c.is_audit = %(no)s AND c.status <> %(decided)s
     WHERE v.exclusion_reason <> %(refund)s
       AND NOT EXISTS (SELECT 1 FROM moderation_case d
                        WHERE d.vote_id = t.vote_id AND d.is_audit = %(no)s AND d.status = %(decided)s
                          AND d.decided_by IS DISTINCT FROM %(screening)s)
       AND (c.id IS NOT NULL
            OR (t.verdict = %(excluded)s AND v.verdict <> %(excluded)s)
            OR t.verdict = %(review)s
            OR (t.verdict = %(counted)s AND v.verdict <> %(counted)s))
     ORDER BY t.vote_id
"""


def _verdicts_load(
    *, vote_id: npt.NDArray[np.int64], score: npt.NDArray[np.float64], verdict: npt.NDArray[np.str_], reasons: list[str]
) -> None:
    """The verdicts into the temporary table: by COPY on PostgreSQL, else by one ``executemany``."""
    with connection.cursor() as cursor:
        cursor.execute(_VERDICTS_TABLE[connection.vendor])
    rows = zip(vote_id.tolist(), score.tolist(), verdict.tolist(), reasons, strict=True)
    if can_copy():
        copy_in("screening_verdicts", ("vote_id", "score", "verdict", "reasons"), rows)
        if len(vote_id) > 10_000:  # a temporary table has no statistics: plan the joins over it with some
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE screening_verdicts")
    else:
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO screening_verdicts VALUES (%s, %s, %s, %s)", list(rows))


def _verdicts_apply(
    *,
    model: ScreeningModel,
    vote_id: npt.NDArray[np.int64],
    score: npt.NDArray[np.float64],
    verdict: npt.NDArray[np.str_],
    reasons: Sequence[Sequence[Any]],
) -> ScreeningOutcome:
    """Record the verdicts and apply them, in bulk: the verdicts go into a temporary table, one statement
    writes the screenings that are new or changed, one query finds the votes whose verdict changes
    something; only those are read into Python and acted on, as one UPDATE per thousands of votes."""
    now = timezone.now()
    order = np.argsort(vote_id, kind="stable")
    ids = np.asarray(vote_id, dtype=np.int64)[order]
    scores = np.clip(np.asarray(score, dtype=np.float64)[order], 0, 1)
    verdicts = np.asarray(verdict).astype(str)[order]
    reason_lists = [reasons[i] for i in order.tolist()]
    with transaction.atomic():
        _serialised(_APPLY_LOCK)
        _verdicts_load(
            vote_id=ids,
            score=scores,
            verdict=verdicts,
            reasons=[json.dumps(_reason_dicts(r)) if r else "[]" for r in reason_lists],
        )
        with connection.cursor() as cursor:
            cursor.execute(_SCREENINGS_UPSERT, {"model": model.pk, "now": now})
            cursor.execute(
                _CANDIDATES,
                {
                    "no": False,
                    "decided": Case.Status.DECIDED,
                    "refund": Vote.ExclusionReason.REFUND,
                    "screening": Case.DecidedBy.SCREENING,
                    "excluded": VoteScreening.Verdict.EXCLUDED,
                    "review": VoteScreening.Verdict.REVIEW,
                    "counted": VoteScreening.Verdict.COUNTED,
                },
            )
            candidates = cursor.fetchall()
            cursor.execute("DROP TABLE screening_verdicts")

        # Managers have the last word: votes whose case is decided were left out above. A vote with an open
        # case (a report opened it) is still screened, for a report must not shield it from screening, and it
        # stays held until its case is decided; its case gains screening's evidence.
        campaigns: set[int] = set()
        authors: dict[int, int] = {}
        to_exclude: list[int] = []
        to_count: list[int] = []
        to_hold: list[int] = []
        to_review: list[tuple[Vote, dict[str, Any], int]] = []
        for pk, campaign_id, user_id, vote_verdict, exclusion_reason, case_id, evidence in candidates:
            row = int(np.searchsorted(ids, pk))
            s, v = float(scores[row]), str(verdicts[row])
            authors[pk] = user_id
            if case_id is not None:
                evidence = json.loads(evidence) if isinstance(evidence, str) else evidence
                if v != VoteScreening.Verdict.COUNTED and "reasons" not in evidence:
                    Case.objects.filter(pk=case_id).update(
                        evidence={**evidence, "score": round(s, 3), "reasons": _reason_dicts(reason_lists[row])}
                    )
                if v == VoteScreening.Verdict.EXCLUDED and vote_verdict != Vote.Verdict.EXCLUDED:
                    to_exclude.append(pk)
                    campaigns.add(campaign_id)
                elif v != VoteScreening.Verdict.EXCLUDED and (
                    vote_verdict == Vote.Verdict.COUNTED or exclusion_reason == Vote.ExclusionReason.SCREENING
                ):
                    to_hold.append(pk)  # counted (or cleared by screening) but its case is open: held
                    campaigns.add(campaign_id)
            elif v == VoteScreening.Verdict.EXCLUDED and vote_verdict != Vote.Verdict.EXCLUDED:
                to_exclude.append(pk)
                campaigns.add(campaign_id)
            elif v == VoteScreening.Verdict.REVIEW:
                vote = Vote(pk=pk, campaign_id=campaign_id, user_id=user_id)
                evidence = {"score": round(s, 3), "reasons": _reason_dicts(reason_lists[row])}
                to_review.append((vote, evidence, 1 + round(3 * s)))
            elif v == VoteScreening.Verdict.COUNTED and vote_verdict != Vote.Verdict.COUNTED:
                to_count.append(pk)
                campaigns.add(campaign_id)
        # one UPDATE per thousands of votes, not one per vote
        for part in _chunks(to_exclude):
            Vote.objects.filter(pk__in=part).exclude(verdict=Vote.Verdict.EXCLUDED).update(
                verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.SCREENING, updated_at=now
            )
        for part in _chunks(to_hold):
            Vote.objects.filter(pk__in=part).filter(
                Q(verdict=Vote.Verdict.COUNTED)
                | Q(verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.SCREENING)
            ).update(verdict=Vote.Verdict.REVIEW, exclusion_reason="", updated_at=now)
        for part in _chunks(to_count):
            Vote.objects.filter(pk__in=part).filter(
                Q(verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.SCREENING)
                | Q(verdict=Vote.Verdict.REVIEW)
            ).update(verdict=Vote.Verdict.COUNTED, exclusion_reason="", updated_at=now)
        if to_exclude:  # every author told why, with one appeal to staff
            excluded_rows = np.searchsorted(ids, to_exclude).tolist()
            screening_exclusions_record(
                rule=screening_rule(),
                excluded=[
                    (
                        pk,
                        authors[pk],
                        {"score": round(float(scores[row]), 3), "reasons": _reason_dicts(reason_lists[row])},
                    )
                    for pk, row in zip(to_exclude, excluded_rows, strict=True)
                ],
                now=now,
            )
        if to_count or to_hold:
            screening_exclusions_clear(vote_ids=to_count + to_hold, now=now)
        if to_review:
            cases_open_for_review(rule=screening_rule(), held=to_review)
        excluded, review, counted_again = len(to_exclude), len(to_review) + len(to_hold), len(to_count)
        for campaign_id in sorted(campaigns):
            rescore_soon(campaign_id=campaign_id)
    return ScreeningOutcome(screened=len(ids), excluded=excluded, review=review, counted_again=counted_again)
