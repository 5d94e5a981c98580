"""Factories for campaigns, invitations and votes (shared by the voting and eligibility tests)."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from catalog.models import Factor, Product
from ratings.models import Campaign, CampaignFactor, FactorScore, Invitation, Vote
from tests.factories import OrderLineFactory, ProductFactory, UserFactory, rating_ready_category


class CampaignFactory(factory.django.DjangoModelFactory):
    """An open campaign; its product's category is rating-ready and its active factors are frozen in."""

    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    product = factory.LazyFunction(lambda: ProductFactory(category=rating_ready_category()))
    category = factory.SelfAttribute("product.category")
    status = Campaign.Status.OPEN
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyAttribute(lambda o: o.opens_at + timedelta(days=30))
    selection_rank = 1
    selection_score = 1.0
    engagement_count = 0
    units_sold = 0

    @factory.post_generation
    def freeze_factors(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """Copy the category's active factors, as the eligibility job does (skip with freeze_factors=False)."""
        if create and extracted is not False:
            freeze_factors(self)


def freeze_factors(campaign: Campaign) -> list[CampaignFactor]:
    factors = Factor.objects.filter(category_id=campaign.category_id, active=True).order_by("position", "id")
    return CampaignFactor.objects.bulk_create(
        CampaignFactor(
            campaign=campaign,
            factor=factor,
            name_zh=factor.name_zh,
            name_en=factor.name_en,
            description_zh=factor.description_zh,
            description_en=factor.description_en,
            position=factor.position,
            weight=factor.weight,
        )
        for factor in factors
    )


def campaign_for(product: Product, **kwargs: Any) -> Campaign:
    """An open campaign for this product, with its category's active factors frozen."""
    return CampaignFactory(product=product, category=product.category, **kwargs)


class CampaignFactorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignFactor

    campaign = factory.SubFactory(CampaignFactory, freeze_factors=False)
    factor = None
    name_zh = factory.Sequence(lambda n: f"冻结维度{n}")
    name_en = factory.Sequence(lambda n: f"Frozen factor {n}")
    description_zh = "说明"
    description_en = "What this factor measures."
    position = factory.Sequence(lambda n: n)
    weight = 1


class InvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation earned by a genuine purchase of the campaign's product a month ago."""

    class Meta:
        model = Invitation

    campaign = factory.SubFactory(CampaignFactory)
    user = factory.SubFactory(UserFactory)
    purchase = factory.LazyAttribute(lambda o: OrderLineFactory(buyer=o.user, product=o.campaign.product))
    status = Invitation.Status.PENDING
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=14))


def accepted_invitation(**kwargs: Any) -> Invitation:
    kwargs.setdefault("responded_at", timezone.now())
    return InvitationFactory(status=Invitation.Status.ACCEPTED, **kwargs)


def vote_for(invitation: Invitation, *, score: int = 4, comment: str = "", **kwargs: Any) -> Vote:
    """A stored vote with every frozen factor scored `score`; marks the invitation voted."""
    kwargs.setdefault("created_at", timezone.now())
    kwargs.setdefault("submitted_at", kwargs["created_at"])
    vote = Vote.objects.create(
        campaign=invitation.campaign,
        user=invitation.user,
        invitation=invitation,
        product_id=invitation.campaign.product_id,
        comment=comment,
        **kwargs,
    )
    FactorScore.objects.bulk_create(
        FactorScore(vote=vote, factor=factor, product_id=vote.product_id, score=score)
        for factor in invitation.campaign.factors.all()
    )
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.VOTED)
    invitation.status = Invitation.Status.VOTED
    return vote


def votes_cast(campaign: Campaign, scores: Sequence[Sequence[int]], **vote_kwargs: Any) -> list[Vote]:
    """One voter per row of ``scores`` (a score per frozen factor, in position order), each with a
    genuine purchase and an invitation: what the scoring job reads, written in bulk."""
    factors = list(campaign.factors.order_by("position", "id"))
    vote_kwargs.setdefault("created_at", timezone.now())
    vote_kwargs.setdefault("submitted_at", vote_kwargs["created_at"])
    votes = []
    for _ in scores:
        invitation = accepted_invitation(campaign=campaign)
        votes.append(
            Vote(
                campaign=campaign,
                user=invitation.user,
                invitation=invitation,
                product_id=campaign.product_id,
                **vote_kwargs,
            )
        )
    Vote.objects.bulk_create(votes)
    FactorScore.objects.bulk_create(
        FactorScore(vote=vote, factor=factor, product_id=campaign.product_id, score=int(score))
        for vote, row in zip(votes, scores, strict=True)
        for factor, score in zip(factors, row, strict=True)
    )
    return votes
