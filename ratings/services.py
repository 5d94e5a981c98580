"""Writes of the purchaser's journey: accepting or declining an invitation, and the one vote.

One person, one vote per product, for ever, is guaranteed by the database (``vote_one_per_user_and_product``);
the code here checks the same rules first so that people get a clear message, and turns the constraint's
``IntegrityError`` (two submissions racing) into an "already rated" outcome, never a 500. A person invited
again in a later campaign confirms or amends the vote they have; the earlier state is kept as a revision.
"""

import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.header import header_forget
from accounts.models import Notification, User
from catalog import page_cache, stakes
from catalog.models import Brand, BrandAccount, OrderLine, Store
from ratings import scoring, selectors, tasks
from ratings.eligibility import policy_get
from ratings.models import CampaignFactor, FactorScore, Invitation, ReviewHelpful, Vote, VoteRevision
from xhs.cache import forget_later

MIN_SCORE = 1
MAX_SCORE = 5
COMMENT_MAX_LENGTH = 1000
REVOKED_MESSAGE = _("This invitation was withdrawn because the purchase was refunded or cancelled.")
STAKE_RATE_MESSAGE = _(
    "Your account speaks for this product's brand or store, so it cannot rate this product: "
    "placement cannot be bought, and a brand's own votes would be exactly that."
)
STAKE_HELPFUL_MESSAGE = _(
    "Your account speaks for this product's brand or store, so it cannot mark reviews of it as helpful."
)


