"""What a refunded or cancelled purchase takes back: the invitation it earned and the vote it allowed.

Only kept purchases count. When an order line is refunded or cancelled (by the purchase importer, or by
staff in the admin), ``purchases_withdrawn`` revokes the invitations the line earned, excludes the votes
cast through them with the reason "purchase refunded", asks for their products to be re-scored and tells
each buyer in the inbox. Nothing counts such a vote again: screening lifts only its own exclusions, and a
moderation decision that clears a vote goes through ``vote_reinstate``, which keeps the refund.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.models import Notification
from accounts.services import notifications_create
from catalog.models import OrderLine
from ratings.eligibility import invitation_url_template
from ratings.models import Invitation, Vote
from ratings.services import rescore_soon

#: The states of an order line that take back what the purchase earned.
WITHDRAWN = (OrderLine.Status.REFUNDED, OrderLine.Status.CANCELLED)


@dataclass(frozen=True)
class Withdrawal:
    """What one call changed: invitations revoked, votes excluded, buyers told."""

    revoked: int = 0
    excluded: int = 0
    notified: int = 0


def purchases_withdrawn(*, order_line_ids: Collection[int], now: datetime | None = None) -> Withdrawal:
    """Take back what these refunded or cancelled order lines earned; lines still paid are left alone.

    Invitations the lines earned that could still be used (pending and not expired, accepted, voted)
    become revoked; the votes cast through the lines' invitations are excluded with the reason "purchase
    refunded" (a vote excluded by moderation keeps that reason; one excluded by screening or held for
    review takes this one, which screening never lifts); each campaign whose votes changed is flagged for
    re-scoring after commit, as after a vote; each buyer whose invitation was revoked gets one inbox message.

    Idempotency contract: a revoked invitation and a refund exclusion are final, and a message is unique
    per (buyer, kind, invitation) in the database, so a second call, or re-importing the same refunds,
    changes nothing and tells nobody twice.

    Locking: one transaction (the caller's, when one is open) that locks the order lines, then the
    invitations, then the votes, each in primary-key order. ``vote_submit`` locks the invitation before
    the vote and ``vote_reinstate`` the order line before the vote, so none of them deadlocks with this
    one, and a vote cast or reinstated at the same time either waits for the revocation and sees it, or
    is committed first and excluded here. A fixed number of queries, plus one re-score request per campaign.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lines = list(
            OrderLine.objects.select_for_update()
            .filter(pk__in=set(order_line_ids), status__in=WITHDRAWN)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not lines:
            return Withdrawal()
        usable = Q(status__in=(Invitation.Status.ACCEPTED, Invitation.Status.VOTED)) | Q(
            status=Invitation.Status.PENDING, expires_at__gt=now
        )
        revoked = list(
            Invitation.objects.select_for_update()
            .filter(usable, purchase_id__in=lines)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        notified: list[int] = []
        if revoked:
            notified = notifications_create(
                kind=Notification.Kind.REFUND,
                source=Invitation.objects.filter(pk__in=revoked)
                .annotate(subject_id=F("pk"), voted=Exists(Vote.objects.filter(invitation=OuterRef("pk"))))
                .order_by()
                .values("user_id", "subject_id", "voted"),
                url_template=invitation_url_template(),
                context_columns={"voted": "voted"},
            )
            Invitation.objects.filter(pk__in=revoked).update(status=Invitation.Status.REVOKED, updated_at=now)
        excluded = list(
            Vote.objects.select_for_update(of=("self",))
            .filter(invitation__purchase_id__in=lines)
            .exclude(
                verdict=Vote.Verdict.EXCLUDED,
                exclusion_reason__in=(Vote.ExclusionReason.MODERATION, Vote.ExclusionReason.REFUND),
            )
            .order_by("pk")
            .values_list("pk", "campaign_id")
        )
        Vote.objects.filter(pk__in=[pk for pk, _campaign in excluded]).update(
            verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.REFUND, updated_at=now
        )
        for campaign_id in sorted({campaign for _pk, campaign in excluded}):
            rescore_soon(campaign_id=campaign_id)
    return Withdrawal(revoked=len(revoked), excluded=len(excluded), notified=len(notified))


def vote_reinstate(*, vote_id: int, now: datetime | None = None) -> bool:
    """Count a vote again once a decision cleared it; return whether the vote changed.

    A vote whose purchase was refunded or cancelled is not counted again: it stays excluded, with that
    reason; nor one its author gave before being linked to the product's brand or store. The purchase is
    locked first, as ``purchases_withdrawn`` does, so the two cannot cross.
    """
    now = now or timezone.now()
    with transaction.atomic():
        status = (
            OrderLine.objects.select_for_update()
            .filter(pk__in=Invitation.objects.filter(vote=vote_id).values("purchase_id"))
            .values_list("status", flat=True)
            .first()
        )
        vote = Vote.objects.filter(pk=vote_id)
        if status in WITHDRAWN:
            refunded = vote.exclude(verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.REFUND)
            return (
                refunded.update(
                    verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.REFUND, updated_at=now
                )
                > 0
            )
        # A vote given before its author was linked to the product's brand or store never counts again.
        counted = vote.exclude(verdict=Vote.Verdict.COUNTED).exclude(exclusion_reason=Vote.ExclusionReason.STAKE)
        return counted.update(verdict=Vote.Verdict.COUNTED, exclusion_reason="", updated_at=now) > 0
