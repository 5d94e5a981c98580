"""The scoring job: turn counted votes into versioned results and the Little Red Heart list.

Two ways in, one way of scoring:

* the nightly full run (``run_start`` → ``run_category`` per category as a Celery group → ``run_finish``),
  which also fixes each category's prior for the day;
* the debounced re-score of one product after votes or decisions (``rescore_request`` flags the
  campaign, ``campaign_rescore`` claims the flag and scores it).

Both read the counted scores from the database in one binary ``COPY`` into numpy (votes that do not
count left out by a hashed ``NOT IN`` list), bin them into five counts per factor, compute the figures in
``ratings.statistics`` (in numpy, over the matrix of histograms), and write a new ``ProductResult`` only where its
fingerprint (a hash of everything a shopper could see, stored on the result) changed: a re-run with no new data
writes no result. A full run first carries over, in one transaction, every category nothing of which changed
since the last finished full run (``_carry_over_unchanged``: a night without new votes reads no score); the
rest it reads once per worker process, for every category at once (one scan of
the scores, which also gives the votes digests and the bootstrap's vote scores; the vote counts, the
invitation counts, the factors), or through the products' index when a fifth of the categories or fewer are
left, all in one snapshot of the database (``_run_inputs_read``), and each category takes its slice
from memory; a re-score reads its one product through the product's indexes. Results go in by
``INSERT … SELECT FROM unnest(…)``, one round trip per category whatever its size.

Each result also records its input fingerprint (``ratings.fingerprints``: a SHA-256 over its counted
votes' scores, frozen factors, policy and method version, the scores' lines written and hashed in numpy
from the same read as the histograms), and each category and run one over their products'. ``verify_scores``
(``ratings.verification``) recomputes every published figure and fingerprint on a path of its own.

Concurrency contract: every write for a category happens in one transaction that first locks the
category row, so a full run and a product re-score of the same category serialise; a crash rolls
the whole category back and a redelivered task starts clean.

How a full run survives its workers: the run is keyed on the id of the task that started it, so that
task, delivered again after its worker died, continues the run it recorded (``run_start`` returns
the categories not yet finished) instead of starting another. A killed pool child's task is
requeued at once; a whole worker's comes back after the broker's visibility timeout (10 minutes by
default: ``CELERY_VISIBILITY_TIMEOUT``, with the task time limits below it). Each category is one
task of well under a second (the first in each worker process also reads the run's inputs: a few
seconds at full scale), far below the limits. A run whose task never comes back (a broker restarted
without its queue, say) makes no progress: after ``JOB_STALLED_AFTER_SECONDS`` the sweep
(``runs_stalled_repair``, every 5 minutes) sends its unfinished categories again, up to
``stalls.SWEEP_RESUMES`` times, then stops the run with the reason, which staff see on the run in the admin.
"""

import hashlib
import io
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from catalog import page_cache
from catalog.models import Category, Product
from ratings import fingerprints, stalls, statistics
from ratings.eligibility import campaigns_close_expired, policy_get
from ratings.models import (
    Campaign,
    CampaignFactor,
    FactorReliability,
    FactorResult,
    FactorScore,
    HeartListEntry,
    Invitation,
    ProductResult,
    RatingPolicy,
    ScoringRun,
    ScoringRunCategory,
    Vote,
    VoteRevision,
    VoteVerdictChange,
)

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

#: How long after the debounce delay a flag may wait before the sweep re-enqueues it.
SWEEP_GRACE = timedelta(minutes=2)


def product_rating_cache_key(product_id: int) -> str:
    return f"ratings:product:{product_id}"


HEART_LIST_CACHE_KEY = "ratings:heart-list"


# --- Reading what a category's campaigns are made of ---------------------------------------------


def _scored_campaigns(category_ids: Sequence[int], product_ids: Sequence[int] | None = None) -> list[Campaign]:
    """Each product's latest campaign that was not cancelled: the one whose factors its public score is
    shown on. The votes come from all its campaigns (``_read_inputs``)."""
    campaigns = Campaign.objects.filter(category_id__in=category_ids).exclude(status=Campaign.Status.CANCELLED)
    if product_ids is not None:
        campaigns = campaigns.filter(product_id__in=product_ids)
    latest: dict[int, Campaign] = {}
    for campaign in campaigns.order_by("product_id", "-opens_at", "-id").only(
        "id", "product_id", "category_id", "opens_at"
    ):
        latest.setdefault(campaign.product_id, campaign)
    return list(latest.values())


@dataclass(frozen=True)
class Window:
    """What a run reads: votes as they stood at ``cutoff``, submitted or confirmed on or after ``start``."""

    start: datetime
    cutoff: datetime

    @classmethod
    def ending(cls, cutoff: datetime, *, days: int) -> "Window":
        return cls(start=cutoff - timedelta(days=days), cutoff=cutoff)


@dataclass
class VoteCounts:
    voted: int = 0
    counted: int = 0
    under_review: int = 0
    excluded_screening: int = 0
    excluded_moderation: int = 0
    excluded_refund: int = 0
    last_vote_at: datetime | None = None

    def add(self, verdict: str, reason: str, submitted_at: datetime) -> None:
        self.voted += 1
        if verdict == Vote.Verdict.COUNTED:
            self.counted += 1
        elif verdict == Vote.Verdict.REVIEW:
            self.under_review += 1
        elif reason in (Vote.ExclusionReason.MODERATION, Vote.ExclusionReason.STAKE):
            self.excluded_moderation += 1  # a brand's own earlier votes, excluded when staff linked it
        elif reason == Vote.ExclusionReason.REFUND:
            self.excluded_refund += 1
        else:
            self.excluded_screening += 1
        self.last_vote_at = max(filter(None, [self.last_vote_at, submitted_at]), default=None)


#: Per product: its counted votes' own scores (each vote's weighted mean over the factors it scored) and
#: how many votes have each.
VoteScores = dict[int, tuple[list[float], list[int]]]


@dataclass
class Inputs:
    """What products' figures are made of, read as of a window: histograms keyed by factor (the catalog
    factor, so that votes from earlier campaigns meet the same factor of the latest one), vote counts, and
    each campaign's factors. Read for a few products (a re-score) or for every product at once (a full
    run, sliced per category)."""

    histograms: dict[tuple[int, int], list[int]]
    votes: dict[int, VoteCounts]
    invited: dict[int, int]
    factor_keys: dict[int, int]
    factor_defs: dict[int, list["FactorDef"]] = field(default_factory=dict)
    #: Per product, the SHA-256 of its counted scores' lines (``fingerprints.votes_digest``).
    vote_digests: dict[int, str] = field(default_factory=dict)
    #: Per product, its counted votes' own scores binned (``_vote_scores``): the rank intervals' bootstrap.
    vote_scores: VoteScores = field(default_factory=dict)
    window_days: int = 0

    def histogram(self, product_id: int, factor: "FactorLike") -> list[int]:
        return self.histograms.get((product_id, self.factor_keys[factor.pk]), [0] * len(statistics.SCORES))

    def votes_of(self, product_id: int) -> VoteCounts:
        return self.votes.get(product_id) or VoteCounts()

    def replaced(self, other: "Inputs", product_ids: Sequence[int]) -> "Inputs":
        """These inputs with those of ``product_ids`` taken from ``other`` (read for those products)."""
        ids = set(product_ids)
        return Inputs(
            histograms={k: v for k, v in self.histograms.items() if k[0] not in ids} | other.histograms,
            votes={k: v for k, v in self.votes.items() if k not in ids} | other.votes,
            invited={k: v for k, v in self.invited.items() if k not in ids} | other.invited,
            factor_keys=self.factor_keys | other.factor_keys,
            factor_defs=self.factor_defs | other.factor_defs,
            vote_digests={k: v for k, v in self.vote_digests.items() if k not in ids} | other.vote_digests,
            vote_scores={k: v for k, v in self.vote_scores.items() if k not in ids} | other.vote_scores,
            window_days=self.window_days,
        )


def _factors_read(
    product_ids: Sequence[int] | None,
) -> tuple[dict[int, int], dict[int, int], dict[int, list["FactorDef"]]]:
    """Per campaign factor id: the key its scores add up under (the catalog factor, or for a factor since
    deleted the campaign factor itself, negated so the two never meet), and its product; and per campaign
    its factors in order."""
    factors = CampaignFactor.objects.all()
    if product_ids is not None:
        factors = factors.filter(campaign__product_id__in=product_ids)
    keys, products = {}, {}
    defs: dict[int, list[FactorDef]] = defaultdict(list)
    for pk, factor_id, product_id, campaign_id, name_zh, name_en, position, weight in factors.order_by(
        "position", "id"
    ).values_list("pk", "factor_id", "campaign__product_id", "campaign_id", "name_zh", "name_en", "position", "weight"):
        keys[pk] = factor_id if factor_id is not None else -pk
        products[pk] = product_id
        defs[campaign_id].append(FactorDef(pk, campaign_id, name_zh, name_en, position, weight))
    return keys, products, dict(defs)


# Every counted score of the run (or of a few products, found by the product each score carries:
# factorscore_product_idx), the votes that need a closer look left out by a hashed NOT IN: the one read of
# the scores, from which the histograms, the votes digests and the bootstrap's vote scores are all computed
# (``_scores_read``). COPY in binary: fixed-width rows numpy reads as they come (three queries grouping the
# same rows three ways in SQL cost ~4× as much at the medium bench scale).
SCORES_COPY = """
    COPY (SELECT vote_id::int8, factor_id::int8, score::int2 FROM ratings_factorscore
           WHERE vote_id <> ALL(%s::bigint[]) {products}) TO STDOUT (FORMAT binary)
"""


@dataclass(frozen=True)
class ScoreRows:
    """Scores as parallel arrays, one row per score, in no particular order."""

    vote: "np.ndarray"
    factor: "np.ndarray"
    score: "np.ndarray"