class RatingError(Exception):
    """A request the rules refuse; ``message`` is shown to the person as it is."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


class VoteStatus(enum.Enum):
    CREATED = "created"
    AMENDED = "amended"
    #: An earlier campaign's vote confirmed, unchanged, through a later campaign's invitation.
    CONFIRMED = "confirmed"
    #: Another submission of the same form got there first (a double click, a second tab): nothing stored.
    ALREADY_RATED = "already_rated"


@dataclass(frozen=True)
class VoteOutcome:
    vote: Vote
    status: VoteStatus


def fingerprint(value: str) -> str:
    """HMAC-SHA256 of a client attribute under the site's secret: comparable between votes, never reversible
    without the secret. An empty value stays empty."""
    if not value:
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def _own_invitation_for_update(*, invitation_id: int, user: User) -> Invitation:
    try:
        return (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=invitation_id, user=user)
        )
    except Invitation.DoesNotExist:
        raise RatingError(_("This invitation does not exist.")) from None


def rating_stake_check(*, user: User, product_id: int) -> None:
    """Raise ``stakes.BrandStakeRefused`` if the user speaks for the product's brand or store: such an account
    is never invited (the eligibility job leaves it out), and an invitation from before its link cannot be
    used either."""
    stakes.refuse_if_stake(user_id=user.pk, product_ids=[product_id], message=STAKE_RATE_MESSAGE)


def invitation_accept(*, invitation: Invitation, user: User, now: datetime | None = None) -> Invitation:
    """Accept a pending invitation: the user becomes a verified purchaser of the product.

    Idempotent: accepting an accepted (or already voted) invitation changes nothing. Locks the
    invitation row, so an accept racing a decline ends in one of the two, never both. Refused
    (``stakes.BrandStakeRefused``) to an account linked to the product's brand or store.
    """
    now = now or timezone.now()
    with transaction.atomic():
        fresh = _own_invitation_for_update(invitation_id=invitation.pk, user=user)
        rating_stake_check(user=user, product_id=fresh.campaign.product_id)
        if fresh.status in (Invitation.Status.ACCEPTED, Invitation.Status.VOTED):
            return fresh
        if fresh.status == Invitation.Status.REVOKED:
            raise RatingError(REVOKED_MESSAGE)
        if fresh.status == Invitation.Status.DECLINED:
            raise RatingError(_("You declined this invitation, so it can no longer be accepted."))
        if fresh.is_expired(now):
            raise RatingError(_("This invitation has expired and can no longer be accepted."))
        if not fresh.campaign.accepts_votes(now):
            raise RatingError(_("Rating of this product has closed."))
        if user.is_banned:
            raise RatingError(_("Your account cannot rate products."))
        fresh.status = Invitation.Status.ACCEPTED
        fresh.responded_at = now
        fresh.save(update_fields=["status", "responded_at", "updated_at"])
        return fresh


def invitation_decline(*, invitation: Invitation, user: User, now: datetime | None = None) -> Invitation:
    """Decline a pending invitation. Idempotent; an accepted or used invitation cannot be declined."""
    now = now or timezone.now()
    with transaction.atomic():
        fresh = _own_invitation_for_update(invitation_id=invitation.pk, user=user)
        if fresh.status == Invitation.Status.DECLINED:
            return fresh
        if fresh.status == Invitation.Status.REVOKED:
            raise RatingError(REVOKED_MESSAGE)
        if fresh.status != Invitation.Status.PENDING:
            raise RatingError(_("You have already accepted this invitation."))
        if fresh.is_expired(now):
            raise RatingError(_("This invitation has expired."))
        fresh.status = Invitation.Status.DECLINED
        fresh.responded_at = now
        fresh.save(update_fields=["status", "responded_at", "updated_at"])
        return fresh


def _checked_scores(factors: list[CampaignFactor], scores: Mapping[int, int]) -> dict[int, int]:
    expected = {factor.pk for factor in factors}
    if set(scores) != expected:
        raise RatingError(_("Every factor of this product must be scored, and only those."))
    for score in scores.values():
        if isinstance(score, bool) or not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
            raise RatingError(_("Each score must be a whole number from 1 to 5."))
    return dict(scores)


def _usable_invitation(*, invitation: Invitation, user: User, now: datetime) -> Invitation:
    """The invitation, fresh from the database, if the user may rate through it now; else a RatingError.

    Locked until the caller's transaction ends, so that a refund revoking the invitation waits for this vote,
    or this vote for it."""
    fresh = _own_invitation_for_update(invitation_id=invitation.pk, user=user)
    rating_stake_check(user=user, product_id=fresh.campaign.product_id)
    if fresh.status == Invitation.Status.DECLINED:
        raise RatingError(_("You declined this invitation."))
    if fresh.status == Invitation.Status.REVOKED:
        raise RatingError(REVOKED_MESSAGE)
    if fresh.status == Invitation.Status.PENDING:
        if fresh.is_expired(now):
            raise RatingError(_("This invitation has expired."))
        raise RatingError(_("Accept the invitation before rating."))
    if not fresh.campaign.accepts_votes(now):
        raise RatingError(_("Rating of this product has closed; votes can no longer be added or changed."))
    if user.is_banned:
        raise RatingError(_("Your account cannot rate products."))
    return fresh


def _vote_replace(
    vote: Vote,
    *,
    invitation: Invitation,
    scores: Mapping[int, int],
    now: datetime,
    **fields: Any,
) -> None:
    """Keep the vote's current state as a revision, then store ``scores`` (campaign factor ids of the
    invitation's campaign) and ``fields`` as its new state, submitted now. The vote moves to the
    invitation's campaign, whose factors the scores now use."""
    current = list(FactorScore.objects.filter(vote=vote).order_by("factor_id"))
    VoteRevision.objects.create(
        vote=vote,
        campaign_id=vote.campaign_id,
        scores={str(row.factor_id): row.score for row in current},
        comment=vote.comment,
        seconds_to_fill=vote.seconds_to_fill,
        ip_hash=vote.ip_hash,
        user_agent_hash=vote.user_agent_hash,
        submitted_at=vote.submitted_at,
    )
    campaign = invitation.campaign
    FactorScore.objects.filter(vote=vote).delete()
    FactorScore.objects.bulk_create(
        FactorScore(vote=vote, factor_id=pk, product_id=campaign.product_id, score=score)
        for pk, score in scores.items()
    )
    for name, value in fields.items():
        setattr(vote, name, value)
    vote.campaign = campaign
    vote.invitation = invitation
    vote.submitted_at = now
    vote.revision_count = vote.revision_count + 1
    vote.save(update_fields=["campaign", "invitation", "submitted_at", "revision_count", "updated_at", *fields])
    Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.ACCEPTED).update(
        status=Invitation.Status.VOTED, updated_at=now
    )
    # A vote excluded because its purchase was refunded stands again on this invitation's kept purchase.
    Vote.objects.filter(
        pk=vote.pk,
        verdict=Vote.Verdict.EXCLUDED,
        exclusion_reason=Vote.ExclusionReason.REFUND,
        invitation__purchase__status=OrderLine.Status.PAID,
    ).update(verdict=Vote.Verdict.COUNTED, exclusion_reason="", updated_at=now)


