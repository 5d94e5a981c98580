"""Factories and helpers for the eligibility job's tests (the voting tests have their own)."""

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from accounts.models import User
from catalog.models import Category, OrderLine, Product
from ratings.eligibility import policy_get
from ratings.models import Campaign, Invitation, RatingPolicy
from tests.factories import OrderLineFactory, ProductFactory, UserFactory, rating_ready_category


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    product = factory.SubFactory(ProductFactory)
    category = factory.SelfAttribute("product.category")
    status = Campaign.Status.OPEN
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=29))
    selection_rank = 1
    selection_score = 1.0
    engagement_count = 0
    units_sold = 0


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    campaign = factory.SubFactory(CampaignFactory)
    user = factory.SubFactory(UserFactory)
    purchase = factory.SubFactory(
        OrderLineFactory, buyer=factory.SelfAttribute("..user"), product=factory.SelfAttribute("..campaign.product")
    )
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))


def active_buyer(**kwargs: Any) -> User:
    """A user seen yesterday with a year-old account: experienced and active in the policy's sense."""
    kwargs.setdefault("last_seen_at", timezone.now() - timedelta(days=1))
    kwargs.setdefault("date_joined", timezone.now() - timedelta(days=365))
    user: User = UserFactory(**kwargs)
    return user


def purchase(user: User, product: Product, *, days_ago: float = 30, **kwargs: Any) -> OrderLine:
    line: OrderLine = OrderLineFactory(
        buyer=user, product=product, paid_at=timezone.now() - timedelta(days=days_ago), **kwargs
    )
    return line


def set_policy(**figures: Any) -> RatingPolicy:
    """The policy with the given figures; minimums default to zero so small test data qualifies."""
    figures = {"min_units_sold": 0, "min_engagement": 0, **figures}
    policy = policy_get()
    RatingPolicy.objects.filter(pk=policy.pk).update(**figures)
    policy.refresh_from_db()
    return policy


def category_with_products(count: int = 1, **kwargs: Any) -> tuple[Category, list[Product]]:
    category = rating_ready_category(**kwargs)
    return category, ProductFactory.create_batch(count, category=category)