def _scores_read(product_ids: Sequence[int] | None, excluded: Sequence[int]) -> ScoreRows:
    """The scores of every vote not in ``excluded`` (of these products, or of all)."""
    import numpy as np  # lazily, as in _computed_many

    if connection.vendor != "postgresql":  # SQLite on a fresh machine: the same rows through the ORM
        in_window = FactorScore.objects.exclude(vote_id__in=list(excluded))
        if product_ids is not None:
            in_window = in_window.filter(product_id__in=list(product_ids))
        rows = np.array(list(in_window.values_list("vote_id", "factor_id", "score")), dtype=np.int64).reshape(-1, 3)
        return ScoreRows(vote=rows[:, 0], factor=rows[:, 1], score=rows[:, 2])
    received = io.BytesIO()
    with connection.cursor() as cursor:
        params = [_pg_array(excluded)]
        if product_ids is not None:
            params.append(_pg_array(product_ids))
        products = "AND product_id = ANY(%s::bigint[])" if product_ids is not None else ""
        statement = cursor.mogrify(SCORES_COPY.format(products=products), params)
        cursor.copy_expert(statement.decode() if isinstance(statement, bytes) else statement, received)
    return _copy_rows(received.getbuffer())


#: A row of ``SCORES_COPY``'s binary output: the field count, then each field's length and value.
_COPY_ROW = [
    ("fields", ">i2"),
    ("vote_length", ">i4"),
    ("vote", ">i8"),
    ("factor_length", ">i4"),
    ("factor", ">i8"),
    ("score_length", ">i4"),
    ("score", ">i2"),
]


def _copy_rows(data: memoryview) -> ScoreRows:
    """Parse PostgreSQL's binary COPY of ``SCORES_COPY``: a header, fixed-width rows (no field is NULL), a trailer."""
    import numpy as np

    signature = b"PGCOPY\n\xff\r\n\x00"
    if bytes(data[: len(signature)]) != signature:
        raise ValueError("not a binary COPY")
    extension = int.from_bytes(data[len(signature) + 4 : len(signature) + 8], "big")
    body = data[len(signature) + 8 + extension : len(data) - 2]
    rows = np.frombuffer(body, dtype=np.dtype(_COPY_ROW))
    if len(rows) and not (
        (rows["fields"] == 3).all()
        and (rows["vote_length"] == 8).all()
        and (rows["factor_length"] == 8).all()
        and (rows["score_length"] == 2).all()
    ):
        raise ValueError("a binary COPY row is not (int8, int8, int2)")
    return ScoreRows(
        vote=_narrowed(rows["vote"]), factor=_narrowed(rows["factor"]), score=rows["score"].astype(np.int8)
    )


def _narrowed(ids: "np.ndarray") -> "np.ndarray":
    """Ids in native 32-bit integers where they fit (half the memory of 64), else 64-bit."""
    import numpy as np

    fits = not len(ids) or (int(ids.min()) >= 0 and int(ids.max()) < 2**31)
    return ids.astype(np.int32 if fits else np.int64)


def _vote_scores(rows: ScoreRows, product: "np.ndarray", weights: dict[int, float]) -> VoteScores:
    """Per product, its votes' own scores (each vote's weighted mean over the factors it scored) binned with
    how many votes have each, in order of score: what the rank intervals' bootstrap re-draws."""
    import numpy as np

    if not len(rows.vote):
        return {}
    weight = np.ones(len(rows.factor))
    if weights:
        unequal = np.isin(rows.factor, np.fromiter(weights, dtype=np.int64))
        lookup = dict(weights)
        weight[unequal] = [lookup[f] for f in rows.factor[unequal].tolist()]
    # per vote id: a full run's ids are a dense range (arrays of a few MB even at full scale); a few products'
    # votes are spread over it, and numbered apart first
    vote = rows.vote
    if len(vote) < int(vote.max()) // 4:
        _, vote = np.unique(vote, return_inverse=True)
    size = int(vote.max()) + 1
    total = np.bincount(vote, weights=rows.score * weight, minlength=size)
    summed = np.bincount(vote, weights=weight, minlength=size)
    of_vote = np.zeros(size, dtype=np.int64)
    of_vote[vote] = product
    voted = np.flatnonzero(summed)
    of_vote, value = of_vote[voted], total[voted] / summed[voted]
    order = np.lexsort((value, of_vote))
    of_vote, value = of_vote[order], value[order]
    new = np.flatnonzero((np.diff(of_vote, prepend=-1) != 0) | (np.diff(value, prepend=-1.0) != 0))
    counts = np.diff(np.append(new, len(value)))
    scores: VoteScores = {}
    for pid, score, n in zip(of_vote[new].tolist(), value[new].tolist(), counts.tolist(), strict=True):
        values, numbers = scores.setdefault(pid, ([], []))
        values.append(score)
        numbers.append(n)
    return scores


def _read_inputs(product_ids: Sequence[int] | None, window: Window) -> Inputs:
    """Everything the figures of these products (None: of every product) need, as the votes stood at the
    window's cut-off.

    The bulk is one read of the scores (``_scores_read``: found by the product each score carries,
    ``factorscore_product_idx``, for a few products), binned into histograms, hashed into the votes
    digests and summed per vote for the bootstrap in numpy. It leaves out, with a hashed ``NOT IN``, the
    few votes that need a closer look: not counted now, submitted before the window, or changed after the
    cut-off. Those are read back in Python as they stood at the cut-off: the verdict from
    ``VoteVerdictChange`` (written by triggers on every change), the scores from the current rows or from
    the ``VoteRevision`` in force.
    With the cut-off "now" the closer look is the small set of votes that do not count.

    For every product (a full run) the read is one scan of all scores, like the bench's bound:
    no semi-join to a product list, which cost a scan per category (93 of them, ~130 ms each at full scale).
    """
    import numpy as np  # lazily, as in _computed_many

    _jit_off()
    cutoff, start = window.cutoff, window.start
    keys, product_of, defs = _factors_read(product_ids)
    every = Vote.objects.all() if product_ids is None else Vote.objects.filter(product_id__in=product_ids)
    votes = every.filter(created_at__lte=cutoff)
    unusual = Q(submitted_at__lt=start) | Q(updated_at__gt=cutoff) | ~Q(verdict=Vote.Verdict.COUNTED)
    histograms: dict[tuple[int, int], list[int]] = {}

    # The counted scores of the closer look, per product: their products' fingerprints are hashed here.
    closer_lines: dict[int, list[tuple[int, int, int]]] = defaultdict(list)

    def add(product_id: int, campaign_factor_id: int, score: int, n: int = 1) -> None:
        into = histograms.setdefault((product_id, keys[campaign_factor_id]), [0] * len(statistics.SCORES))
        into[score - statistics.SCORES[0]] += n

    # The votes left out of the read of the scores: read first, and passed to it as a list (a long NOT IN
    # list is hashed). As a subquery they were a parallel scan of the votes inside the scan of the scores.
    # (2.8 s against 1.3 s on 5M scores, when it was a histogram query).
    left_out = list(
        every.filter(unusual | Q(created_at__gt=cutoff)).values_list(
            "pk", "product_id", "verdict", "exclusion_reason", "submitted_at", "updated_at", "created_at"
        )
    )
    closer = [row[:6] for row in left_out if row[6] <= cutoff]
    excluded = [row[0] for row in left_out]
    rows = _scores_read(product_ids, excluded)
    # Each score's product and histogram row, by its campaign factor (a dense range of ids: a lookup array).
    factor_ids = np.fromiter(product_of, dtype=np.int64, count=len(product_of))
    lookup = np.full(int(factor_ids.max(initial=-1)) + 1, -1, dtype=np.int64)
    lookup[factor_ids] = np.arange(len(factor_ids))
    row_of = lookup[np.minimum(rows.factor, len(lookup) - 1)] if len(lookup) else np.full(len(rows.factor), -1)
    if not (known := (row_of >= 0) & (rows.factor < len(lookup))).all():
        # a campaign opened since its factors were read: its product is read again (``_category_computed``)
        rows = ScoreRows(vote=rows.vote[known], factor=rows.factor[known], score=rows.score[known])
        row_of = row_of[known]
    product = np.fromiter(product_of.values(), dtype=np.int64, count=len(product_of))[row_of]
    counted = np.bincount(row_of * 5 + rows.score - statistics.SCORES[0], minlength=len(factor_ids) * 5)
    for factor_id, histogram in zip(factor_ids.tolist(), counted.reshape(-1, 5).tolist(), strict=True):
        if not any(histogram):
            continue
        key = (product_of[factor_id], keys[factor_id])
        if key in histograms:  # another campaign's factor of the same catalog factor
            histograms[key] = [a + b for a, b in zip(histograms[key], histogram, strict=True)]
        else:
            histograms[key] = histogram
    weights = {f.pk: float(f.weight) for fs in defs.values() for f in fs if f.weight != 1}
    vote_scores = _vote_scores(rows, product, weights)

    counts: dict[int, VoteCounts] = defaultdict(VoteCounts)
    plain = votes.filter(submitted_at__gte=start, updated_at__lte=cutoff, verdict=Vote.Verdict.COUNTED)
    for product_id, n, last in (
        plain.values_list("product_id").annotate(n=Count("pk"), last=Max("submitted_at")).order_by()
    ):
        into = counts[product_id]
        into.voted += n
        into.counted += n
        into.last_vote_at = max(filter(None, [into.last_vote_at, last]), default=None)

    changed = [row[0] for row in closer if row[5] > cutoff]
    verdict_then: dict[int, tuple[str, str]] = {}
    for vote_id, verdict, reason in (
        VoteVerdictChange.objects.filter(vote_id__in=changed, changed_at__lte=cutoff)
        .order_by("vote_id", "changed_at", "pk")
        .values_list("vote_id", "verdict", "exclusion_reason")
    ):
        verdict_then[vote_id] = (verdict, reason)  # the last one at or before the cut-off wins
    revision_then: dict[int, tuple[datetime, dict[str, int]]] = {}
    for vote_id, submitted, scores in (
        VoteRevision.objects.filter(vote_id__in=[row[0] for row in closer if row[4] > cutoff], submitted_at__lte=cutoff)
        .order_by("vote_id", "submitted_at", "pk")
        .values_list("vote_id", "submitted_at", "scores")
    ):
        revision_then[vote_id] = (submitted, scores)
    current_scores: list[int] = []
    for vote_id, product_id, verdict, reason, submitted, updated in closer:
        if updated > cutoff:
            verdict, reason = verdict_then.get(vote_id, (Vote.Verdict.COUNTED, ""))
        if submitted > cutoff:
            if vote_id not in revision_then:
                continue  # no state of this vote had been submitted by the cut-off
            submitted, scores = revision_then[vote_id]
            if submitted >= start and verdict == Vote.Verdict.COUNTED:
                for factor_id, score in scores.items():
                    add(product_id, int(factor_id), int(score))
                    closer_lines[product_id].append((vote_id, int(factor_id), int(score)))
        elif submitted >= start and verdict == Vote.Verdict.COUNTED:
            current_scores.append(vote_id)
        if submitted >= start:
            counts[product_id].add(verdict, reason, submitted)
    for vote_id, product_id, factor_id, score in FactorScore.objects.filter(vote_id__in=current_scores).values_list(
        "vote_id", "product_id", "factor_id", "score"
    ):
        add(product_id, factor_id, score)
        closer_lines[product_id].append((vote_id, factor_id, score))
    digests = fingerprints.votes_digests(
        product=product, vote=rows.vote, factor=rows.factor, score=rows.score, closer=closer_lines
    )

    return Inputs(
        histograms=histograms,
        votes=dict(counts),
        invited=_invited(product_ids, window),
        factor_keys=keys,
        factor_defs=defs,
        vote_digests=digests,
        vote_scores=vote_scores,
        window_days=(cutoff - start).days,
    )


