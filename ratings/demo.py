"""Demo ratings: campaigns, invitations and votes on top of the demo catalog, so every page has data.

Runs the real eligibility services (selection, campaigns, capped invitations, inbox notifications;
no emails), then lets a deterministic share of the invited accept and vote. Votes are written in
bulk, as the seed writes purchases: they are generated data, not requests.
"""

from collections.abc import Set
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import Notification, User
from catalog.models import Brand, BrandAccount
from ratings import eligibility, scoring
from ratings.models import Campaign, CampaignFactor, EligibilityRun, FactorScore, Invitation, RatingPolicy, Vote

#: Share of the invited who accept, and of those who vote.
ACCEPT_SHARE = 0.75
VOTE_SHARE = 0.8
#: The demo buyer keeps this many invitations pending and votes on this many, to show both.
BUYER_PENDING = 3
BUYER_VOTES = 2
#: The demo candidate votes on this many invitations: a verified purchase, the rules test's entry bar.
CANDIDATE_VOTES = 1

#: Review sentences by stance, in each language; ``{best}``/``{worst}`` are the rater's own best and worst
#: factor, so a comment agrees with the scores beside it.
_COMMENTS = {
    "zh": {
        "positive": [
            "{best}真的很出色，用了一个月，会回购。",
            "整体很满意，尤其是{best}。",
            "{best}超出预期，{worst}也还可以。",
            "朋友推荐买的，{best}没让我失望。",
            "第二次买了，{best}一如既往地好。",
            "{best}是亮点，整体体验很好，推荐。",
            "回购好几次了，{best}一直很稳定。",
            "没想到{best}这么好，很惊喜。",
        ],
        "mixed": [
            "{best}不错，但{worst}一般。",
            "中规中矩：{best}还行，{worst}有待改进。",
            "{worst}比预期差一些，{best}倒是可以。",
            "价格合适的话还会考虑，{worst}希望能改进。",
            "{best}满意，{worst}一般，总体还行。",
            "优缺点都有：{best}可以，{worst}不太行。",
            "用了两周，{worst}有点拉胯，{best}还不错。",
        ],
        "critical": [
            "{worst}很让人失望，不会再买了。",
            "和宣传差距很大，{worst}尤其差。",
            "除了{best}还凑合，其他都一般，{worst}最差。",
            "{worst}完全不行，有点后悔买了。",
            "{worst}太差了，{best}也只是一般。",
            "不推荐，{worst}和描述的不一样。",
        ],
    },
    "en": {
        "positive": [
            "Great {best}; I have used it for a month and will buy it again.",
            "Very happy with it, especially the {best}.",
            "The {best} is better than I expected, and the {worst} is fine too.",
            "Really pleased; the {best} stands out.",
        ],
        "mixed": [
            "Good {best}, but the {worst} is only average.",
            "Decent overall; the {worst} could be better.",
            "The {best} is nice, the {worst} less so.",
            "Mixed feelings: a good {best}, a weak {worst}.",
        ],
        "critical": [
            "The {worst} is disappointing; I will not buy it again.",
            "Not as advertised, the {worst} especially.",
            "Disappointed by the {worst}; I would not recommend it.",
        ],
    },
}
#: Shares of comments written in English, and of votes left without a comment.
ENGLISH_SHARE = 0.15
#: In the demo one rater in this many writes in English, every time: a person keeps their language.
ENGLISH_WRITERS_EVERY = 7
NO_COMMENT_SHARE = 0.25


#: The demo has 2,000 users, so its campaigns gather about a dozen votes each: it publishes at 10 (the
#: policy's default is 30) so that both published scores and "not enough votes yet" show.
DEMO_MIN_VOTES = 10


@dataclass(frozen=True)
class DemoRatings:
    campaigns: int
    invitations: int
    votes: int
    published: int
    listed: int