def vote_submit(
    *,
    invitation: Invitation,
    user: User,
    scores: Mapping[int, int],
    comment: str = "",
    seconds_to_fill: int | None = None,
    ip_address: str = "",
    user_agent: str = "",
    amends_revision: int | None = None,
    now: datetime | None = None,
) -> VoteOutcome:
    """Record the user's one vote on the invitation's product, or amend it.

    ``scores`` maps each of the campaign's frozen factors (CampaignFactor ids) to 1–5.
    ``amends_revision`` says which state of the vote the form showed: None for a first vote, else
    the vote's ``revision_count`` when the form was rendered. The vote amended may come from an earlier
    campaign of the same product (a re-invitation): it then moves to this campaign.

    Concurrency contract: a first vote is a plain INSERT guarded by the unique constraint on (product,
    user); a racing second INSERT raises ``IntegrityError``, which becomes ``ALREADY_RATED`` with nothing
    stored. An amendment locks the vote row (``SELECT … FOR UPDATE``) and applies only if the vote is
    still at ``amends_revision``; so a double-clicked amendment is stored once, and ``revision_count``
    always equals the number of kept revisions. Everything happens in one transaction: a refusal
    (``RatingError``) stores nothing.
    """
    now = now or timezone.now()
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise RatingError(_("The comment is too long (at most 1000 characters)."))
    if seconds_to_fill is not None:
        seconds_to_fill = max(0, seconds_to_fill)
    with transaction.atomic():
        fresh = _usable_invitation(invitation=invitation, user=user, now=now)
        campaign = fresh.campaign
        checked = _checked_scores(list(CampaignFactor.objects.filter(campaign=campaign)), scores)
        ip_hash, user_agent_hash = fingerprint(ip_address), fingerprint(user_agent)

        if amends_revision is None:
            vote = Vote(
                campaign=campaign,
                user=user,
                invitation=fresh,
                product_id=campaign.product_id,
                comment=comment,
                seconds_to_fill=seconds_to_fill,
                ip_hash=ip_hash,
                user_agent_hash=user_agent_hash,
                created_at=now,
                submitted_at=now,
            )
            try:
                with transaction.atomic():
                    vote.save(force_insert=True)
                    FactorScore.objects.bulk_create(
                        FactorScore(vote=vote, factor_id=pk, product_id=campaign.product_id, score=score)
                        for pk, score in checked.items()
                    )
            except IntegrityError:
                existing = Vote.objects.filter(product_id=campaign.product_id, user=user).first()
                if existing is None:  # pragma: no cover - some other constraint; let it surface
                    raise
                return VoteOutcome(vote=existing, status=VoteStatus.ALREADY_RATED)
            Invitation.objects.filter(pk=fresh.pk, status=Invitation.Status.ACCEPTED).update(
                status=Invitation.Status.VOTED, updated_at=now
            )
            rescore_soon(campaign_id=campaign.pk)
            screen_soon(vote_id=vote.pk)
            return VoteOutcome(vote=vote, status=VoteStatus.CREATED)

        locked = Vote.objects.select_for_update().filter(product_id=campaign.product_id, user=user).first()
        if locked is None:
            raise RatingError(_("There is no vote to amend."))
        if locked.revision_count != amends_revision:
            return VoteOutcome(vote=locked, status=VoteStatus.ALREADY_RATED)
        _vote_replace(
            locked,
            invitation=fresh,
            scores=checked,
            now=now,
            comment=comment,
            seconds_to_fill=seconds_to_fill,
            ip_hash=ip_hash,
            user_agent_hash=user_agent_hash,
            amended_at=now,
        )
        rescore_soon(campaign_id=campaign.pk)  # the product's score, from all its campaigns
        screen_soon(vote_id=locked.pk)
        # its comment is shown at once, though the score may not move: the product's kept pages are dropped, now
        # for what this transaction renders and at the commit for what others rendered meanwhile
        product_id = campaign.product_id
        page_cache.forget([product_id])
        transaction.on_commit(lambda: page_cache.forget([product_id]))
        return VoteOutcome(vote=locked, status=VoteStatus.AMENDED)