def _invited(product_ids: Sequence[int] | None, window: Window) -> dict[int, int]:
    """Per product, the buyers invited within the window: counted per campaign, where an invitation is one per
    buyer (``invitation_one_per_user_and_campaign``), from the campaigns' index alone (0.34 s at full scale,
    in parallel); the distinct buyers counted only for products with invitations from several campaigns (a
    buyer invited again after a rollover counts once). ``COUNT(DISTINCT user_id)`` per product for all of
    them sorted every invitation: 1.6 s."""
    invitations = Invitation.objects.filter(created_at__range=(window.start, window.cutoff))
    if product_ids is not None:
        invitations = invitations.filter(campaign__product_id__in=product_ids)
    per_campaign = dict(invitations.values_list("campaign_id").annotate(n=Count("pk")).order_by())
    invited: dict[int, int] = defaultdict(int)
    campaigns: dict[int, int] = defaultdict(int)
    for campaign_id, product_id in Campaign.objects.filter(pk__in=list(per_campaign)).values_list("pk", "product_id"):
        invited[product_id] += per_campaign[campaign_id]
        campaigns[product_id] += 1
    if several := [product_id for product_id, n in campaigns.items() if n > 1]:
        invited.update(
            invitations.filter(campaign__product_id__in=several)
            .values_list("campaign__product_id")
            .annotate(n=Count("user_id", distinct=True))
            .order_by()
        )
    return dict(invited)


#: The inputs of the full run this process is working on, read by its first category and sliced by the
#: next ones: (run id, cut-off, window in days) and the inputs. Only ever one run's.
_run_inputs_cached: tuple[tuple[int, datetime, int], Inputs] | None = None


def _run_inputs(run: ScoringRun, *, window_days: int) -> Inputs:
    """The inputs of the products of the run's categories still to score, as of the run's cut-off, read once per
    run and process: every product's in one scan of the scores, or, when at most a fifth of the run's categories
    are left to score (the rest carried over unchanged, ``_carry_over_unchanged``), only theirs, through the
    products' index. A category this process scores later and the read missed is read on its own
    (``_category_computed``).

    Harmless to share between categories: what is read is the data as it stood at the cut-off, whenever
    it is read (later changes get the closer look in ``_read_inputs``). With the categories spread over
    several worker processes, each process reads once.
    """
    global _run_inputs_cached
    key = (run.pk, run.data_cutoff, window_days)
    if _run_inputs_cached is None or _run_inputs_cached[0] != key:
        _run_inputs_cached = None  # the previous run's, freed before the next is read
        pending = run_categories_pending(run_id=run.pk)
        product_ids: list[int] | None = None
        if len(pending) * FEW_CATEGORIES_LEFT <= run.categories.count():
            product_ids = sorted(
                set(Campaign.objects.filter(category_id__in=pending).values_list("product_id", flat=True))
            )
        _run_inputs_cached = (key, _read_inputs(product_ids, Window.ending(run.data_cutoff, days=window_days)))
    return _run_inputs_cached[1]


#: A run with at most one in this many of its categories left to score reads only their products' scores.
FEW_CATEGORIES_LEFT = 5


# --- Computing ------------------------------------------------------------------------------------


class FactorLike(Protocol):
    """A campaign factor as the computation needs it (a ``CampaignFactor``, or a row of one)."""

    @property
    def pk(self) -> int: ...
    @property
    def name_zh(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def weight(self) -> Decimal: ...


@dataclass(frozen=True)
class FactorDef:
    """A campaign factor read as a row: the full run reads ~20k of them, model instances cost 10× more."""

    pk: int
    campaign_id: int
    name_zh: str
    name_en: str
    position: int
    weight: Decimal


@dataclass(slots=True)
class ResultRow:
    """A ``ProductResult`` computed and not yet saved: its columns, without a model instance."""

    product_id: int
    campaign_id: int
    category_id: int
    method_version: str
    data_cutoff: datetime
    invited: int
    voted: int
    counted: int
    under_review: int
    excluded_screening: int
    excluded_moderation: int
    excluded_refund: int
    last_vote_at: datetime | None
    min_votes: int
    published: bool
    comprehensive: float | None
    prior: float
    prior_strength: int
    ranking_score: float | None
    input_fingerprint: str


@dataclass(slots=True)
class FactorRow:
    """A ``FactorResult`` computed and not yet saved."""

    campaign_factor_id: int
    name_zh: str
    name_en: str
    position: int
    weight: Decimal
    votes: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    median: float | None
    agreement: float | None
    scores_1: int
    scores_2: int
    scores_3: int
    scores_4: int
    scores_5: int


#: The columns both kinds of rows are written with (``_results_write``), in order.
RESULT_COLUMNS = tuple(field.name for field in fields(ResultRow))
FACTOR_COLUMNS = tuple(field.name for field in fields(FactorRow))


@dataclass
class Computed:
    """A product's result and factor results: computed (rows) or saved (model instances)."""

    result: ResultRow | ProductResult
    factors: Sequence[FactorRow | FactorResult]

    def fingerprint(self) -> tuple[Any, ...]:
        """Everything a shopper or the list could see; equal fingerprints mean nothing changed."""
        r = self.result
        head = (
            r.campaign_id,
            r.method_version,
            r.invited,
            r.voted,
            r.counted,
            r.under_review,
            r.excluded_screening,
            r.excluded_moderation,
            r.excluded_refund,
            r.last_vote_at,
            r.min_votes,
            r.published,
            _rounded(r.comprehensive),
            _rounded(r.prior),
            r.prior_strength,
            _rounded(r.ranking_score),
            r.input_fingerprint,  # a counted vote swapped for another with the same scores writes a result too
        )
        rows = tuple(
            (f.campaign_factor_id, f.name_zh, f.name_en, f.position, f.weight, *_histogram(f))
            for f in sorted(self.factors, key=lambda f: f.campaign_factor_id)
        )
        return head + rows

    def digest(self) -> str:
        """The fingerprint as a short hash, stored on the result: the next run compares hashes instead of
        loading every latest result with its factors (66k objects at full scale) to find nothing changed.
        Computed rows hold plain Python values (numpy's are converted), so their ``repr`` is stable."""
        return hashlib.blake2b(repr(self.fingerprint()).encode(), digest_size=16).hexdigest()


def _histogram(factor: FactorRow | FactorResult) -> tuple[int, ...]:
    return (factor.scores_1, factor.scores_2, factor.scores_3, factor.scores_4, factor.scores_5)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 9)


def _none(value: float) -> float | None:
    return None if value != value else value  # NaN, numpy's "no figure", is None in a result


