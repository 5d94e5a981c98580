"""Factor surveys: staff propose candidate factors, the category's buyers rank them, staff adopt the top.

The services here are the only writers of surveys (admin and the respondent page call them):

- ``survey_create`` checks the candidates (8 to 15) and the policy's interval: a category is surveyed
  at most once per ``RatingPolicy.survey_interval_days`` (yearly by default).
- ``survey_open`` invites every buyer the rating job would invite, over the whole category: a genuine
  purchase of any of its products within the policy's purchase window, by an experienced, active
  account (``eligibility.GENUINE_PURCHASE_SQL`` and ``ELIGIBLE_BUYER_SQL``, shared with rating).
- ``response_submit`` stores one answer per invitation; the database refuses a second one (the
  response is unique per invitation, which is unique per survey and user), and the race is an outcome.
- ``survey_adopt`` makes staff's 5 to 10 picks the category's active factors and records the survey on
  the category. Running campaigns keep their frozen factors (``CampaignFactor`` rows are copies).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from accounts.header import header_forget
from accounts.models import Notification, User
from catalog import page_cache
from catalog.models import Category, Factor, Product
from catalog.stakes import is_brand_account
from ratings.eligibility import ELIGIBLE_BUYER_SQL, GENUINE_PURCHASE_SQL, buyer_window_params, policy_get
from ratings.models import FactorSurvey, SurveyCandidate, SurveyInvitation, SurveyRank, SurveyResponse
from ratings.models.surveys import MAX_ADOPTED, MAX_CANDIDATES, MIN_ADOPTED, MIN_CANDIDATES
from ratings.survey_ranking import SurveyRanking, borda_ranking

SUGGESTION_MAX_LENGTH = 120


class SurveyError(Exception):
    """A request the rules refuse; ``message`` is shown to the person as it is."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class CandidateSpec:
    name_zh: str
    name_en: str
    description_zh: str = ""
    description_en: str = ""


def candidates_check(count: int) -> None:
    """Raise ``SurveyError`` unless a survey may offer this many candidates."""
    if not MIN_CANDIDATES <= count <= MAX_CANDIDATES:
        raise SurveyError(
            _("A survey offers %(min)d to %(max)d candidate factors; it has %(count)d.")
            % {"min": MIN_CANDIDATES, "max": MAX_CANDIDATES, "count": count}
        )


def survey_interval_check(*, category: Category, opens_at: datetime, exclude_id: int | None = None) -> None:
    """Raise ``SurveyError`` when another survey of the category opens within the policy's interval."""
    interval = timedelta(days=policy_get().survey_interval_days)
    others = FactorSurvey.objects.filter(
        category=category, opens_at__gt=opens_at - interval, opens_at__lt=opens_at + interval
    )
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    if others.exists():
        raise SurveyError(
            _("This category was surveyed less than %(days)d days before; it can be surveyed again later.")
            % {"days": interval.days}
        )


def survey_create(
    *, category: Category, candidates: Sequence[CandidateSpec], opens_at: datetime, closes_at: datetime
) -> FactorSurvey:
    """A draft survey of the category with these candidates, in this order.

    Refuses fewer than 8 or more than 15 candidates, and a second survey within the policy's interval;
    the database refuses a second draft or open survey of the category (turned into the same error).
    """
    candidates_check(len(candidates))
    if closes_at <= opens_at:
        raise SurveyError(_("A survey must close after it opens."))
    with transaction.atomic():
        survey_interval_check(category=category, opens_at=opens_at)
        try:
            with transaction.atomic():
                survey = FactorSurvey.objects.create(category=category, opens_at=opens_at, closes_at=closes_at)
        except IntegrityError:
            raise SurveyError(_("This category already has a survey in preparation or open.")) from None
        SurveyCandidate.objects.bulk_create(
            SurveyCandidate(survey=survey, position=position, **spec.__dict__)
            for position, spec in enumerate(candidates, start=1)
        )
    return survey


_SURVEY_INVITE_SQL = f"""
    INSERT INTO ratings_surveyinvitation (survey_id, user_id, purchase_id, created_at, updated_at)
    SELECT %(survey)s, ol.buyer_id, MAX(ol.id), %(now)s, %(now)s
    FROM catalog_orderline ol
    JOIN catalog_product p ON p.id = ol.product_id AND p.category_id = %(category)s
    {ELIGIBLE_BUYER_SQL}
    WHERE {GENUINE_PURCHASE_SQL}
        -- brands can never steer (catalog.stakes): an account linked to a brand or a store helps choose no factors
        AND NOT EXISTS (SELECT 1 FROM catalog_brandaccount ba WHERE ba.user_id = ol.buyer_id)
    GROUP BY ol.buyer_id
    ORDER BY ol.buyer_id
    ON CONFLICT (survey_id, user_id) DO NOTHING
"""  # noqa: S608 - built from module constants, no input  # nosec B608