def vote_confirm(*, invitation: Invitation, user: User, now: datetime | None = None) -> VoteOutcome:
    """Confirm, unchanged, the user's vote on this product from an earlier campaign, through a later
    campaign's invitation: the vote moves to this campaign and counts again from now (the score window).

    Each score moves to the same factor of this campaign. If this campaign rates a factor the earlier
    vote did not score, nothing is stored and the person is asked to amend instead. Confirming a vote
    already in this campaign changes nothing (``ALREADY_RATED``): a double click confirms once. Locks the
    vote row, so a confirmation racing an amendment ends in one of the two, in order.
    """
    now = now or timezone.now()
    with transaction.atomic():
        fresh = _usable_invitation(invitation=invitation, user=user, now=now)
        campaign = fresh.campaign
        locked = Vote.objects.select_for_update().filter(product_id=campaign.product_id, user=user).first()
        if locked is None:
            raise RatingError(_("You have no earlier vote on this product to confirm. Please rate it."))
        if locked.campaign_id == campaign.pk:
            return VoteOutcome(vote=locked, status=VoteStatus.ALREADY_RATED)
        earlier = dict(
            FactorScore.objects.filter(vote=locked, factor__factor__isnull=False).values_list(
                "factor__factor_id", "score"
            )
        )
        factors = list(CampaignFactor.objects.filter(campaign=campaign))
        if any(factor.factor_id not in earlier for factor in factors):
            raise RatingError(
                _("This product is now rated on a factor your earlier vote did not score. Please amend your vote.")
            )
        _vote_replace(
            locked, invitation=fresh, scores={f.pk: earlier[f.factor_id] for f in factors if f.factor_id}, now=now
        )
        rescore_soon(campaign_id=campaign.pk)
        screen_soon(vote_id=locked.pk)  # it may count again (a refund exclusion lifted), so it is judged again
        return VoteOutcome(vote=locked, status=VoteStatus.CONFIRMED)


def rescore_soon(*, campaign_id: int) -> None:
    """Ask for the campaign's product to be re-scored once the current transaction commits.

    Debounced: the first request flags the campaign and enqueues one re-score after the policy's
    delay; requests while it waits only find the flag set. If the broker is down the enqueue is
    logged, not raised (the vote stays saved), and the periodic sweep finds the flag.
    """
    if scoring.rescore_request(campaign_id=campaign_id):
        delay = policy_get().rescore_delay_seconds
        transaction.on_commit(lambda: tasks.rescore_campaign.apply_async((campaign_id,), countdown=delay), robust=True)


#: Screening lives with moderation, which depends on ratings: it is reached by task name, not import.
SCREEN_VOTE_TASK = "moderation.tasks.screen_vote"


def screen_soon(*, vote_id: int) -> None:
    """Screen the vote once the current transaction commits (logged, not raised, if the broker is down:
    the nightly batch screens every vote anyway)."""
    from celery import current_app

    task = current_app.tasks[SCREEN_VOTE_TASK]
    transaction.on_commit(lambda: task.apply_async((vote_id,)), robust=True)