def _computed_many(
    campaigns: Sequence[Campaign],
    *,
    factors: dict[int, Sequence[FactorLike]],
    inputs: Inputs,
    min_votes: int,
    prior: float | None,
    prior_strength: int,
    cutoff: datetime,
) -> tuple[list[Computed], float]:
    """The results of these campaigns' products, and the prior used (computed from them when None).

    Every factor's figures come from one ``statistics.factor_figures_matrix`` over the histogram matrix;
    the per-product sums (comprehensive score, prior, ranking score) stay in ``ratings.statistics``'s
    scalar functions, a few thousand calls.
    """
    import numpy as np  # lazily: web processes that never score stay light

    histograms = [inputs.histogram(c.product_id, f) for c in campaigns for f in factors[c.pk]]
    figures = statistics.factor_figures_matrix(np.array(histograms, dtype=np.int64).reshape(-1, 5))
    columns = [
        figures.votes.tolist(),
        figures.mean.tolist(),
        figures.sd.tolist(),
        figures.ci_low.tolist(),
        figures.ci_high.tolist(),
        figures.median.tolist(),
        figures.agreement.tolist(),
    ]
    per_product: list[tuple[Campaign, list[FactorRow], float | None]] = []
    row = 0
    for campaign in campaigns:
        factor_rows = []
        for factor in factors[campaign.pk]:
            votes, mean, sd, ci_low, ci_high, median, agreement = (column[row] for column in columns)
            factor_rows.append(
                FactorRow(
                    factor.pk,
                    factor.name_zh,
                    factor.name_en,
                    factor.position,
                    factor.weight,
                    votes,
                    _none(mean),
                    _none(sd),
                    _none(ci_low),
                    _none(ci_high),
                    _none(median),
                    _none(agreement),
                    *histograms[row],
                )
            )
            row += 1
        comprehensive = statistics.comprehensive_score(
            [f.mean for f in factor_rows], [float(f.weight) for f in factor_rows]
        )
        per_product.append((campaign, factor_rows, comprehensive))
    if prior is None:
        prior = statistics.category_prior(
            [(score, inputs.votes_of(c.product_id).counted) for c, _, score in per_product if score is not None]
        )
    computed = []
    for campaign, factor_rows, comprehensive in per_product:
        votes = inputs.votes_of(campaign.product_id)
        published = comprehensive is not None and votes.counted >= min_votes
        result = ResultRow(
            product_id=campaign.product_id,
            campaign_id=campaign.pk,
            category_id=campaign.category_id,
            method_version=statistics.METHOD_VERSION,
            data_cutoff=cutoff,
            invited=inputs.invited.get(campaign.product_id, 0),
            voted=votes.voted,
            counted=votes.counted,
            under_review=votes.under_review,
            excluded_screening=votes.excluded_screening,
            excluded_moderation=votes.excluded_moderation,
            excluded_refund=votes.excluded_refund,
            last_vote_at=votes.last_vote_at,
            min_votes=min_votes,
            published=published,
            comprehensive=comprehensive,
            prior=prior,
            prior_strength=prior_strength,
            ranking_score=(
                statistics.ranking_score(comprehensive, votes.counted, prior=prior, prior_strength=prior_strength)
                if published and comprehensive is not None
                else None
            ),
            input_fingerprint=fingerprints.sha256(
                fingerprints.product_text(
                    product_id=campaign.product_id,
                    campaign_id=campaign.pk,
                    min_votes=min_votes,
                    prior_strength=prior_strength,
                    window_days=inputs.window_days,
                    factors=[
                        fingerprints.FactorInput(f.pk, inputs.factor_keys.get(f.pk, -f.pk), f.position, f.weight)
                        for f in factors[campaign.pk]
                    ],
                    votes_digest=inputs.vote_digests.get(campaign.product_id, fingerprints.NO_VOTES),
                )
            ),
        )
        computed.append(Computed(result=result, factors=factor_rows))
    return computed, prior


def _compute(
    campaign: Campaign,
    *,
    factors: Sequence[FactorLike],
    inputs: Inputs,
    min_votes: int,
    prior: float,
    prior_strength: int,
    cutoff: datetime,
) -> Computed:
    """One product's result (the mixed-load bench checks stored results with it)."""
    computed, _ = _computed_many(
        [campaign],
        factors={campaign.pk: factors},
        inputs=inputs,
        min_votes=min_votes,
        prior=prior,
        prior_strength=prior_strength,
        cutoff=cutoff,
    )
    return computed[0]


# --- Writing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryOutcome:
    scored: int
    changed: int
    published: int
    listed: int
    changed_products: list[int]
    #: Each product's latest result now, by its id (the reliability figures are computed from them).
    latest: list[tuple[int, "Computed"]] = field(default_factory=list)
    #: SHA-256 over the input fingerprints of the products scored (``fingerprints.category_fingerprint``).
    input_fingerprint: str = ""


def _category_computed(
    *,
    run: ScoringRun,
    campaigns: Sequence[Campaign],
    prior: float | None,
    min_votes: int,
    prior_strength: int,
    window_days: int,
    inputs: Inputs | None = None,
) -> tuple[list[Computed], float]:
    """The figures of these campaigns' products as of the run's cut-off, and the prior used (computed
    from them when ``prior`` is None). Reads only.
    ``inputs`` are the full run's, read once for every category; without them, these products' are read."""
    window = Window.ending(run.data_cutoff, days=window_days)
    if inputs is None:
        inputs = _read_inputs([c.product_id for c in campaigns], window)
    elif missing := [c.product_id for c in campaigns if c.pk not in inputs.factor_defs]:
        # Campaigns opened after the run read its inputs: their products are read now.
        inputs = inputs.replaced(_read_inputs(missing, window), missing)
    return _computed_many(
        campaigns,
        factors={c.pk: inputs.factor_defs.get(c.pk, []) for c in campaigns},
        inputs=inputs,
        min_votes=min_votes,
        prior=prior,
        prior_strength=prior_strength,
        cutoff=window.cutoff,
    )


def _score_category(
    *,
    run: ScoringRun,
    category: Category,
    campaigns: Sequence[Campaign],
    prior: float | None,
    rules: RatingPolicy,
    inputs: Inputs | None = None,
) -> tuple[CategoryOutcome, float]:
    """Score the campaigns of one category (all of them, or one), write what changed, rebuild its list.

    ``prior`` None means "compute it from these campaigns" (a full run); a re-score passes the prior
    the last full run fixed. What changed is found by the fingerprint each result stores (``digest``).
    Returns the outcome and the prior used. Runs inside the caller's transaction.
    """
    window_days = run.score_window_days or rules.score_window_days
    computed, prior = _category_computed(
        run=run,
        campaigns=campaigns,
        prior=prior,
        min_votes=category.min_votes_to_publish or rules.min_votes_to_publish,
        prior_strength=rules.prior_strength,
        window_days=window_days,
        inputs=inputs,
    )
    stored = {
        product_id: (fingerprint, pk)
        for product_id, fingerprint, pk in ProductResult.objects.filter(
            product_id__in=[c.product_id for c in campaigns], is_latest=True
        ).values_list("product_id", "fingerprint", "pk")
    }
    digests = [c.digest() for c in computed]
    changed = [
        (c, digest)
        for c, digest in zip(computed, digests, strict=True)
        if stored.get(c.result.product_id, ("", 0))[0] != digest
    ]
    written: dict[int, int] = {}
    if changed:
        written = _results_write(run=run, changed=changed)
    run_inputs = inputs
    bootstrap = (
        Bootstrap(
            window=Window.ending(run.data_cutoff, days=window_days),
            prior=prior,
            prior_strength=rules.prior_strength,
            changed=bool(changed),
            vote_scores=run_inputs.vote_scores,
        )
        if run.kind == ScoringRun.Kind.FULL and run_inputs is not None
        else None
    )
    listed = _list_rebuild(run=run, category=category, rules=rules, bootstrap=bootstrap)
    outcome = CategoryOutcome(
        scored=len(computed),
        changed=len(changed),
        published=sum(1 for c in computed if c.result.published),
        listed=listed,
        changed_products=[c.result.product_id for c, _ in changed],
        latest=[(written.get(c.result.product_id) or stored[c.result.product_id][1], c) for c in computed],
        input_fingerprint=fingerprints.category_fingerprint(
            list_threshold=rules.list_threshold,
            list_size=rules.list_size,
            products=[(c.result.product_id, c.result.input_fingerprint) for c in computed],
        ),
    )
    return outcome, prior


# One array per column, in the order of RESULT_COLUMNS and FACTOR_COLUMNS; the factors' first array is
# their products', which finds each its new result. The factors go in in the order of the arrays (result,
# position, id), as the default ordering of FactorResult reads them back.
RESULTS_INSERT = """
    WITH written AS (
        INSERT INTO ratings_productresult (
            run_id, is_latest, created_at, fingerprint,
            product_id, campaign_id, category_id, method_version, data_cutoff, invited, voted, counted, under_review,
            excluded_screening, excluded_moderation, excluded_refund, last_vote_at, min_votes, published,
            comprehensive, prior, prior_strength, ranking_score, input_fingerprint)
        SELECT %s, true, %s, new.*
          FROM unnest(%s::text[],
                      %s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[], %s::int[], %s::int[],
                      %s::int[], %s::int[], %s::int[], %s::int[], %s::int[], %s::timestamptz[], %s::int[],
                      %s::boolean[], %s::float8[], %s::float8[], %s::int[], %s::float8[], %s::text[]) AS new
        RETURNING id, product_id
    ), factors AS (
        INSERT INTO ratings_factorresult (
            result_id, campaign_factor_id, name_zh, name_en, position, weight, votes, mean, sd, ci_low, ci_high,
            median, agreement, scores_1, scores_2, scores_3, scores_4, scores_5)
        SELECT written.id, f.campaign_factor_id, f.name_zh, f.name_en, f.position, f.weight, f.votes, f.mean, f.sd,
               f.ci_low, f.ci_high, f.median, f.agreement, f.scores_1, f.scores_2, f.scores_3, f.scores_4, f.scores_5
          FROM unnest(%s::bigint[],
                      %s::bigint[], %s::text[], %s::text[], %s::int[], %s::numeric[], %s::int[], %s::float8[],
                      %s::float8[], %s::float8[], %s::float8[], %s::float8[], %s::float8[], %s::int[], %s::int[],
                      %s::int[], %s::int[], %s::int[])
               WITH ORDINALITY AS f (product_id, campaign_factor_id, name_zh, name_en, position, weight, votes, mean,
                                     sd, ci_low, ci_high, median, agreement, scores_1, scores_2, scores_3, scores_4,
                                     scores_5, n)
          JOIN written ON written.product_id = f.product_id
         ORDER BY f.n
    )
    SELECT id, product_id FROM written
"""
# The old results' latest mark moved off first, in a statement of its own: one latest result per product.
LATEST_UNMARK = "UPDATE ratings_productresult SET is_latest = false WHERE is_latest AND product_id = ANY(%s::bigint[])"
# A product that is no longer published leaves the list in the same statement (the database refuses a
# listed product without a ranking score); the list rebuild then renumbers the rest.
PRODUCTS_UPDATE = """
    UPDATE catalog_product p
       SET rating_score = CASE WHEN new.published THEN new.comprehensive END,
           ranking_score = new.ranking_score,
           rated_by = new.counted,
           heart_rank = CASE WHEN new.ranking_score IS NOT NULL THEN p.heart_rank END,
           heart_rank_low = CASE WHEN new.ranking_score IS NOT NULL THEN p.heart_rank_low END,
           heart_rank_high = CASE WHEN new.ranking_score IS NOT NULL THEN p.heart_rank_high END
      FROM unnest(%s::bigint[], %s::boolean[], %s::float8[], %s::float8[], %s::int[])
           AS new (product_id, published, comprehensive, ranking_score, counted)
     WHERE p.id = new.product_id
"""


