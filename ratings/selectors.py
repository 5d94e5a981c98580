"""Reads of the purchaser's pages. Each runs a fixed number of queries, however many invitations."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from ratings.models import CampaignFactor, FactorScore, Invitation, Vote


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

    Pending ones past their expiry, declined ones and accepted ones whose campaign closed before a
    vote are "closed": they can no longer be used.
    """
    now = now or timezone.now()
    sections = InvitationSections()
    for invitation in _with_product(Invitation.objects.filter(user=user)).order_by("-created_at", "-id"):
        status = invitation.status
        if status == Invitation.Status.VOTED:
            sections.voted.append(invitation)
        elif (
            status == Invitation.Status.DECLINED
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