def demo_ratings_seed(*, seed: int, buyer_email: str, candidate_email: str | None = None) -> DemoRatings:
    """Open campaigns through the eligibility services, accept and vote for a share of invitations, then
    score everything with the nightly run. The buyer and the candidate vote on set invitations, not by chance."""
    plan = eligibility.run_start(triggered_by="demo seed")
    for category_id, selected in plan.selections.items():
        eligibility.run_category(run_id=plan.run.pk, category_id=category_id, selected=selected)
    eligibility.run_invite(run_id=plan.run.pk)
    for category_id in plan.selections:
        eligibility.invitations_notify(run_id=plan.run.pk, category_id=category_id)
    _campaigns_age(rng=np.random.default_rng([seed, 1]))
    buyer = User.objects.filter(email=buyer_email).first()
    candidate = User.objects.filter(email=candidate_email).first() if candidate_email else None
    votes = _votes_write(rng=np.random.default_rng(seed), buyer=buyer, candidate=candidate)
    _roll_over_one(buyer=buyer)
    RatingPolicy.objects.filter(pk=1).update(min_votes_to_publish=DEMO_MIN_VOTES)
    run = scoring.run_all(triggered_by="demo seed")
    return DemoRatings(
        campaigns=Campaign.objects.count(),
        invitations=Invitation.objects.count(),
        votes=votes,
        published=run.products_published,
        listed=run.products_listed,
    )


#: How many days ago the demo's campaigns opened, at least and at most: their votes spread over the days
#: since, and the pending invitations opened with them (14 days to answer) still have days left.
CAMPAIGN_AGE_DAYS = (2.0, 12.0)


def _campaigns_age(*, rng: np.random.Generator) -> None:
    """Open each campaign some days ago, with its invitations and their inbox messages: the eligibility job
    opened them all at this instant, and a demo whose every review is dated today reads as fake."""
    for campaign_id in Campaign.objects.order_by("pk").values_list("pk", flat=True):
        age = timedelta(days=float(rng.uniform(*CAMPAIGN_AGE_DAYS)))
        invitations = Invitation.objects.filter(campaign_id=campaign_id)
        Campaign.objects.filter(pk=campaign_id).update(opens_at=F("opens_at") - age, closes_at=F("closes_at") - age)
        Notification.objects.filter(kind=Notification.Kind.INVITATION, subject_id__in=invitations.values("pk")).update(
            created_at=F("created_at") - age
        )
        invitations.update(created_at=F("created_at") - age, expires_at=F("expires_at") - age)


#: How long ago the rolled-over campaign opened: a month and a bit, as a monthly programme's last round.
ROLLOVER_AGE = timedelta(days=35)


def _roll_over_one(*, buyer: User | None) -> Campaign | None:
    """Age one campaign the buyer voted in by a month: it closed after gathering its votes, and the product's
    next campaign invites its voters again (the buyer among them) to confirm or amend their one vote. A
    newcomer then sees a score carried over from a closed campaign, and the buyer a re-invitation."""
    voted = Vote.objects.filter(user=buyer) if buyer is not None else Vote.objects.all()
    campaign = (
        Campaign.objects.filter(pk__in=voted.values("campaign_id"))
        .annotate(n=Count("votes"))
        .order_by("-n", "pk")
        .first()
    )
    if campaign is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(
            status=Campaign.Status.CLOSED, opens_at=F("opens_at") - ROLLOVER_AGE, closes_at=now - timedelta(days=5)
        )
        Vote.objects.filter(campaign=campaign).update(
            created_at=F("created_at") - ROLLOVER_AGE, submitted_at=F("submitted_at") - ROLLOVER_AGE
        )
        Invitation.objects.filter(campaign=campaign).update(
            created_at=F("created_at") - ROLLOVER_AGE,
            expires_at=F("expires_at") - ROLLOVER_AGE,
            responded_at=F("responded_at") - ROLLOVER_AGE,
        )
        run = EligibilityRun.objects.create(
            run_date=timezone.localdate(now),
            triggered_by="demo seed: next month",
            status=EligibilityRun.Status.FINISHED,
            started_at=now,
            finished_at=now,
        )
        [opened] = eligibility.campaigns_open(
            run_id=run.pk,
            category_id=campaign.category_id,
            selected=[
                eligibility.SelectedProduct(
                    product_id=campaign.product_id,
                    rank=campaign.selection_rank,
                    score=campaign.selection_score,
                    engagement=campaign.engagement_count,
                    units=campaign.units_sold,
                )
            ],
            policy=eligibility.policy_get(),
            now=now,
        )
        Invitation.objects.bulk_create(
            Invitation(
                campaign=opened,
                user_id=vote.user_id,
                purchase_id=vote.invitation.purchase_id,
                expires_at=now + timedelta(days=eligibility.policy_get().invitation_days),
                run=run,
                created_at=now,
            )
            for vote in Vote.objects.filter(campaign=campaign).select_related("invitation")
        )
    eligibility.invitations_notify(run_id=run.pk, category_id=campaign.category_id)
    return opened