def _results_write(*, run: ScoringRun, changed: Sequence[tuple[Computed, str]]) -> dict[int, int]:
    """Write the changed results as the latest and copy their published figures onto the products (so every
    list shows them without a join), in one round trip of three statements whatever their number: the
    latest mark moved off the old results; the products updated; the results and their factors inserted by
    ``INSERT … SELECT FROM unnest(…)`` of one array per column (``bulk_create`` built a model instance and
    converted every value in Python: ~45k instances and 405k conversions for 21k rows at full scale;
    ``bulk_update`` of the products a CASE per field and product). Sent apart they were four round trips
    a category. Returns each product's new result id."""
    if connection.vendor != "postgresql":
        return _results_write_orm(run=run, changed=changed)
    results = [c.result for c, _ in changed]
    factors = [(c.result.product_id, f) for c, _ in changed for f in c.factors]
    with connection.cursor() as cursor:
        cursor.execute(
            ";".join([LATEST_UNMARK, PRODUCTS_UPDATE, RESULTS_INSERT]),
            [
                _pg_array([r.product_id for r in results]),
                _pg_array([r.product_id for r in results]),
                _pg_array([r.published for r in results]),
                _pg_array([r.comprehensive for r in results]),
                _pg_array([r.ranking_score for r in results]),
                _pg_array([r.counted for r in results]),
                run.pk,
                timezone.now(),
                _pg_array([digest for _, digest in changed]),
                *(_pg_array([getattr(r, name) for r in results]) for name in RESULT_COLUMNS),
                _pg_array([product_id for product_id, _ in factors]),
                *(_pg_array([getattr(f, name) for _, f in factors]) for name in FACTOR_COLUMNS),
            ],
        )
        return {product_id: pk for pk, product_id in cursor.fetchall()}


def _results_write_orm(*, run: ScoringRun, changed: Sequence[tuple[Computed, str]]) -> dict[int, int]:
    """``_results_write`` for SQLite (a fresh machine, the demo): the same rows and products through the ORM."""
    ProductResult.objects.filter(is_latest=True, product_id__in=[c.result.product_id for c, _ in changed]).update(
        is_latest=False
    )
    now = timezone.now()
    saved = ProductResult.objects.bulk_create(
        ProductResult(
            run=run,
            is_latest=True,
            created_at=now,
            fingerprint=digest,
            **{name: getattr(c.result, name) for name in RESULT_COLUMNS},
        )
        for c, digest in changed
    )
    result_of = {result.product_id: result.pk for result in saved}
    FactorResult.objects.bulk_create(
        FactorResult(result_id=result_of[c.result.product_id], **{name: getattr(f, name) for name in FACTOR_COLUMNS})
        for c, _ in changed
        for f in c.factors
    )
    for r in (c.result for c, _ in changed):  # one UPDATE per product, the demo's few hundred
        # a product without a ranking score leaves the list in the same statement, as in PRODUCTS_UPDATE
        unlisted = (
            {"heart_rank": None, "heart_rank_low": None, "heart_rank_high": None} if r.ranking_score is None else {}
        )
        Product.objects.filter(pk=r.product_id).update(
            rating_score=r.comprehensive if r.published else None,
            ranking_score=r.ranking_score,
            rated_by=r.counted,
            **unlisted,
        )
    return result_of


def _pg_array(values: Iterable[Any]) -> str:
    """Values as one PostgreSQL array literal (``'{1,2,NULL}'``, cast in the statement), instead of psycopg2's
    ``ARRAY[1,2,NULL]``: that is one constant per element for the server to parse and plan, ~6 ms of planning
    a category for the results' forty arrays, against well under 1 ms for forty strings."""
    return "{" + ",".join(map(_pg_array_element, values)) + "}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: How each type of value is written in an array literal, found by its exact type (a bool is not written as the
#: int it also is): a full run writes ~500k values, and a chain of ``isinstance`` cost twice as much.
_ELEMENTS: dict[type, Callable[[Any], str]] = {
    type(None): lambda _: "NULL",
    bool: lambda value: "t" if value else "f",
    int: str,
    Decimal: str,
    float: repr,  # the shortest text that reads back to the same float, as psycopg2 sends it
    datetime: lambda value: f'"{value.isoformat()}"',
    str: _quoted,
}


def _pg_array_element(value: Any) -> str:
    written = _ELEMENTS.get(type(value))
    return written(value) if written is not None else _quoted(str(value))


def _commit_without_waiting() -> None:
    """Let a full run's category commit without waiting for its WAL to reach the disk: 93 flushes were
    ~2 s of a run. Safe here: a database crash loses at most the last few categories whole (their
    "finished" mark with them, in the same transaction), and the stalled-run sweep sends them again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _jit_off() -> None:
    if connection.vendor == "postgresql":
        # The read's estimated cost passes jit_above_cost (the histogram query it replaced: ~250k for a
        # category, ~120k for one busy product), and compiling took 10–110 ms: as long as the query, or longer.
        # Once per read: the categories after a full run's first send only small statements.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


def _list_rebuild(
    *, run: ScoringRun, category: Category, rules: RatingPolicy, bootstrap: "Bootstrap | None" = None
) -> int:
    """The category's list from its latest published results: a snapshot for this run, ranks on products.

    A product with a confirmed counterfeit claim (``moderation.CounterfeitCase``, reached by its reverse
    relation: moderation depends on ratings, not the other way) is held off until staff clear it.

    With ``bootstrap`` (a full run) each place gets its 90% interval from a bootstrap over its products'
    raters (``_rank_intervals``). A re-score has no bootstrap (it would read every score of the category
    for one product's change): a product keeps its interval from the last full run, widened to take in
    its new place, and one new to the list shows none until the next full run.
    """
    candidates = [
        statistics.Candidate(product_id=pid, ranking_score=rank, comprehensive=score, counted=counted)
        for pid, rank, score, counted in ProductResult.objects.filter(category=category, is_latest=True, published=True)
        .exclude(product__counterfeit_cases__status="confirmed")
        .values_list("product_id", "ranking_score", "comprehensive", "counted")
        if rank is not None and score is not None
    ]
    chosen = statistics.heart_list(candidates, threshold=float(rules.list_threshold), size=rules.list_size)
    ranks = {c.product_id: place for place, c in enumerate(chosen, start=1)}
    # the category's products (by its campaigns) placed now, and those to be placed: by the campaigns' and the
    # products' own indexes (one query joining the two, its OR and a DISTINCT scanned every product: 3.8 ms)
    nearby = set(Campaign.objects.filter(category=category).values_list("product_id", flat=True)) | set(ranks)
    current = {
        pk: (rank, low, high)
        for pk, rank, low, high in Product.objects.filter(pk__in=nearby).values_list(
            "pk", "heart_rank", "heart_rank_low", "heart_rank_high"
        )
        if rank is not None or pk in ranks
    }
    intervals: dict[int, tuple[int | None, int | None]]
    if bootstrap is not None and (
        bootstrap.changed
        or any(current.get(pk, (None, None, None))[1] is None for pk in ranks)
        or _list_rescored_since_full_run(category)
    ):
        intervals = _rank_intervals(category_id=category.pk, candidates=candidates, bootstrap=bootstrap, listed=ranks)
    else:  # a re-score, or a full run in which nothing of the category changed since the last one's bootstrap
        intervals = {}
        for pk, place in ranks.items():
            _, low, high = current.get(pk, (None, None, None))
            intervals[pk] = (None, None) if low is None or high is None else (min(low, place), max(high, place))
    HeartListEntry.objects.bulk_create(
        HeartListEntry(
            run=run,
            category=category,
            product_id=c.product_id,
            rank=place,
            ranking_score=c.ranking_score,
            comprehensive=c.comprehensive,
            counted=c.counted,
            rank_low=intervals[c.product_id][0],
            rank_high=intervals[c.product_id][1],
        )
        for place, c in enumerate(chosen, start=1)
    )
    placed = {pk: (ranks.get(pk), *intervals.get(pk, (None, None))) for pk in current}
    moved = [(pk, *place) for pk, place in placed.items() if current[pk] != place]
    if moved:
        _heart_ranks_update(moved)
        category_ids = [category.pk]

        def forget() -> None:
            cache.delete(HEART_LIST_CACHE_KEY)
            page_cache.listings_forget(category_ids=category_ids)

        transaction.on_commit(forget)
    return len(chosen)


HEART_RANKS_UPDATE = """
    UPDATE catalog_product p
       SET heart_rank = new.rank, heart_rank_low = new.low, heart_rank_high = new.high
      FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::int[]) AS new (product_id, rank, low, high)
     WHERE p.id = new.product_id
