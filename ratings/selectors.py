"""Reads of the purchaser's pages. Each runs a fixed number of queries, however many invitations."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import crontab
from django.apps import apps
from django.core.cache import cache
from django.db import connection, models
from django.db.models import Avg, Count, Exists, F, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask

from accounts.models import User
from catalog.bilingual import in_language
from catalog.models import Category, Factor, Product
from ratings import scoring, statistics, tasks
from ratings.eligibility import policy_get
from ratings.models import (
    CampaignFactor,
    FactorReliability,
    FactorResult,
    FactorScore,
    Invitation,
    ProductResult,
    ReviewHelpful,
    Vote,
)
from xhs.cache import NOT_READ

#: Results change only when a re-score writes a new one, which deletes the cached copy; the timeout
#: only bounds how long a copy can outlive a missed delete.
RATING_CACHE_SECONDS = 60 * 60


@dataclass
class InvitationSections:
    pending: list[Invitation] = field(default_factory=list)
    accepted: list[Invitation] = field(default_factory=list)
    voted: list[Invitation] = field(default_factory=list)
    closed: list[Invitation] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.pending) + len(self.accepted) + len(self.voted) + len(self.closed)


def _with_product(invitations: QuerySet[Invitation]) -> QuerySet[Invitation]:
    return invitations.select_related("campaign", "campaign__product", "campaign__product__brand")


def user_invitations(*, user: User, now: datetime | None = None) -> InvitationSections:
    """The user's invitations in the sections of "My invitations" (one query).

    Pending ones past their expiry, declined ones, revoked ones (the purchase was refunded) and accepted
    ones whose campaign closed before a vote are "closed": they can no longer be used.
    """
    now = now or timezone.now()
    sections = InvitationSections()
    for invitation in _with_product(Invitation.objects.filter(user=user)).order_by("-created_at", "-id"):
        status = invitation.status
        if status == Invitation.Status.VOTED:
            sections.voted.append(invitation)
        elif (
            status in (Invitation.Status.DECLINED, Invitation.Status.REVOKED)
            or invitation.is_expired(now)
            or not invitation.campaign.accepts_votes(now)
        ):
            sections.closed.append(invitation)
        elif status == Invitation.Status.PENDING:
            sections.pending.append(invitation)
        else:
            sections.accepted.append(invitation)
    return sections


def user_invitation(*, user: User, pk: int) -> QuerySet[Invitation]:
    """One invitation of this user (empty for anybody else's), with its product and frozen factors."""
    return (
        _with_product(Invitation.objects.filter(user=user, pk=pk))
        .select_related("purchase")
        .prefetch_related(Prefetch("campaign__factors", queryset=CampaignFactor.objects.order_by("position", "id")))
    )


def invitation_vote(invitation: Invitation) -> Vote | None:
    """The user's one vote on the invitation's product, with its scores in factor order (2 queries), if any.
    It may come from an earlier campaign (``vote.campaign_id`` differs): the person may confirm or amend it."""
    scores = FactorScore.objects.select_related("factor").order_by("factor__position", "factor_id")
    return (
        Vote.objects.filter(product_id=invitation.campaign.product_id, user_id=invitation.user_id)
        .prefetch_related(Prefetch("scores", queryset=scores))
        .first()
    )


@dataclass(frozen=True)
class VerifiedPurchase:
    """A product the user is a verified purchaser of, through the invitation they accepted to rate it."""

    invitation_id: int
    voted: bool
    product_slug: str
    product_name: str
    brand_name: str


# Written out: the profile asks it at every visit, and the ORM took a millisecond of CPU to build and compile
# this four-table join (ten times running it), a third of the page.
_VERIFIED_PURCHASES_SQL = """
    SELECT i.id, i.status, p.slug, p.name_zh, p.name_en, b.name_zh, b.name_en
    FROM ratings_invitation i
    JOIN ratings_campaign c ON c.id = i.campaign_id
    JOIN catalog_product p ON p.id = c.product_id
    JOIN catalog_brand b ON b.id = p.brand_id
    WHERE i.user_id = %s AND i.status IN (%s, %s)
    ORDER BY i.responded_at DESC, i.id DESC
"""


def verified_purchases(*, user: User) -> list[VerifiedPurchase]:
    """The products the user is a verified purchaser of (invitation accepted or voted), newest first."""
    with connection.cursor() as cursor:
        cursor.execute(_VERIFIED_PURCHASES_SQL, [user.pk, Invitation.Status.ACCEPTED, Invitation.Status.VOTED])
        rows = cursor.fetchall()
    return [
        VerifiedPurchase(
            invitation_id=pk,
            voted=status == Invitation.Status.VOTED,
            product_slug=slug,
            product_name=in_language(name_zh, name_en),
            brand_name=in_language(brand_zh, brand_en),
        )
        for pk, status, slug, name_zh, name_en, brand_zh, brand_en in rows
    ]


def is_verified_purchaser(*, user: User, product_id: int) -> bool:
    return Invitation.objects.filter(
        user=user,
        campaign__product_id=product_id,
        status__in=[Invitation.Status.ACCEPTED, Invitation.Status.VOTED],
    ).exists()


# --- Public rating pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FactorWeight:
    name: str
    percent: float


def _unequal_weights(factors: Sequence[FactorResult | Factor]) -> list[FactorWeight]:
    """Each factor's share of the weight, or nothing when every factor weighs the same."""
    percents = statistics.unequal_weight_percents([float(factor.weight) for factor in factors])
    if not percents:
        return []
    return [FactorWeight(factor.name, percent) for factor, percent in zip(factors, percents, strict=True)]


#: From the comprehensive score to everyday words, highest floor first.
_VERDICTS = (
    (4.5, _("Buyers love it")),
    (4.0, _("Buyers rate it highly")),
    (3.5, _("Most buyers are satisfied")),
    (3.0, _("Buyers are divided")),
    (1.0, _("Most buyers are disappointed")),
)


#: Per-factor agreement (rwg) and reliability (ICC(1,k)) bands in words, as the methodology page states them.
_AGREEMENT_WORDS = {
    "lack": _("raters disagree"),
    "weak": _("raters agree weakly"),
    "moderate": _("raters agree moderately"),
    "strong": _("raters agree strongly"),
    "very_strong": _("raters agree very strongly"),
}
_RELIABILITY_WORDS = {
    "poor": _("tells this category's products apart poorly"),
    "moderate": _("tells this category's products apart moderately well"),
    "good": _("tells this category's products apart well"),
    "excellent": _("tells this category's products apart very well"),
}


@dataclass(frozen=True)
class FactorAgreement:
    name: str
    agreement: str
    reliability: str


@dataclass(frozen=True)
class Robustness:
    """The comprehensive score had the held and excluded votes counted too."""

    votes: int
    comprehensive: float


@dataclass(frozen=True)
class ProductRating:
    """What the product page shows of the latest result (cached until the product is re-scored)."""

    result: ProductResult | None
    factors: list[FactorResult]
    #: ICC(1,k) of each catalog factor in the category's latest reliability figures, by factor id.
    #: Defaults (class attributes) let a copy cached before these fields existed still load.
    reliability: tuple[tuple[int, float | None], ...] = ()
    robustness: Robustness | None = None

    @property
    def verdict(self) -> str:
        """One line a shopper reads first: how buyers rate it overall, and its best and weakest factor
        when they differ enough to matter (at least 0.3 of a heart)."""
        if self.result is None or not self.result.published or self.result.comprehensive is None:
            return ""
        score = float(self.result.comprehensive)
        overall = next(words for floor, words in _VERDICTS if score >= floor)
        rated = [factor for factor in self.factors if factor.mean is not None]
        if len(rated) < 2:
            return str(overall)
        best = max(rated, key=lambda factor: factor.mean or 0)
        weakest = min(rated, key=lambda factor: factor.mean or 0)
        if (best.mean or 0) - (weakest.mean or 0) < 0.3:
            return str(_("%(overall)s, evenly across every factor.") % {"overall": overall})
        return str(
            _("%(overall)s: best for %(best)s, weakest for %(weakest)s.")
            % {"overall": overall, "best": best.name, "weakest": weakest.name}
        )

    @property
    def unequal_weights(self) -> list[FactorWeight]:
        """The weights the comprehensive score was computed with, when they are not all equal."""
        return _unequal_weights(self.factors)

    @property
    def agreements(self) -> list[FactorAgreement]:
        """Per factor, in words: how far this product's raters agree (rwg) and how reliably the factor tells
        the category's products apart (ICC(1,k)); factors with neither figure are left out."""
        reliability = dict(self.reliability)
        rows = []
        for factor in self.factors:
            agree = statistics.band(factor.agreement, statistics.AGREEMENT_BANDS)
            apart = statistics.band(
                reliability.get(getattr(factor, "catalog_factor_id", None) or 0), statistics.RELIABILITY_BANDS
            )
            if agree or apart:
                rows.append(
                    FactorAgreement(
                        name=factor.name,
                        agreement=str(_AGREEMENT_WORDS[agree]) if agree else "",
                        reliability=str(_RELIABILITY_WORDS[apart]) if apart else "",
                    )
                )
        return rows


def _factor_key(catalog_factor_id: int | None, campaign_factor_id: int) -> int:
    """The key a factor's scores add up under across campaigns, as in the scoring job."""
    return catalog_factor_id if catalog_factor_id is not None else -campaign_factor_id


def _robustness(result: ProductResult, factors: Sequence[FactorResult]) -> Robustness | None:
    """The comprehensive score with the result's held and excluded votes counted too (1 query, none when
    there are none): their scores as they stand now, added to the counted histograms of each factor."""
    held = result.under_review + result.excluded_screening + result.excluded_moderation + result.excluded_refund
    if not held or not result.published:
        return None
    days = result.run.score_window_days or policy_get().score_window_days
    start = result.data_cutoff - timedelta(days=days)
    extra: dict[int, list[int]] = {}
    per_score = {f"n{n}": Count("pk", filter=Q(score=n)) for n in statistics.SCORES}
    for catalog_factor_id, campaign_factor_id, *histogram in (
        FactorScore.objects.filter(
            product_id=result.product_id,
            vote__submitted_at__range=(start, result.data_cutoff),
            vote__created_at__lte=result.data_cutoff,
        )
        .exclude(vote__verdict=Vote.Verdict.COUNTED)
        .values("factor__factor_id", "factor_id")
        .annotate(**per_score)
        .order_by()
        .values_list("factor__factor_id", "factor_id", *per_score)
    ):
        into = extra.setdefault(_factor_key(catalog_factor_id, campaign_factor_id), [0] * len(statistics.SCORES))
        for i, n in enumerate(histogram):
            into[i] += n
    means = []
    for factor in factors:
        added = extra.get(_factor_key(getattr(factor, "catalog_factor_id", None), factor.campaign_factor_id))
        histogram = factor.histogram if added is None else [a + b for a, b in zip(factor.histogram, added, strict=True)]
        means.append(statistics.histogram_mean(histogram))
    comprehensive = statistics.comprehensive_score(means, [float(f.weight) for f in factors])
    return None if comprehensive is None else Robustness(votes=held, comprehensive=comprehensive)


def _latest_reliability(category_id: int, factor_ids: Sequence[int]) -> tuple[tuple[int, float | None], ...]:
    """ICC(1,k) of these factors from the category's latest reliability figures (1 query)."""
    latest_run = FactorReliability.objects.filter(category_id=category_id).order_by("-run_id").values("run_id")[:1]
    return tuple(
        FactorReliability.objects.filter(
            category_id=category_id, factor_id__in=factor_ids, run_id=Subquery(latest_run)
        ).values_list("factor_id", "reliability")
    )


def product_rating(product_id: int) -> ProductRating:
    """The product's latest result with its factors, the category's reliability figures of them and the
    score had the held and excluded votes counted: 4 queries at most, then none until its next re-score."""

    def load() -> ProductRating:
        result = ProductResult.objects.filter(product_id=product_id, is_latest=True).select_related("run").first()
        if result is None:
            return ProductRating(result=None, factors=[])
        factors: list[FactorResult] = list(
            result.factors.annotate(catalog_factor_id=F("campaign_factor__factor_id")).order_by("position", "id")
        )
        return ProductRating(
            result=result,
            factors=factors,
            reliability=_latest_reliability(
                result.category_id, [pk for f in factors if (pk := getattr(f, "catalog_factor_id", None))]
            ),
            robustness=_robustness(result, factors),
        )

    key = scoring.product_rating_cache_key(product_id)
    rating = cache.get(key)
    if not isinstance(rating, ProductRating):
        rating = load()
        cache.set(key, rating, RATING_CACHE_SECONDS)
    return rating


class ReviewSort(models.TextChoices):
    NEWEST = "newest", _("Newest")
    HIGHEST = "highest", _("Highest rated")
    LOWEST = "lowest", _("Lowest rated")
    HELPFUL = "helpful", _("Most helpful")


_REVIEW_ORDER = {
    ReviewSort.NEWEST: ("-submitted_at", "-id"),
    ReviewSort.HIGHEST: ("-mean", "-submitted_at", "-id"),
    ReviewSort.LOWEST: ("mean", "-submitted_at", "-id"),
    ReviewSort.HELPFUL: ("-helpful", "-submitted_at", "-id"),
}


def rating_comments(
    product_id: int,
    *,
    sort: str = ReviewSort.NEWEST,
    factor_id: int | None = None,
    score: int | None = None,
) -> QuerySet[Vote]:
    """Reviews: counted votes with a comment, each with its rater, its factor scores (with their names),
    its helpful count and its own mean, in the reader's order (for a paginator; 3 queries a page).
    ``factor_id`` (a catalogue factor) with ``score`` keeps the reviews that gave that factor that score.
    Counts and means are subqueries, so neither multiplies the other's rows."""
    helpful = (
        ReviewHelpful.objects.filter(vote=OuterRef("pk")).order_by().values("vote").annotate(n=Count("pk")).values("n")
    )
    mean = FactorScore.objects.filter(vote=OuterRef("pk")).order_by().values("vote").annotate(m=Avg("score"))
    reviews = (
        Vote.objects.filter(product_id=product_id, verdict=Vote.Verdict.COUNTED)
        .exclude(comment="")
        .annotate(helpful=Coalesce(Subquery(helpful), 0), mean=Subquery(mean.values("m")))
        .select_related("user")
        .prefetch_related(
            Prefetch("scores", queryset=FactorScore.objects.select_related("factor").order_by("factor__position"))
        )
    )
    if factor_id is not None and score is not None:
        reviews = reviews.filter(
            Exists(FactorScore.objects.filter(vote=OuterRef("pk"), factor__factor_id=factor_id, score=score))
        )
    return reviews.order_by(*_REVIEW_ORDER[ReviewSort(sort)])


#: How long the reviews an account marked helpful are kept when nothing forgets them sooner.
MARKS_SECONDS = 10 * 60
#: An account that marked more reviews than this is asked per page of comments (one query), not kept whole.
MARKS_KEPT = 1000
#: Kept for such an account.
_MANY_MARKS = "many"


def helpful_marks_key(user_id: int) -> str:
    """Where the reviews an account marked helpful are kept; a page that reads other keys too reads this one with
    them (``helpful_marked(..., kept=...)``). ``services.review_helpful_toggle`` forgets it."""
    return f"ratings:helpful-marks:{user_id}"


def helpful_marked(*, user_id: int, vote_ids: Sequence[int], kept: object = NOT_READ) -> set[int]:
    """Which of these reviews the reader has marked helpful: from every review they marked, kept per account
    (``kept``: the value under ``helpful_marks_key`` when the caller read it already), read and kept on a miss
    (one query); for an account with more than ``MARKS_KEPT`` marks, one query for these reviews."""
    marks = cache.get(helpful_marks_key(user_id)) if kept is NOT_READ else kept
    if not (isinstance(marks, frozenset) or marks == _MANY_MARKS):
        ids = ReviewHelpful.objects.filter(user_id=user_id).values_list("vote_id", flat=True)[: MARKS_KEPT + 1]
        marks = frozenset(ids)
        cache.set(helpful_marks_key(user_id), marks if len(marks) <= MARKS_KEPT else _MANY_MARKS, MARKS_SECONDS)
    if isinstance(marks, frozenset) and len(marks) <= MARKS_KEPT:
        return set(marks.intersection(vote_ids))
    return set(ReviewHelpful.objects.filter(user_id=user_id, vote_id__in=vote_ids).values_list("vote_id", flat=True))


@dataclass(frozen=True)
class ListedCategory:
    category: Category
    products: list[Product]


def heart_list() -> list[ListedCategory]:
    """The Little Red Heart list, grouped by category in the catalog's order (1 query, cached until a
    re-score changes a place on it)."""

    def load() -> list[ListedCategory]:
        grouped: dict[int, ListedCategory] = {}
        listed = (
            Product.objects.filter(heart_rank__isnull=False, is_active=True)
            .select_related("brand", "store", "category", "category__parent")
            .order_by("category__parent__position", "category__position", "category_id", "heart_rank")
        )
        for product in listed:
            group = grouped.setdefault(product.category_id, ListedCategory(category=product.category, products=[]))
            group.products.append(product)
        return list(grouped.values())

    cached = cache.get(scoring.HEART_LIST_CACHE_KEY)
    if isinstance(cached, list):
        return cached
    listed = load()
    cache.set(scoring.HEART_LIST_CACHE_KEY, listed, RATING_CACHE_SECONDS)
    return listed


@dataclass(frozen=True)
class WeightedCategory:
    name: str
    factors: list[FactorWeight]


def unequally_weighted_categories() -> list[WeightedCategory]:
    """Rating-ready categories whose active factors do not all weigh the same, with each factor's share
    (1 query: the categories are found in SQL, only their factors are read)."""
    active = Q(factors__active=True)
    unequal = (
        Category.objects.filter(rating_ready=True)
        .annotate(lightest=Min("factors__weight", filter=active), heaviest=Max("factors__weight", filter=active))
        .filter(lightest__lt=F("heaviest"))
    )
    factors = (
        Factor.objects.filter(active=True, category__in=unequal)
        .select_related("category")
        .order_by("category__position", "category_id", "position", "id")
    )
    grouped: dict[int, list[Factor]] = {}
    for factor in factors:
        grouped.setdefault(factor.category_id, []).append(factor)
    return [WeightedCategory(group[0].category.name, _unequal_weights(group)) for group in grouped.values()]


def next_run(schedule: crontab, *, after: datetime) -> datetime:
    """The first time ``schedule`` fires after ``after``, as beat computes it (in the schedule's zone)."""
    start, delta, _now = schedule.remaining_delta(after)
    return start + delta  # type: ignore[no-any-return]


def next_updates(*, now: datetime | None = None) -> dict[str, datetime | None]:
    """When beat next runs eligibility and full scoring, from the staff-editable schedule (1 query).

    None for a job that no enabled crontab schedules: staff paused it. Several enabled rows of one
    job (staff may add one) fire at the earliest of their times.
    """
    now = now or timezone.now()
    jobs = {"eligibility": tasks.run_eligibility.name, "scoring": tasks.run_scoring.name}
    earliest: dict[str, datetime] = {}
    scheduled = PeriodicTask.objects.filter(task__in=jobs.values(), enabled=True, crontab__isnull=False)
    for row in scheduled.select_related("crontab"):
        try:
            schedule = row.crontab.schedule
        except ValueError:  # a date that never occurs (30 February): this row never fires
            continue
        when = next_run(schedule, after=now)
        earliest[row.task] = min(earliest.get(row.task, when), when)
    return {job: earliest.get(task) for job, task in jobs.items()}


def methodology_figures() -> dict[str, Any]:
    """The live parameters the methodology page states (6 queries)."""
    rules = policy_get()
    overrides = list(
        Category.objects.filter(min_votes_to_publish__isnull=False)
        .order_by("position", "id")
        .values_list("name_zh", "name_en", "min_votes_to_publish")
    )
    return {
        "policy": rules,
        "popularity_percent": round(float(rules.popularity_weight) * 100),
        "sales_percent": 100 - round(float(rules.popularity_weight) * 100),
        "method_version": statistics.METHOD_VERSION,
        "confidence_percent": round(statistics.CONFIDENCE * 100),
        "neutral_prior": statistics.NEUTRAL_PRIOR,
        "overrides": [(in_language(zh, en), n) for zh, en, n in overrides],
        "unequal_categories": unequally_weighted_categories(),
        "surveyed_categories": list(
            Category.objects.filter(factors_survey__isnull=False)
            .select_related("factors_survey")
            .order_by("position", "id")
        ),
        "next_update": next_updates(),
        # Moderation builds on ratings, so its model is reached by name rather than imported.
        "screening_model": apps.get_model("moderation", "ScreeningModel")
        .objects.filter(is_current=True)
        .values("version", "trained_at", "training_votes", "labelled_votes")
        .first(),
    }