def survey_open(*, survey: FactorSurvey, now: datetime | None = None) -> int:
    """Open a draft survey and invite the category's eligible buyers; return how many were invited.

    A claim by conditional update: of two staff opening the same draft at once, one opens it, the other
    gets an error. Invitations are one ``INSERT … SELECT`` with ``ON CONFLICT DO NOTHING``, so a re-run
    (``survey_invite``) adds only buyers who became eligible since.
    """
    now = now or timezone.now()
    candidates_check(survey.candidates.count())
    with transaction.atomic():
        opened = FactorSurvey.objects.filter(pk=survey.pk, status=FactorSurvey.Status.DRAFT).update(
            status=FactorSurvey.Status.OPEN, updated_at=now
        )
        if opened != 1:
            raise SurveyError(_("Only a survey in preparation can be opened."))
        survey.status = FactorSurvey.Status.OPEN
        return survey_invite(survey=survey, now=now)


def survey_invite(*, survey: FactorSurvey, now: datetime | None = None) -> int:
    """Invite the category's eligible buyers not invited yet; return how many were added."""
    now = now or timezone.now()
    params = {
        "survey": survey.pk,
        "category": survey.category_id,
        "now": now,
        **buyer_window_params(policy=policy_get(), now=now),
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_SURVEY_INVITE_SQL, params)
            added = max(int(cursor.rowcount), 0)
        _invited_tell(survey=survey)
    return added


def _invited_tell(*, survey: FactorSurvey) -> None:
    """One inbox message per invitation (the notification's uniqueness keeps a re-run from repeating it)."""
    category = survey.category
    context = {
        "category_zh": category.name_zh,
        "category_en": category.name_en,
        "closes": timezone.localtime(survey.closes_at).date().isoformat(),
    }
    url = reverse("ratings:survey", args=[survey.pk])
    invited = list(SurveyInvitation.objects.filter(survey=survey).values_list("pk", "user_id"))
    Notification.objects.bulk_create(
        (
            Notification(user_id=user_id, kind=Notification.Kind.SURVEY, subject_id=pk, url=url, context=context)
            for pk, user_id in invited
        ),
        batch_size=2000,
        ignore_conflicts=True,
    )
    header_forget(user_id for _pk, user_id in invited)


def survey_close(*, survey: FactorSurvey, now: datetime | None = None) -> bool:
    """Close an open survey; False when it was not open (a repeat closes nothing)."""
    now = now or timezone.now()
    closed = FactorSurvey.objects.filter(pk=survey.pk, status=FactorSurvey.Status.OPEN).update(
        status=FactorSurvey.Status.CLOSED, updated_at=now
    )
    return closed == 1


def surveys_close_due(*, now: datetime | None = None) -> int:
    """Close every open survey past its closing time (hourly, beat); returns how many it closed.

    One conditional UPDATE: a repeat, or two runs at once, close each survey once (the same claim as
    ``survey_close``, which staff use to close one early).
    """
    now = now or timezone.now()
    return FactorSurvey.objects.filter(status=FactorSurvey.Status.OPEN, closes_at__lte=now).update(
        status=FactorSurvey.Status.CLOSED, updated_at=now
    )


def survey_adoptable(survey: FactorSurvey, now: datetime | None = None) -> bool:
    """Whether staff may adopt factors from the survey now: closed, or open past its closing time."""
    now = now or timezone.now()
    return survey.status == FactorSurvey.Status.CLOSED or (
        survey.status == FactorSurvey.Status.OPEN and survey.closes_at <= now
    )