"""


def _heart_ranks_update(moved: Sequence[tuple[int, int | None, int | None, int | None]]) -> None:
    """Products' places and intervals, (product id, place, low, high), in one UPDATE from arrays: ``bulk_update``
    built a CASE per field and product in Python, ~20 ms a category."""
    if connection.vendor != "postgresql":  # SQLite: the demo's few products, through the ORM
        Product.objects.bulk_update(
            [
                Product(pk=pk, heart_rank=rank, heart_rank_low=low, heart_rank_high=high)
                for pk, rank, low, high in moved
            ],
            ["heart_rank", "heart_rank_low", "heart_rank_high"],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(HEART_RANKS_UPDATE, [_pg_array(column) for column in zip(*moved, strict=True)])


@dataclass(frozen=True)
class Bootstrap:
    """What a full run's rank intervals are computed with: the votes' window and the category's prior, the
    run's vote scores (``Inputs.vote_scores``); and whether any result of the category
    changed in the run (if none did, and no re-score rebuilt the list since the last full run, the
    bootstrap would give the same intervals again: they are kept)."""

    window: Window
    prior: float
    prior_strength: int
    changed: bool
    vote_scores: VoteScores


def _list_rescored_since_full_run(category: Category) -> bool:
    """Whether the category's latest list was rebuilt by a re-score (its intervals widened, not computed)."""
    latest = HeartListEntry.objects.filter(category=category).order_by("-run_id").values_list("run__kind", flat=True)
    return latest.first() == ScoringRun.Kind.PRODUCT


def _rank_intervals(
    *,
    category_id: int,
    candidates: Sequence[statistics.Candidate],
    bootstrap: Bootstrap,
    listed: dict[int, int],
) -> dict[int, tuple[int | None, int | None]]:
    """Each listed product's 90% place interval (``ratings.rank_intervals``) among every published product
    of the category, from the run's vote scores."""
    if not listed:
        return {}
    import numpy as np  # lazily, as in _computed_many

    from ratings import rank_intervals

    ordered = sorted(candidates, key=lambda c: (-c.ranking_score, -c.counted, c.product_id))
    scores = bootstrap.vote_scores
    bins = [
        (i, score, n)
        for i, c in enumerate(ordered)
        for score, n in zip(*scores.get(c.product_id, ([], [])), strict=True)
    ]
    arrays = np.array(bins, dtype=np.float64).reshape(-1, 3)
    figures = rank_intervals.rank_intervals(
        ranking=np.array([c.ranking_score for c in ordered]),
        comprehensive=np.array([c.comprehensive for c in ordered]),
        counted=np.array([c.counted for c in ordered], dtype=np.float64),
        bin_product=arrays[:, 0].astype(np.int64),
        bin_score=arrays[:, 1],
        bin_votes=arrays[:, 2],
        prior=bootstrap.prior,
        prior_strength=bootstrap.prior_strength,
        seed=category_id,
    )
    return {pk: (int(figures.low[place - 1]), int(figures.high[place - 1])) for pk, place in listed.items()}


def _forget_cached(product_ids: Sequence[int]) -> None:
    """After commit, drop the cached pages' data of re-scored products (and the list, which shows them)."""
    if product_ids:
        keys = [product_rating_cache_key(pk) for pk in product_ids] + [HEART_LIST_CACHE_KEY]
        ids = list(product_ids)

        def forget() -> None:
            cache.delete_many(keys)
            page_cache.forget(ids)

        transaction.on_commit(forget)


# --- The full run ---------------------------------------------------------------------------------


def run_start(*, triggered_by: str, task_id: str = "", now: datetime | None = None) -> tuple[ScoringRun, list[int]]:
    """Record a full run and the categories it will score (those with a campaign), in one transaction:
    a worker dying in between leaves no run without categories, which nothing would ever finish.

    Resumable: with the id of the task that starts it, a second call with the same id (the broker
    delivering the task again after its worker died) records nothing and returns the same run with
    the categories it has not finished, so the caller sends only those again. Two deliveries at once
    meet on the unique task id. Then closes campaigns past their closing time as of the run's cut-off
    (a resumed run repeats this harmlessly), before any category is scored.
    """
    resumed = _run_of_task(task_id)
    if resumed is None:
        now = now or timezone.now()
        try:
            with transaction.atomic():
                run = ScoringRun.objects.create(
                    kind=ScoringRun.Kind.FULL,
                    triggered_by=triggered_by[:60],
                    task_id=task_id,
                    method_version=statistics.METHOD_VERSION,
                    data_cutoff=now,
                    score_window_days=policy_get().score_window_days,
                    started_at=now,
                )
                category_ids = sorted(set(Campaign.objects.values_list("category_id", flat=True).distinct()))
                ScoringRunCategory.objects.bulk_create(
                    ScoringRunCategory(run=run, category_id=pk) for pk in category_ids
                )
        except IntegrityError:
            resumed = _run_of_task(task_id)  # another delivery of the same task recorded it first
            if resumed is None:
                raise
    if resumed is not None:
        run, category_ids = resumed
        logger.info("scoring run %s resumed by task %s: %d categories left", run.pk, task_id, len(category_ids))
    if run.status == ScoringRun.Status.RUNNING:
        campaigns_close_expired(now=run.data_cutoff)
        carried = set(_carry_over_unchanged(run))
        category_ids = [pk for pk in category_ids if pk not in carried]
    return run, category_ids


def _run_of_task(task_id: str) -> tuple[ScoringRun, list[int]] | None:
    if not task_id:
        return None
    run = ScoringRun.objects.filter(kind=ScoringRun.Kind.FULL, task_id=task_id).first()
    if run is None:
        return None
    return run, run_categories_pending(run_id=run.pk)


def run_categories_pending(*, run_id: int) -> list[int]:
    """The categories of a run that are not finished (an error counts as finished)."""
    return list(
        ScoringRunCategory.objects.filter(run_id=run_id, finished_at__isnull=True)
        .order_by("category_id")
        .values_list("category_id", flat=True)
    )


def run_category(*, run_id: int, category_id: int) -> CategoryOutcome | None:
    """Score every product of one category for a full run, and record the category's prior.

    Idempotent: a finished category is skipped; the work is one transaction, so a redelivered task
    after a crash starts from a clean slate. An error is recorded on the category (the run then
    finishes "with errors") and the other categories go on; a lost database connection is raised for
    the task to retry. Returns None when there was nothing to do or it failed.
    """
    try:
        _run_inputs_read(run_id=run_id, category_id=category_id)
        return _run_category(run_id=run_id, category_id=category_id)
    except OperationalError:
        raise  # the database went away: the task retries, the category is still unfinished
    except Exception as exc:
        logger.exception("scoring run %s category %s failed", run_id, category_id)
        ScoringRunCategory.objects.filter(run_id=run_id, category_id=category_id, finished_at=None).update(
            finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:5000], updated_at=timezone.now()
        )
        return None


def _run_inputs_read(*, run_id: int, category_id: int) -> None:
    """Read the run's inputs (``_run_inputs``) for a category still to score, in a transaction of their own that
    sees the database at one moment (``_one_snapshot``), before the category's transaction takes its locks:
    there each statement would see its own moment, and a vote changed between the read of the scores and that of
    the counts (~10 s apart at full scale) was counted in its product's figures but not in its number of votes.
    The category's transaction then finds them read (a policy changed meanwhile: it reads them itself)."""
    run = ScoringRun.objects.filter(
        pk=run_id, categories__category_id=category_id, categories__finished_at__isnull=True
    ).first()
    if run is None:
        return  # finished already (a task delivered again), or no such run: nothing to read
    with _one_snapshot():
        _run_inputs(run, window_days=run.score_window_days or policy_get().score_window_days)


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Every statement inside reads the database as it stood at one moment: a REPEATABLE READ, READ ONLY
    transaction (PostgreSQL). Inside a transaction already (a test's, or a re-score's, which must read after its
    claim: ``rescore_request``), the reads are that transaction's."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _run_category(*, run_id: int, category_id: int) -> CategoryOutcome | None:
    with transaction.atomic():
        part = (
            # Only the category's row: locking the joined run row too (plain FOR UPDATE does) made every category
            # of a run wait for the one before it, whatever the number of worker processes.
            ScoringRunCategory.objects.select_for_update(of=("self",))
            .select_related("run")
            .filter(run_id=run_id, category_id=category_id, finished_at__isnull=True)
            .first()
        )
        if part is None:
            return None
        category = Category.objects.select_for_update().get(pk=category_id)
        _commit_without_waiting()
        rules = policy_get()
        window_days = part.run.score_window_days or rules.score_window_days
        part.settings_digest = _category_settings([category_id], rules=rules, window_days=window_days)[
            category_id
        ].digest
        outcome, prior = _score_category(
            run=part.run,
            category=category,
            campaigns=_scored_campaigns([category_id]),
            prior=None,
            rules=rules,
            inputs=(inputs := _run_inputs(part.run, window_days=window_days)),
        )
        _reliability_record(run=part.run, category=category, outcome=outcome, inputs=inputs)
        _campaigns_scored(category_ids=[category_id], cutoff=part.run.data_cutoff)
        part.prior = prior
        part.products_scored = outcome.scored
        part.products_changed = outcome.changed
        part.products_published = outcome.published
        part.products_listed = outcome.listed
        part.input_fingerprint = outcome.input_fingerprint
        part.finished_at = timezone.now()
        part.save()
        _forget_cached(outcome.changed_products)
    return outcome


# --- Categories nothing of which changed since the last full run ----------------------------------------


@dataclass(frozen=True)
class CategorySettings:
    """What a category's figures, list and fingerprints depend on besides its votes and invitations, as a
    SHA-256 (``digest``): the method and window, the policy's figures, the category's minimum, every campaign of
    its products (one opened, cancelled or deleted changes it), each product's scored campaign (``_scored_campaigns``)
    and that campaign's factors (the catalog factor each adds up under, position, weight). Two full runs with
    the same digest and the same votes and invitations compute the same category."""

    digest: str
    products: frozenset[int]
    campaigns: tuple[int, ...]


