"""Demo factor surveys: one adopted (its category's factors were chosen with its buyers) and one open
that the demo buyer can answer. Runs the real survey services; answers are generated, not requests."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from catalog.models import Category, Factor, OrderLine
from ratings import surveys
from ratings.eligibility import policy_get
from ratings.models import FactorSurvey, SurveyInvitation
from ratings.models.surveys import MAX_CANDIDATES, MIN_CANDIDATES

#: Candidates staff add to a category's own factors, so buyers have a real choice to make.
EXTRA_CANDIDATES = [
    surveys.CandidateSpec(
        "性价比", "Value for money", "价格和品质是否相称。", "Whether the quality is worth the price."
    ),
    surveys.CandidateSpec(
        "包装", "Packaging", "包装是否完好、方便、不过度。", "Whether the packaging is intact, handy, not excessive."
    ),
    surveys.CandidateSpec(
        "购买体验", "Buying experience", "下单、发货和客服是否顺畅。", "Ordering, delivery and service."
    ),
    surveys.CandidateSpec(
        "耐用度", "Durability", "用久了是否依然好用。", "Whether it still works well after long use."
    ),
    surveys.CandidateSpec(
        "环保",
        "Eco-friendliness",
        "成分和包装对环境是否友好。",
        "How kind its contents and packaging are to the environment.",
    ),
    surveys.CandidateSpec("安全性", "Safety", "成分和使用是否安全。", "Whether its contents and use are safe."),
]
SUGGESTIONS = [
    "适合敏感肌吗",
    "Smell after a few hours",
    "是否容易买到正品",
    "Works for the whole family",
    "旅行装是否方便",
]
#: Share of the invited who answer, in the adopted survey and so far in the open one.
ANSWER_SHARE = 0.6
OPEN_ANSWER_SHARE = 0.3
SUGGESTION_SHARE = 0.15


@dataclass(frozen=True)
class DemoSurveys:
    adopted_category: str
    adopted_respondents: int
    open_category: str
    open_invited: int


def _candidates(category: Category) -> list[surveys.CandidateSpec]:
    own = [
        surveys.CandidateSpec(f.name_zh, f.name_en, f.description_zh, f.description_en)
        for f in Factor.objects.filter(category=category, active=True).order_by("position", "id")
    ]
    taken = {spec.name_en.casefold() for spec in own} | {spec.name_zh for spec in own}
    extras = [spec for spec in EXTRA_CANDIDATES if spec.name_en.casefold() not in taken and spec.name_zh not in taken]
    wanted = max(MIN_CANDIDATES, min(MAX_CANDIDATES, len(own) + 4))
    return (own + extras)[:wanted]


def _answer(
    survey: FactorSurvey, *, rng: np.random.Generator, share: float, at: datetime, skip: User | None = None
) -> int:
    """A share of the invited rank the candidates: the category's own factors matter most to most buyers."""
    candidates = list(survey.candidates.order_by("position", "id"))
    own = set(Factor.objects.filter(category=survey.category, active=True).values_list("name_en", flat=True))
    base = np.array([2.0 - 0.1 * i if c.name_en in own else 0.8 - 0.1 * i for i, c in enumerate(candidates)])
    answered = 0
    invitations = SurveyInvitation.objects.filter(survey=survey).select_related("survey", "user").order_by("pk")
    for invitation in invitations:
        if (skip is not None and invitation.user_id == skip.pk) or rng.random() >= share:
            continue
        noisy = base + rng.gumbel(scale=0.6, size=len(candidates))
        order = [candidates[i].pk for i in np.argsort(-noisy)]
        suggestion = str(rng.choice(SUGGESTIONS)) if rng.random() < SUGGESTION_SHARE else ""
        surveys.response_submit(
            invitation=invitation, user=invitation.user, ranking=order, suggestion=suggestion, now=at
        )
        answered += 1
    return answered


def demo_surveys_seed(*, seed: int, buyer_email: str) -> DemoSurveys | None:
    """An adopted survey of one rating-ready category (answered three months ago, its picks now the
    category's factors) and an open survey of a category the demo buyer bought from, unanswered by them."""
    rng = np.random.default_rng([seed, 19])
    now = timezone.now()
    policy = policy_get()
    buyer = User.objects.filter(email=buyer_email).first()
    bought = (
        OrderLine.objects.filter(
            buyer=buyer,
            status=OrderLine.Status.PAID,
            paid_at__gte=now - timedelta(days=policy.purchase_days),
            paid_at__lte=now - timedelta(days=policy.use_days),
        )
        .order_by("product__category__position", "product__category_id")
        .values_list("product__category_id", flat=True)
        .first()
    )
    if bought is None:
        return None
    ready = Category.objects.filter(rating_ready=True).annotate(n=Count("products")).filter(n__gt=0)
    adopted_category = ready.exclude(pk=bought).order_by("position", "id").first()
    open_category = Category.objects.filter(pk=bought).first()
    if adopted_category is None or open_category is None:
        return None

    # Surveyed three months ago; staff adopted the category's own factors as the buyers ranked them.
    past = surveys.survey_create(
        category=adopted_category,
        candidates=_candidates(adopted_category),
        opens_at=now - timedelta(days=120),
        closes_at=now - timedelta(days=90),
    )
    surveys.survey_open(survey=past, now=past.opens_at)
    _answer(past, rng=rng, share=ANSWER_SHARE, at=past.opens_at + timedelta(days=5))
    surveys.survey_close(survey=past)
    own = set(Factor.objects.filter(category=adopted_category, active=True).values_list("name_en", flat=True))
    ranked = [row.candidate for row in surveys.survey_results(past).ranked]
    surveys.survey_adopt(survey=past, candidate_ids=[c.pk for c in ranked if c.name_en in own])
    past.refresh_from_db()

    current = surveys.survey_create(
        category=open_category,
        candidates=_candidates(open_category),
        opens_at=now - timedelta(days=3),
        closes_at=now + timedelta(days=25),
    )
    invited = surveys.survey_open(survey=current, now=now)
    _answer(current, rng=rng, share=OPEN_ANSWER_SHARE, at=now, skip=buyer)
    return DemoSurveys(
        adopted_category=str(adopted_category),
        adopted_respondents=past.respondent_count,
        open_category=str(open_category),
        open_invited=invited,
    )