def survey_accepts_answers(survey: FactorSurvey, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return survey.status == FactorSurvey.Status.OPEN and survey.opens_at <= now < survey.closes_at


class ResponseStatus(enum.Enum):
    CREATED = "created"
    #: Another submission got there first (a double click, a second tab): nothing stored.
    ALREADY_ANSWERED = "already_answered"


@dataclass(frozen=True)
class ResponseOutcome:
    response: SurveyResponse
    status: ResponseStatus


def response_submit(
    *,
    invitation: SurveyInvitation,
    user: User,
    ranking: Sequence[int],
    suggestion: str = "",
    now: datetime | None = None,
) -> ResponseOutcome:
    """Store the invited buyer's ranking (candidate ids, most important first) and their own suggestion.

    Only the invitation's own user answers, while the survey is open, ranking every candidate once.
    One response per invitation is the database's unique constraint: of simultaneous submissions one
    is stored, the others return ``ALREADY_ANSWERED`` with the stored response (never a 500).
    """
    now = now or timezone.now()
    if invitation.user_id != user.pk:
        raise SurveyError(_("This survey invitation is not yours."))
    if user.is_banned:
        raise SurveyError(_("Your account cannot answer surveys."))
    if is_brand_account(user.pk):  # linked after it was invited: brands can never steer
        raise SurveyError(_("An account that speaks for a brand or a store does not help choose factors."))
    survey = invitation.survey
    if not survey_accepts_answers(survey, now):
        raise SurveyError(_("This survey is not taking answers."))
    candidate_ids = list(survey.candidates.values_list("pk", flat=True))
    if len(ranking) != len(candidate_ids) or set(ranking) != set(candidate_ids):
        raise SurveyError(_("Give every factor its own place, from 1 to %(count)d.") % {"count": len(candidate_ids)})
    suggestion = suggestion.strip()
    if len(suggestion) > SUGGESTION_MAX_LENGTH:
        raise SurveyError(_("Your own factor can be at most %(max)d characters.") % {"max": SUGGESTION_MAX_LENGTH})
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(invitation=invitation, suggestion=suggestion)
            SurveyRank.objects.bulk_create(
                SurveyRank(response=response, candidate_id=candidate_id, rank=place)
                for place, candidate_id in enumerate(ranking, start=1)
            )
    except IntegrityError:
        existing = SurveyResponse.objects.filter(invitation=invitation).first()
        if existing is None:
            raise
        return ResponseOutcome(response=existing, status=ResponseStatus.ALREADY_ANSWERED)
    return ResponseOutcome(response=response, status=ResponseStatus.CREATED)


# --- Results and adoption ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedCandidate:
    candidate: SurveyCandidate
    points: int
    firsts: int
    top_three: int
    mean_rank: float


@dataclass(frozen=True)
class SurveyResults:
    method: str
    respondents: int
    invited: int
    agreement: float | None
    ranked: list[RankedCandidate]
    #: The buyers' own factors, each with how many suggested it in those words, most frequent first.
    suggestions: list[tuple[str, int]]


def survey_results(survey: FactorSurvey) -> SurveyResults:
    """The survey's ranking (Borda count) with its counts and agreement (Kendall's W); four queries."""
    candidates = {candidate.pk: candidate for candidate in survey.candidates.all()}
    by_response: dict[int, list[tuple[int, int]]] = {}
    for response_id, candidate_id, rank in SurveyRank.objects.filter(response__invitation__survey=survey).values_list(
        "response_id", "candidate_id", "rank"
    ):
        by_response.setdefault(response_id, []).append((rank, candidate_id))
    rankings = [[candidate for _rank, candidate in sorted(places)] for places in by_response.values()]
    ranking: SurveyRanking = borda_ranking(list(candidates), rankings)
    suggestions = [
        (row["suggestion"], row["n"])
        for row in SurveyResponse.objects.filter(invitation__survey=survey)
        .exclude(suggestion="")
        .values("suggestion")
        .annotate(n=Count("pk"))
        .order_by("-n", "suggestion")
    ]
    return SurveyResults(
        method=str(_("Borda count (a first place earns n − 1 points, a last place 0); agreement: Kendall's W")),
        respondents=ranking.respondents,
        invited=survey.invitations.count(),
        agreement=ranking.agreement,
        ranked=[
            RankedCandidate(
                candidate=candidates[tally.candidate],
                points=tally.points,
                firsts=tally.firsts,
                top_three=tally.top_three,
                mean_rank=tally.mean_rank,
            )
            for tally in ranking.tallies
        ],
        suggestions=suggestions,
    )


def survey_adopt(*, survey: FactorSurvey, candidate_ids: Sequence[int], now: datetime | None = None) -> Category:
    """Make the picked candidates (5 to 10, in this order) the category's active factors.

    A factor whose English name (or slug) matches a pick's is updated and kept active, so its history
    stays attached; the category's other factors are deactivated, as staff would in the category admin.
    Running campaigns are untouched: their factors were copied when they opened. The survey must be
    closed (or open past its closing time); the claim is a conditional update, so two staff adopting
    at once adopt once. The category records the survey and how many buyers answered it.
    """
    now = now or timezone.now()
    picks = list(dict.fromkeys(candidate_ids))
    if not MIN_ADOPTED <= len(picks) <= MAX_ADOPTED:
        raise SurveyError(
            _("Pick %(min)d to %(max)d factors; %(count)d were picked.")
            % {"min": MIN_ADOPTED, "max": MAX_ADOPTED, "count": len(picks)}
        )
    with transaction.atomic():
        claimed = (
            FactorSurvey.objects.filter(pk=survey.pk, closes_at__lte=now, status=FactorSurvey.Status.OPEN)
            | FactorSurvey.objects.filter(pk=survey.pk, status=FactorSurvey.Status.CLOSED)
        ).update(
            status=FactorSurvey.Status.ADOPTED,
            adopted_at=now,
            respondent_count=SurveyResponse.objects.filter(invitation__survey_id=survey.pk).count(),
            updated_at=now,
        )
        if claimed != 1:
            raise SurveyError(_("Only a closed survey's factors can be adopted, once."))
        candidates = {c.pk: c for c in SurveyCandidate.objects.filter(survey=survey, pk__in=picks)}
        if len(candidates) != len(picks):
            raise SurveyError(_("Pick only this survey's candidates."))
        category = Category.objects.select_for_update().get(pk=survey.category_id)
        factors = list(Factor.objects.filter(category=category))
        by_slug = {factor.slug: factor for factor in factors}
        by_name = {factor.name_en.casefold(): factor for factor in factors}
        kept: list[int] = []
        for position, pk in enumerate(picks, start=1):
            candidate = candidates[pk]
            slug = slugify(candidate.name_en)[:60] or f"factor-{candidate.pk}"
            factor = (
                by_slug.get(slug) or by_name.get(candidate.name_en.casefold()) or Factor(category=category, slug=slug)
            )
            factor.name_zh, factor.name_en = candidate.name_zh, candidate.name_en
            factor.description_zh, factor.description_en = candidate.description_zh, candidate.description_en
            factor.position, factor.active = position, True
            factor.save()
            kept.append(factor.pk)
        Factor.objects.filter(category=category, active=True).exclude(pk__in=kept).update(active=False, updated_at=now)
        SurveyCandidate.objects.filter(survey=survey, pk__in=picks).update(adopted=True, updated_at=now)
        category.factors_survey_id = survey.pk
        category.save(update_fields=["factors_survey", "updated_at"])
        # Product pages say where the factors came from: their cached copies go once this commits.
        product_ids = list(Product.objects.filter(category=category).values_list("pk", flat=True))
        transaction.on_commit(lambda: page_cache.forget(product_ids))
    survey.refresh_from_db()
    return category


# --- Reads of the respondent's page ------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyPage:
    invitation: SurveyInvitation
    candidates: list[SurveyCandidate]
    #: The person's answer, with its places, once they have answered.
    response: SurveyResponse | None
    ranked: list[SurveyCandidate]


def survey_page(*, user: User, survey_id: int) -> SurveyPage | None:
    """The user's invitation to this survey with its candidates and their answer; None when not invited.

    Three queries, however many candidates.
    """
    invitation = (
        SurveyInvitation.objects.select_related("survey__category").filter(user=user, survey_id=survey_id).first()
    )
    if invitation is None:
        return None
    candidates = list(invitation.survey.candidates.order_by("position", "id"))
    response = SurveyResponse.objects.filter(invitation=invitation).first()
    ranked: list[SurveyCandidate] = []
    if response is not None:
        by_id = {candidate.pk: candidate for candidate in candidates}
        ranked = [
            by_id[candidate_id]
            for candidate_id in SurveyRank.objects.filter(response=response)
            .order_by("rank")
            .values_list("candidate_id", flat=True)
        ]
    return SurveyPage(invitation=invitation, candidates=candidates, response=response, ranked=ranked)


def user_open_surveys(*, user: User, now: datetime | None = None) -> list[SurveyInvitation]:
    """The user's invitations to open surveys they have not answered yet (one query)."""
    now = now or timezone.now()
    return list(
        SurveyInvitation.objects.select_related("survey__category")
        .filter(
            user=user,
            survey__status=FactorSurvey.Status.OPEN,
            survey__opens_at__lte=now,
            survey__closes_at__gt=now,
            response__isnull=True,
        )
        .order_by("survey__closes_at", "pk")
    )