def _votes_write(*, rng: np.random.Generator, buyer: User | None, candidate: User | None = None) -> int:
    now = timezone.now()
    invitations = list(
        Invitation.objects.filter(status=Invitation.Status.PENDING).select_related("campaign").order_by("pk")
    )
    factors: dict[int, list[int]] = {}
    names: dict[int, dict[str, str]] = {}
    for campaign_id, factor_id, name_zh, name_en in CampaignFactor.objects.order_by("position", "pk").values_list(
        "campaign_id", "pk", "name_zh", "name_en"
    ):
        factors.setdefault(campaign_id, []).append(factor_id)
        names[factor_id] = {
            "zh": name_zh,
            "en": name_en if name_en[:2].isupper() else name_en[:1].lower() + name_en[1:],
        }
    # Each product has its own quality, each factor its own offset: scores differ in a believable way.
    quality = {campaign_id: rng.normal(3.9, 0.45) for campaign_id in factors}
    offset = {factor_id: rng.normal(0, 0.35) for ids in factors.values() for factor_id in ids}

    buyer_invitations = [inv for inv in invitations if buyer is not None and inv.user_id == buyer.pk]
    buyer_votes = {inv.pk for inv in buyer_invitations[BUYER_PENDING : BUYER_PENDING + BUYER_VOTES]}
    buyer_pending = {inv.pk for inv in buyer_invitations[:BUYER_PENDING]}
    candidate_invitations = [inv for inv in invitations if candidate is not None and inv.user_id == candidate.pk]
    # Votes that must happen whatever the draws say: the personas' stories depend on them.
    set_votes = buyer_votes | {inv.pk for inv in candidate_invitations[:CANDIDATE_VOTES]}

    accepted: list[Invitation] = []
    new_votes: list[Vote] = []
    vote_scores: list[dict[int, int]] = []
    said: dict[int, set[str]] = {}  # per product: a product page never shows one review twice, word for word
    for invitation in invitations:
        if invitation.pk in buyer_pending:
            continue
        draw = rng.random()
        if invitation.pk not in buyer_votes and (buyer is not None and invitation.user_id == buyer.pk):
            continue
        if invitation.pk not in set_votes and draw > ACCEPT_SHARE:
            continue
        campaign = invitation.campaign
        # Any time since the campaign opened (at least an hour after): the demo's votes spread over its days.
        open_hours = max((now - campaign.opens_at).total_seconds() / 3600, 1.5)
        voted_at = min(now, campaign.opens_at + timedelta(hours=float(rng.uniform(1, open_hours))))
        votes_now = invitation.pk in set_votes or rng.random() < VOTE_SHARE
        invitation.status = Invitation.Status.VOTED if votes_now else Invitation.Status.ACCEPTED
        invitation.responded_at = voted_at
        accepted.append(invitation)
        if not votes_now:
            continue
        scores = {
            factor_id: int(np.clip(round(quality[campaign.pk] + offset[factor_id] + rng.normal(0, 0.7)), 1, 5))
            for factor_id in factors.get(campaign.pk, [])
        }
        new_votes.append(
            Vote(
                campaign_id=campaign.pk,
                user_id=invitation.user_id,
                invitation=invitation,
                product_id=campaign.product_id,
                comment=review_comment(
                    scores=scores,
                    names=names,
                    rng=rng,
                    taken=said.setdefault(campaign.product_id, set()),
                    language="en" if invitation.user_id % ENGLISH_WRITERS_EVERY == 0 else "zh",
                ),
                seconds_to_fill=int(rng.lognormal(4.3, 0.5)),
                created_at=voted_at,
                submitted_at=voted_at,
            )
        )
        vote_scores.append(scores)
        said[campaign.product_id].add(new_votes[-1].comment)
    with transaction.atomic():
        Invitation.objects.bulk_update(accepted, ["status", "responded_at"], batch_size=1000)
        Vote.objects.bulk_create(new_votes, batch_size=1000)
        FactorScore.objects.bulk_create(
            (
                FactorScore(vote=vote, factor_id=factor_id, product_id=vote.product_id, score=score)
                for vote, scores in zip(new_votes, vote_scores, strict=True)
                for factor_id, score in scores.items()
            ),
            batch_size=2000,
        )
    return len(new_votes)


