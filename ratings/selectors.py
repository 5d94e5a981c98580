"""Reads of the purchaser's pages. Each runs a fixed number of queries, however many invitations."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.core.cache import cache
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from catalog.bilingual import in_language
from catalog.models import Category, Product
from ratings import scoring, statistics
from ratings.eligibility import policy_get
from ratings.models import CampaignFactor, FactorResult, FactorScore, Invitation, ProductResult, Vote

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
    """The vote cast through an invitation, with its scores in factor order (2 queries), if any."""
    scores = FactorScore.objects.select_related("factor").order_by("factor__position", "factor_id")
    return (
        Vote.objects.filter(campaign_id=invitation.campaign_id, user_id=invitation.user_id)
        .prefetch_related(Prefetch("scores", queryset=scores))
        .first()
    )


def verified_purchases(*, user: User) -> QuerySet[Invitation]:
    """The invitations that made the user a verified purchaser (accepted or voted), newest first."""
    return _with_product(
        Invitation.objects.filter(user=user, status__in=[Invitation.Status.ACCEPTED, Invitation.Status.VOTED])
    ).order_by("-responded_at", "-id")


def is_verified_purchaser(*, user: User, product_id: int) -> bool:
    return Invitation.objects.filter(
        user=user,
        campaign__product_id=product_id,
        status__in=[Invitation.Status.ACCEPTED, Invitation.Status.VOTED],
    ).exists()


# --- Public rating pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductRating:
    """What the product page shows of the latest result (cached until the product is re-scored)."""

    result: ProductResult | None
    factors: list[FactorResult]

    @property
    def histogram(self) -> list[int]:
        return [sum(f.histogram[i] for f in self.factors) for i in range(5)]


def product_rating(product_id: int) -> ProductRating:
    """The product's latest result with its factors: 2 queries, then none until its next re-score."""

    def load() -> ProductRating:
        result = ProductResult.objects.filter(product_id=product_id, is_latest=True).select_related("run").first()
        factors = list(result.factors.order_by("position", "id")) if result else []
        return ProductRating(result=result, factors=factors)

    key = scoring.product_rating_cache_key(product_id)
    rating = cache.get(key)
    if not isinstance(rating, ProductRating):
        rating = load()
        cache.set(key, rating, RATING_CACHE_SECONDS)
    return rating


def rating_comments(product_id: int) -> QuerySet[Vote]:
    """Counted votes with a comment, newest first, each with its rater and scores (for a paginator)."""
    return (
        Vote.objects.filter(product_id=product_id, verdict=Vote.Verdict.COUNTED)
        .exclude(comment="")
        .select_related("user")
        .prefetch_related("scores")
        .order_by("-created_at", "-id")
    )


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
            .select_related("brand", "category", "category__parent")
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


def methodology_figures() -> dict[str, Any]:
    """The live parameters the methodology page states (3 queries)."""
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
        # Moderation builds on ratings, so its model is reached by name rather than imported.
        "screening_model": apps.get_model("moderation", "ScreeningModel")
        .objects.filter(is_current=True)
        .values("version", "trained_at", "training_votes", "labelled_votes")
        .first(),
    }
