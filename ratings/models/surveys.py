"""Factor surveys: the category's buyers rank staff's candidate factors, and staff adopt the top ones."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.bilingual import BilingualName, in_language
from catalog.models import RATING_READY_MAX_FACTORS, RATING_READY_MIN_FACTORS, Category, OrderLine

#: A survey offers this many candidates, at least and at most (services and admin check it).
MIN_CANDIDATES = 8
MAX_CANDIDATES = 15
#: Staff adopt this many of them as the category's factors (a rating-ready category's range).
MIN_ADOPTED = RATING_READY_MIN_FACTORS
MAX_ADOPTED = RATING_READY_MAX_FACTORS


class FactorSurvey(models.Model):
    """A survey of one category's buyers about which factors its products should be rated on.

    Its life: draft (staff write the candidates) → open (buyers invited, answering) → closed → adopted
    (staff picked the category's factors from its ranking). One draft or open survey per category.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        ADOPTED = "adopted", _("Adopted")

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="factor_surveys"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    adopted_at = models.DateTimeField(_("adopted at"), null=True, blank=True)
    #: How many buyers answered, as counted when staff adopted the factors: what the pages cite.
    respondent_count = models.PositiveIntegerField(_("buyers who answered"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("factor survey")
        verbose_name_plural = _("factor surveys")
        ordering = ("-opens_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="factorsurvey_closes_after_opening"),
            models.UniqueConstraint(
                fields=["category"],
                condition=Q(status__in=["draft", "open"]),
                name="factorsurvey_one_running_per_category",
            ),
            models.CheckConstraint(
                condition=Q(status="adopted", adopted_at__isnull=False)
                | (~Q(status="adopted") & Q(adopted_at__isnull=True)),
                name="factorsurvey_adopted_at_iff_adopted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.opens_at:%Y-%m-%d} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("ratings:survey", kwargs={"pk": self.pk})


class SurveyCandidate(BilingualName):
    """One factor staff propose in a survey, in both languages."""

    survey = models.ForeignKey(
        FactorSurvey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="candidates"
    )
    description_zh = models.CharField(_("description (Chinese)"), max_length=300, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    adopted = models.BooleanField(_("adopted as a factor"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("survey candidate")
        verbose_name_plural = _("survey candidates")
        ordering = ("survey_id", "position", "id")
        constraints = [
            models.UniqueConstraint(fields=["survey", "name_en"], name="surveycandidate_unique_name_en"),
            models.UniqueConstraint(fields=["survey", "name_zh"], name="surveycandidate_unique_name_zh"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def description(self) -> str:
        return in_language(self.description_zh, self.description_en)


class SurveyInvitation(models.Model):
    """An invitation to one verified purchaser of the category to answer its survey."""

    survey = models.ForeignKey(
        FactorSurvey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="invitations", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="survey_invitations"
    )
    purchase = models.ForeignKey(
        OrderLine,
        verbose_name=_("qualifying purchase"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The genuine purchase in the category that earned the invitation."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["survey", "user"], name="surveyinvitation_one_per_user_and_survey"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.survey_id}"


class SurveyResponse(models.Model):
    """One invited buyer's answer: their ranking of every candidate, and perhaps a factor of their own.

    A response hangs on its invitation, which is unique per (survey, user): so only the invited answer,
    and each person answers a survey once, both guaranteed by the database.
    """

    invitation = models.OneToOneField(
        SurveyInvitation, verbose_name=_("invitation"), on_delete=models.PROTECT, related_name="response"
    )
    suggestion = models.CharField(_("own suggestion"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.invitation}"


class SurveyRank(models.Model):
    """Where one response placed one candidate: 1 is the most important."""

    response = models.ForeignKey(
        SurveyResponse, verbose_name=_("response"), on_delete=models.CASCADE, related_name="ranks"
    )
    candidate = models.ForeignKey(
        SurveyCandidate, verbose_name=_("candidate"), on_delete=models.CASCADE, related_name="ranks"
    )
    rank = models.PositiveSmallIntegerField(_("rank"))

    class Meta:
        verbose_name = _("survey rank")
        verbose_name_plural = _("survey ranks")
        ordering = ("response_id", "rank")
        constraints = [
            models.UniqueConstraint(fields=["response", "candidate"], name="surveyrank_one_per_candidate"),
            models.UniqueConstraint(fields=["response", "rank"], name="surveyrank_one_candidate_per_place"),
            models.CheckConstraint(condition=Q(rank__gte=1, rank__lte=MAX_CANDIDATES), name="surveyrank_rank_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id} #{self.rank}"