def review_comment(
    *,
    scores: dict[int, int],
    names: dict[int, dict[str, str]],
    rng: np.random.Generator,
    taken: Set[str] = frozenset(),
    language: str | None = None,
) -> str:
    """A comment that agrees with the vote's own scores: its stance from their mean, naming the rater's best
    and worst factor (or their second best and worst, within a point), mostly in Chinese; a quarter of raters
    write nothing. Not one of ``taken`` (what the product's other reviews say already) while the stance has
    another wording left. ``language`` is the rater's, else drawn (``ENGLISH_SHARE``)."""
    if not scores or rng.random() < NO_COMMENT_SHARE:
        return ""
    if language is None:
        language = "en" if rng.random() < ENGLISH_SHARE else "zh"
    mean = sum(scores.values()) / len(scores)
    stance = "positive" if mean >= 4.2 else "critical" if mean < 2.8 else "mixed"
    ranked = sorted(scores, key=lambda factor_id: (scores[factor_id], rng.random()))
    # The rater's best factor first, then their second best when it scored as well or one point less; so too
    # for the worst. A popular product's page thus has four times the wordings before it must repeat one.
    best = [f for f in ranked[::-1][:2] if scores[f] >= scores[ranked[-1]] - 1]
    worst = [f for f in ranked[:2] if scores[f] <= scores[ranked[0]] + 1]
    templates = _COMMENTS[language][stance]
    first = int(rng.integers(len(templates)))
    said = [
        template.format(best=names[b][language], worst=names[w][language])
        for b in best
        for w in worst
        if (b != w or len(scores) == 1) and scores[b] >= scores[w]
        for template in templates[first:] + templates[:first]
    ]
    return next((comment for comment in said if comment not in taken), said[0])


def demo_brand_account_link(*, email: str) -> Brand | None:
    """Link the demo brand persona to the brand with the most published products (then the most products), so
    ``/brand/`` has scores, trends and comments to show. Harmless to repeat (one link per account and brand).
    None when the persona or any brand is missing."""
    user = User.objects.filter(email=email).first()
    brand = (
        Brand.objects.annotate(
            published=Count("products", filter=Q(products__results__is_latest=True, products__results__published=True)),
            listed=Count("products"),
        )
        .order_by("-published", "-listed", "id")
        .first()
    )
    if user is None or brand is None:
        return None
    BrandAccount.objects.get_or_create(user=user, brand=brand, defaults={"note": "demo"})
    return brand