def review_helpful_toggle(*, user: User, vote_id: int) -> bool:
    """Mark a review (a counted vote with a comment) as helpful to ``user``, or take the mark back;
    returns whether it is marked now. Never one's own review; one mark per reader and review (a unique
    constraint: a double click marks once, the racing second insert is the same outcome). The product's
    cached pages are dropped so anonymous visitors see the new count. Refused (``stakes.BrandStakeRefused``)
    to an account linked to the product's brand or store, both ways: it neither marks nor takes back."""
    vote = Vote.objects.filter(pk=vote_id, verdict=Vote.Verdict.COUNTED).exclude(comment="").first()
    if vote is None:
        raise RatingError(_("This review is not shown any more."))
    if vote.user_id == user.pk:
        raise RatingError(_("You cannot mark your own review as helpful."))
    stakes.refuse_if_stake(user_id=user.pk, product_ids=[vote.product_id], message=STAKE_HELPFUL_MESSAGE)
    with transaction.atomic():
        removed, _kinds = ReviewHelpful.objects.filter(vote=vote, user=user).delete()
        if not removed:
            try:
                with transaction.atomic():
                    ReviewHelpful.objects.create(vote=vote, user=user, author_id=vote.user_id)
            except IntegrityError:
                pass  # the same reader's other click got there first: marked either way
        forget_later([selectors.helpful_marks_key(user.pk)])
    page_cache.forget([vote.product_id])
    return not removed


def brand_account_link(
    *, user: User, brand: Brand | None = None, store: Store | None = None, note: str = "", now: datetime | None = None
) -> BrandAccount:
    """Link an account to the brand or the store it speaks for, and exclude the votes it gave their products
    before (``stake_votes_exclude``), in one transaction. A second link to the same target, or none or both
    targets, is a ``ValidationError`` (the database's constraints, checked first)."""
    link = BrandAccount(user=user, brand=brand, store=store, note=note)
    link.full_clean()
    with transaction.atomic():
        link.save()
        stake_votes_exclude(link=link, now=now)
    return link


def stake_votes_exclude(*, link: BrandAccount, now: datetime | None = None) -> int:
    """Exclude the votes the linked account gave, before the link, to products it now speaks for (reason
    ``stake``); re-score their products the usual way and tell the account in its inbox, once per link.
    Returns how many votes it excluded.

    Votes already excluded for a refund or a stake keep their reason; votes a moderation decision excluded
    take this one, so a later appeal that clears the content cannot count them again (``vote_reinstate``
    keeps stake exclusions). The votes are locked in id order, as the refund path locks them; a repeat
    excludes nothing and tells nobody again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        excluded = list(
            Vote.objects.select_for_update(of=("self",))
            .filter(user_id=link.user_id, product_id__in=stakes.linked_products(link.user_id))
            .exclude(
                verdict=Vote.Verdict.EXCLUDED,
                exclusion_reason__in=(Vote.ExclusionReason.REFUND, Vote.ExclusionReason.STAKE),
            )
            .order_by("pk")
            .values_list("pk", "campaign_id")
        )
        if not excluded:
            return 0
        Vote.objects.filter(pk__in=[pk for pk, _campaign in excluded]).update(
            verdict=Vote.Verdict.EXCLUDED, exclusion_reason=Vote.ExclusionReason.STAKE, updated_at=now
        )
        for campaign_id in sorted({campaign for _pk, campaign in excluded}):
            rescore_soon(campaign_id=campaign_id)
        Notification.objects.get_or_create(
            user_id=link.user_id,
            kind=Notification.Kind.STAKE,
            subject_id=link.pk,
            defaults={"url": reverse("ratings:brand"), "context": {"votes": len(excluded)}},
        )
        header_forget([link.user_id])
    return len(excluded)