def _category_settings(
    category_ids: Sequence[int], *, rules: RatingPolicy, window_days: int
) -> dict[int, CategorySettings]:
    minimum = dict(Category.objects.filter(pk__in=category_ids).values_list("pk", "min_votes_to_publish"))
    campaigns: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pk, product_id, category_id in Campaign.objects.filter(category_id__in=category_ids).values_list(
        "pk", "product_id", "category_id"
    ):
        campaigns[category_id].append((product_id, pk))
    scored: dict[int, list[Campaign]] = defaultdict(list)
    for campaign in _scored_campaigns(category_ids):
        scored[campaign.category_id].append(campaign)
    factors: dict[int, list[str]] = defaultdict(list)
    for campaign_id, pk, factor_id, position, weight in (
        CampaignFactor.objects.filter(campaign__in=[c.pk for cs in scored.values() for c in cs])
        .order_by("campaign_id", "pk")
        .values_list("campaign_id", "pk", "factor_id", "position", "weight")
    ):
        factors[campaign_id].append(f"factor {pk} campaign {campaign_id} key {factor_id} {position} {weight}")
    configured = {}
    for category_id in category_ids:
        lines = [
            f"method {statistics.METHOD_VERSION} window_days {window_days}",
            f"min_votes {minimum.get(category_id) or rules.min_votes_to_publish} prior_strength {rules.prior_strength}",
            f"list threshold {rules.list_threshold} size {rules.list_size}",
            *(f"campaign {pk} product {product_id}" for product_id, pk in sorted(campaigns[category_id])),
        ]
        for campaign in sorted(scored[category_id], key=lambda c: c.pk):
            lines += [f"scored {campaign.pk} product {campaign.product_id}", *factors[campaign.pk]]
        configured[category_id] = CategorySettings(
            digest=fingerprints.sha256("\n".join(lines) + "\n"),
            products=frozenset(c.product_id for c in scored[category_id]),
            campaigns=tuple(pk for _, pk in campaigns[category_id]),
        )
    return configured


# Products any of whose votes or invitations changed since the previous run's cut-off (less a margin, ``since``),
# through the products' and campaigns' indexes (milliseconds when little changed): every change to a vote (its
# scores, verdict or submission) moves its updated_at, as the runs' reading "as of the cut-off" already requires
# (migration 0023 has the database see to it); a vote or invitation that left the window since, or that was
# dated past that cut-off without being changed since; a deleted vote or invitation voids its product's latest
# result's fingerprint instead (migration 0023), which the caller checks.
TOUCHED = """
    SELECT product_id FROM ratings_vote WHERE product_id = ANY(%(products)s::bigint[]) AND updated_at > %(since)s
    UNION
    SELECT product_id FROM ratings_vote
     WHERE product_id = ANY(%(products)s::bigint[])
       AND (submitted_at >= %(old_start)s AND submitted_at < %(start)s OR submitted_at > %(since)s)
    UNION
    SELECT c.product_id FROM ratings_invitation i JOIN ratings_campaign c ON c.id = i.campaign_id
     WHERE i.campaign_id = ANY(%(campaigns)s::bigint[])
       AND (i.created_at > %(since)s OR i.created_at >= %(old_start)s AND i.created_at < %(start)s)
"""

# An unchanged category's list and reliability copied from the run it is carried from, and its part finished
# with that run's figures (its closed campaigns are marked scored by ``_campaigns_scored``).
CARRY_OVER = """
    INSERT INTO ratings_heartlistentry (run_id, category_id, product_id, rank, ranking_score, comprehensive, counted,
                                        rank_low, rank_high, created_at)
    SELECT %(run)s, category_id, product_id, rank, ranking_score, comprehensive, counted, rank_low, rank_high, %(now)s
      FROM ratings_heartlistentry WHERE run_id = %(previous)s AND category_id = ANY(%(categories)s::bigint[])
     ORDER BY category_id, rank;
    INSERT INTO ratings_factorreliability (run_id, category_id, factor_id, products, votes, icc, reliability, agreement,
                                           created_at)
    SELECT %(run)s, category_id, factor_id, products, votes, icc, reliability, agreement, %(now)s
      FROM ratings_factorreliability WHERE run_id = %(previous)s AND category_id = ANY(%(categories)s::bigint[])
     ORDER BY id;
    UPDATE ratings_scoringruncategory part
       SET finished_at = %(now)s, updated_at = %(now)s, prior = before.prior, products_scored = before.products_scored,
           products_changed = 0, products_published = before.products_published,
           products_listed = before.products_listed, input_fingerprint = before.input_fingerprint,
           settings_digest = before.settings_digest, carried_from_id = %(previous)s
      FROM ratings_scoringruncategory before
     WHERE part.run_id = %(run)s AND before.run_id = %(previous)s AND before.category_id = part.category_id
       AND part.category_id = ANY(%(categories)s::bigint[])
"""


#: Added to a task's time limit: how long before a run's cut-off a row may be dated and still be committed after.
CARRY_OVER_MARGIN = timedelta(minutes=5)


def _campaigns_scored(*, category_ids: Sequence[int], cutoff: datetime) -> None:
    """Every vote a campaign closed by the cut-off gathered has now been read by a full run (or carried over
    unchanged): it is scored."""
    Campaign.objects.filter(category_id__in=category_ids, status=Campaign.Status.CLOSED, closes_at__lte=cutoff).update(
        status=Campaign.Status.SCORED, updated_at=timezone.now()
    )


def _carry_over_unchanged(run: ScoringRun) -> list[int]:
    """Finish, as the last finished full run left them, the categories of ``run`` nothing of which changed since
    that run's cut-off; returns them. Unchanged: the same settings (``CategorySettings``), every product's latest
    result from that run or before (no re-score since) with its fingerprint (no vote or invitation deleted since:
    migration 0023 voids it), no vote or invitation of its products changed, made or gone out of the window since
    (``TOUCHED``), no counterfeit claim about them decided or reopened since. "Since" starts a task's time limit
    and ``CARRY_OVER_MARGIN`` before that cut-off. Their list (with its places' intervals), reliability and prior are
    copied, their campaigns closed by the cut-off marked scored; no result is written, none would differ. A
    re-run with no new data reads no score (issue 17: at full scale ~0.2 s against ~16 s to score every category).

    One transaction that locks the categories' rows first, in order, as a category's scoring and a product's
    re-score do, and reads only then. PostgreSQL only: on SQLite (a fresh machine's demo) every category is scored.
    """
    if connection.vendor != "postgresql":
        return []
    previous = (
        ScoringRun.objects.filter(
            kind=ScoringRun.Kind.FULL, status=ScoringRun.Status.FINISHED, data_cutoff__lt=run.data_cutoff
        )
        .order_by("-data_cutoff", "-pk")
        .first()
    )
    if previous is None:
        return []
    rules = policy_get()
    window_days = run.score_window_days or rules.score_window_days
    with transaction.atomic():
        pending = list(
            ScoringRunCategory.objects.select_for_update()
            .filter(run=run, finished_at__isnull=True)
            .order_by("category_id")
            .values_list("category_id", flat=True)
        )
        list(Category.objects.select_for_update().filter(pk__in=pending).order_by("pk").values_list("pk", flat=True))
        before = {
            part.category_id: part.settings_digest
            for part in ScoringRunCategory.objects.filter(
                run=previous, category_id__in=pending, finished_at__isnull=False, error="", prior__isnull=False
            ).exclude(settings_digest="")
        }
        configured = _category_settings(list(before), rules=rules, window_days=window_days)
        candidates = {pk for pk, digest in before.items() if configured[pk].digest == digest}
        stored: dict[int, set[int]] = defaultdict(set)
        for category_id, product_id, run_id, fingerprint in ProductResult.objects.filter(
            category_id__in=candidates, is_latest=True
        ).values_list("category_id", "product_id", "run_id", "fingerprint"):
            stored[category_id].add(product_id)
            if run_id > previous.pk or not fingerprint:
                candidates.discard(category_id)
        candidates = {pk for pk in candidates if stored[pk] == configured[pk].products}
        products = [pid for pk in candidates for pid in configured[pk].products]
        old_window = Window.ending(previous.data_cutoff, days=window_days)
        # A row dated before that cut-off may have been committed after the run read: a vote's request, or the
        # eligibility job's invitation step, which dates its invitations at its start and commits within a
        # task's time limit. Those of the margin before the cut-off count as changed.
        since = previous.data_cutoff - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) - CARRY_OVER_MARGIN
        with connection.cursor() as cursor:
            cursor.execute(
                TOUCHED,
                {
                    "products": _pg_array(products),
                    "campaigns": _pg_array([c for pk in candidates for c in configured[pk].campaigns]),
                    "since": since,
                    "old_start": old_window.start,
                    "start": Window.ending(run.data_cutoff, days=window_days).start,
                },
            )
            touched = {pid for (pid,) in cursor.fetchall()}
        touched |= set(
            Product.objects.filter(pk__in=products, counterfeit_cases__updated_at__gt=since).values_list(
                "pk", flat=True
            )
        )
        unchanged = sorted(pk for pk in candidates if not configured[pk].products & touched)
        if unchanged:
            with connection.cursor() as cursor:
                cursor.execute(
                    CARRY_OVER,
                    {
                        "run": run.pk,
                        "previous": previous.pk,
                        "categories": _pg_array(unchanged),
                        "now": timezone.now(),
                    },
                )
            _campaigns_scored(category_ids=unchanged, cutoff=run.data_cutoff)
    if unchanged:
        logger.info("scoring run %s: %d categories unchanged since run %s", run.pk, len(unchanged), previous.pk)
    return unchanged


def _reliability_record(*, run: ScoringRun, category: Category, outcome: CategoryOutcome, inputs: Inputs) -> None:
    """How well each catalog factor of the category tells its products apart, from their latest results.

    Taken from the results just scored, in the order the database would list their factors (result,
    position, id: the sums are order-sensitive in the last bit); read from the database only when the
    category holds a latest result of a product it no longer scores (its campaigns were cancelled, say),
    or a factor the run's inputs do not know (a campaign opened after they were read).
    """
    groups: dict[int, list[tuple[int, float, float]]] = {}
    agreement: dict[int, list[float]] = {}
    rows: Iterable[tuple[int, int, float | None, float | None, float | None]]
    scored = [c.result.product_id for _, c in outcome.latest]
    keys = inputs.factor_keys
    if any(f.campaign_factor_id not in keys for _, c in outcome.latest for f in c.factors) or (
        ProductResult.objects.filter(category=category, is_latest=True).exclude(product_id__in=scored).exists()
    ):
        rows = FactorResult.objects.filter(
            result__category=category, result__is_latest=True, campaign_factor__factor__isnull=False
        ).values_list("campaign_factor__factor_id", "votes", "mean", "sd", "agreement")
    else:
        ordered = sorted(
            ((result_id, f.position, f.campaign_factor_id, f) for result_id, c in outcome.latest for f in c.factors),
            key=lambda row: row[:3],
        )
        rows = [
            (keys[f.campaign_factor_id], f.votes, f.mean, f.sd, f.agreement)
            for *_, f in ordered
            if keys[f.campaign_factor_id] > 0
        ]
    for factor_id, votes, mean, sd, rwg in rows:
        if mean is not None and sd is not None:
            groups.setdefault(factor_id, []).append((votes, mean, sd))
        if rwg is not None:
            agreement.setdefault(factor_id, []).append(rwg)
    FactorReliability.objects.bulk_create(
        FactorReliability(
            run=run,
            category=category,
            factor_id=factor_id,
            products=figures.products,
            votes=figures.votes,
            icc=figures.icc,
            reliability=figures.reliability,
            agreement=sum(agreement[factor_id]) / len(agreement[factor_id]) if agreement.get(factor_id) else None,
        )
        for factor_id, per_product in groups.items()
        for figures in [statistics.factor_reliability(per_product)]
    )


def run_categories_done(*, run_id: int) -> bool:
    return not ScoringRunCategory.objects.filter(run_id=run_id, finished_at__isnull=True).exists()


def run_finish(*, run_id: int) -> bool:
    """Close a run whose categories are all done, with its totals. Runs once however often called."""
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().filter(pk=run_id, status=ScoringRun.Status.RUNNING).first()
        if run is None or not run_categories_done(run_id=run_id):
            return False
        parts = list(run.categories.all())
        run.products_scored = sum(p.products_scored for p in parts)
        run.products_changed = sum(p.products_changed for p in parts)
        run.products_published = sum(p.products_published for p in parts)
        run.products_listed = sum(p.products_listed for p in parts)
        run.input_fingerprint = fingerprints.run_fingerprint([(p.category_id, p.input_fingerprint) for p in parts])
        run.status = ScoringRun.Status.FAILED if any(p.error for p in parts) else ScoringRun.Status.FINISHED
        run.finished_at = timezone.now()
        run.save()
    return True


def run_all(*, triggered_by: str, now: datetime | None = None) -> ScoringRun:
    """A whole full run in this process (the demo seed, tests, the management command)."""
    run, category_ids = run_start(triggered_by=triggered_by, now=now)
    for category_id in category_ids:
        run_category(run_id=run.pk, category_id=category_id)
    run_finish(run_id=run.pk)
    run.refresh_from_db()
    return run


# --- Runs whose worker died -----------------------------------------------------------------------


@dataclass(frozen=True)
class StalledRuns:
    """What the sweep did: categories to send again per run, and runs it closed."""

    resumed: dict[int, list[int]]
    completed: list[int]
    stopped: list[int]


def runs_stalled(*, now: datetime | None = None, stalled_after: timedelta | None = None) -> list[int]:
    """Full runs still running with no progress for longer than ``stalled_after`` (``ratings.stalls``)."""
    since = stalls.stalled_since(now=now or timezone.now(), stalled_after=stalled_after)
    return list(
        ScoringRun.objects.filter(kind=ScoringRun.Kind.FULL, status=ScoringRun.Status.RUNNING)
        .annotate(progressed=stalls.last_progress("finished_at"))
        .filter(progressed__lt=since)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def runs_stalled_repair(*, now: datetime | None = None, stalled_after: timedelta | None = None) -> StalledRuns:
    """Finish what dead workers left: for each stalled full run, in a transaction that locks the run,

    * every category finished (the closing step was lost): close the run, as its last category would have;
    * fewer than ``stalls.SWEEP_RESUMES`` resumes so far: count a resume and return its unfinished categories for
      the caller to send again (harmless: a finished category is skipped, and two deliveries of one
      category serialise on its row);
    * otherwise give up: its unfinished categories and the run are closed with the reason, which staff
      see in the admin, and the run is marked "finished with errors".

    A run that progressed meanwhile (locked, then checked again) is left alone.
    """
    now = now or timezone.now()
    resumed: dict[int, list[int]] = {}
    completed: list[int] = []
    stopped: list[int] = []
    for run_id in runs_stalled(now=now, stalled_after=stalled_after):
        with transaction.atomic():
            run = ScoringRun.objects.select_for_update().filter(pk=run_id, status=ScoringRun.Status.RUNNING).first()
            if run is None or run_id not in runs_stalled(now=now, stalled_after=stalled_after):
                continue
            pending = run_categories_pending(run_id=run_id)
            if not pending:
                run_finish(run_id=run_id)
                completed.append(run_id)
            elif run.resumes < stalls.SWEEP_RESUMES:
                run.resumes += 1
                run.resumed_at = now
                run.save(update_fields=["resumes", "resumed_at", "updated_at"])
                campaigns_close_expired(now=run.data_cutoff)  # in case the run's own task died before
                resumed[run_id] = pending
            else:
                reason = stalls.stop_reason(resumes=run.resumes, pending=len(pending))
                ScoringRunCategory.objects.filter(run_id=run_id, finished_at__isnull=True).update(
                    finished_at=now, error="Not scored: the sweep stopped the run.", updated_at=now
                )
                ScoringRun.objects.filter(pk=run_id).update(error=reason, updated_at=now)
                run_finish(run_id=run_id)
                stopped.append(run_id)
                logger.warning("scoring run %s stopped: %s", run_id, reason)
    return StalledRuns(resumed=resumed, completed=completed, stopped=stopped)


# --- Re-scoring one product -----------------------------------------------------------------------


def rescore_request(*, campaign_id: int, now: datetime | None = None) -> bool:
    """Flag a campaign for re-scoring. True if it was not flagged yet: the caller enqueues one delayed
    re-score; later requests within the delay ride on that one (the debounce).

    The campaign row stays locked until the caller's transaction commits, so a re-score claiming the
    flag meanwhile waits and then reads the caller's change. Without the lock a request finding the
    flag set could be overtaken: the re-score claims and reads before the change is committed, and
    nothing flags the campaign again. (FOR NO KEY UPDATE: it does not wait for other votes' inserts,
    which hold only a key-share lock on the campaign.)
    """
    with transaction.atomic():
        flags = list(
            Campaign.objects.select_for_update(no_key=True)
            .filter(pk=campaign_id)
            .values_list("rescore_requested_at", flat=True)
        )
        if flags != [None]:
            return False
        Campaign.objects.filter(pk=campaign_id).update(rescore_requested_at=now or timezone.now())
        return True


def campaign_rescore(*, campaign_id: int, triggered_by: str = "vote", now: datetime | None = None) -> ScoringRun | None:
    """Claim a campaign's re-score flag and score its product, in one transaction.

    Harmless to re-run or to run twice at once: the flag is claimed with a conditional UPDATE, so one
    caller scores and the others return None; a crash rolls the claim back for the sweep to find.
    The category's prior is the one the last full run fixed (the neutral prior before any).
    """
    with transaction.atomic():
        claimed = Campaign.objects.filter(pk=campaign_id, rescore_requested_at__isnull=False).update(
            rescore_requested_at=None
        )
        if not claimed:
            return None
        campaign = Campaign.objects.only("product_id", "category_id").get(pk=campaign_id)
        category = Category.objects.select_for_update().get(pk=campaign.category_id)
        now = now or timezone.now()
        rules = policy_get()
        run = ScoringRun.objects.create(
            kind=ScoringRun.Kind.PRODUCT,
            triggered_by=triggered_by[:60],
            method_version=statistics.METHOD_VERSION,
            data_cutoff=now,
            score_window_days=rules.score_window_days,
            started_at=now,
        )
        prior = (
            ScoringRunCategory.objects.filter(category=category, finished_at__isnull=False, prior__isnull=False)
            .order_by("-finished_at", "-id")
            .values_list("prior", flat=True)
            .first()
        )
        outcome, _ = _score_category(
            run=run,
            category=category,
            campaigns=_scored_campaigns([category.pk], [campaign.product_id]),
            prior=statistics.NEUTRAL_PRIOR if prior is None else prior,
            rules=rules,
        )
        run.products_scored = outcome.scored
        run.products_changed = outcome.changed
        run.products_published = outcome.published
        run.products_listed = outcome.listed
        run.input_fingerprint = fingerprints.run_fingerprint([(category.pk, outcome.input_fingerprint)])
        run.status = ScoringRun.Status.FINISHED
        run.finished_at = timezone.now()
        run.save()
        _forget_cached(outcome.changed_products)
    return run


def rescores_due(*, now: datetime | None = None) -> list[int]:
    """Flagged campaigns whose delayed re-score should have run by now: their task was lost."""
    delay = timedelta(seconds=policy_get().rescore_delay_seconds)
    since = (now or timezone.now()) - delay - SWEEP_GRACE
    return list(
        Campaign.objects.filter(rescore_requested_at__lt=since).order_by("pk").values_list("pk", flat=True)[:1000]
    )
