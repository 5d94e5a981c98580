from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.bilingual import BilingualName, in_language
from catalog.models import Category, Factor, OrderLine, Product


class RatingPolicy(models.Model):
    """The figures the eligibility job works with; one row, edited by staff in admin."""

    popularity_days = models.PositiveSmallIntegerField(
        _("popularity window (days)"), default=90, help_text=_("Likes and saves of notes within this window count.")
    )
    sales_days = models.PositiveSmallIntegerField(
        _("sales window (days)"), default=365, help_text=_("Genuine units sold within this window count.")
    )
    purchase_days = models.PositiveSmallIntegerField(
        _("purchase window (days)"), default=365, help_text=_("Buyers who purchased within this window are invited.")
    )
    popularity_weight = models.DecimalField(
        _("weight of popularity"),
        max_digits=3,
        decimal_places=2,
        default=0.5,
        help_text=_("Share of community popularity in the selection score; sales take the rest."),
    )
    min_units_sold = models.PositiveIntegerField(_("minimum units sold"), default=20)
    min_engagement = models.PositiveIntegerField(_("minimum likes and saves"), default=0)
    products_per_category = models.PositiveSmallIntegerField(_("products per category"), default=35)
    campaign_days = models.PositiveSmallIntegerField(_("campaign length (days)"), default=30)
    invitation_days = models.PositiveSmallIntegerField(_("invitation lifetime (days)"), default=14)
    max_open_invitations = models.PositiveSmallIntegerField(
        _("open invitations per user"), default=5, help_text=_("A user is never asked to rate more at once.")
    )
    active_days = models.PositiveSmallIntegerField(
        _("active user: seen within (days)"), default=90, help_text=_("Users not seen for longer are not invited.")
    )
    min_votes_to_publish = models.PositiveSmallIntegerField(
        _("counted votes needed to publish"),
        default=30,
        help_text=_("A product's score is shown once its campaign has this many counted votes. Categories may differ."),
    )
    prior_strength = models.PositiveSmallIntegerField(
        _("prior strength (votes)"),
        default=20,
        help_text=_(
            "The ranking score pulls each product toward its category's average as if it had this many "
            "extra votes at that average, so a few enthusiastic votes cannot top the list."
        ),
    )
    list_threshold = models.DecimalField(
        _("Little Red Heart threshold"),
        max_digits=3,
        decimal_places=2,
        default=4.0,
        help_text=_("Published products whose ranking score reaches this join the Little Red Heart list."),
    )
    list_size = models.PositiveSmallIntegerField(
        _("list places per category"), default=10, help_text=_("At most this many products per category are listed.")
    )
    score_window_days = models.PositiveSmallIntegerField(
        _("score window (days)"),
        default=365,
        help_text=_(
            "A product's score comes from the counted votes submitted or confirmed within this window, across all "
            "its campaigns: a new campaign adds votes, it never wipes the earlier ones."
        ),
    )
    use_days = models.PositiveSmallIntegerField(
        _("use period (days)"),
        default=14,
        help_text=_("Buyers are invited only once this many days have passed since payment, so they have tried it."),
    )
    min_account_days = models.PositiveSmallIntegerField(
        _("experienced user: account age (days)"),
        default=30,
        help_text=_("Only accounts at least this old are invited (besides being seen within the activity window)."),
    )
    rescore_delay_seconds = models.PositiveSmallIntegerField(
        _("re-score delay (seconds)"),
        default=60,
        help_text=_("Votes arriving within this time after the first are scored together, in one re-score."),
    )
    survey_interval_days = models.PositiveSmallIntegerField(
        _("factor survey interval (days)"),
        default=365,
        help_text=_("A category's buyers are surveyed about its factors at most once in this many days."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("rating policy")
        verbose_name_plural = _("rating policy")
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="ratingpolicy_single_row"),
            models.CheckConstraint(
                condition=Q(popularity_weight__gte=0, popularity_weight__lte=1), name="ratingpolicy_weight_share"
            ),
            models.CheckConstraint(
                condition=Q(list_threshold__gte=1, list_threshold__lte=5), name="ratingpolicy_threshold_on_scale"
            ),
            models.CheckConstraint(
                condition=Q(
                    popularity_days__gte=1,
                    sales_days__gte=1,
                    purchase_days__gte=1,
                    products_per_category__gte=1,
                    campaign_days__gte=1,
                    invitation_days__gte=1,
                    max_open_invitations__gte=1,
                    active_days__gte=1,
                    min_votes_to_publish__gte=1,
                    list_size__gte=1,
                    score_window_days__gte=1,
                    survey_interval_days__gte=1,
                ),
                name="ratingpolicy_positive_figures",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Rating policy"))


class EligibilityRun(models.Model):
    """One run of the eligibility job: what it did per category, and what went wrong."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Finished with errors")

    run_date = models.DateField(_("run date"))
    triggered_by = models.CharField(_("triggered by"), max_length=60)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    campaigns_opened = models.PositiveIntegerField(_("campaigns opened"), default=0)
    invitations_created = models.PositiveIntegerField(_("invitations created"), default=0)
    # The Celery task that started the run: a redelivered message (same task id) continues this run.
    task_id = models.CharField(_("task id"), max_length=255, blank=True, default="")
    resumes = models.PositiveSmallIntegerField(
        _("resumed"), default=0, help_text=_("How often the sweep sent the unfinished steps of a stalled run again.")
    )
    resumed_at = models.DateTimeField(_("last resumed at"), null=True, blank=True)
    error = models.TextField(
        _("why it stopped"), blank=True, help_text=_("Set when the sweep gave up on a run that made no progress.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("eligibility run")
        verbose_name_plural = _("eligibility runs")
        ordering = ("-started_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["task_id"], condition=~models.Q(task_id=""), name="eligibilityrun_task_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.run_date} ({self.get_status_display()})"


class EligibilityRunCategory(models.Model):
    """The part of a run that handled one category (one Celery task of the group)."""

    run = models.ForeignKey(EligibilityRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="categories")
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    products_considered = models.PositiveIntegerField(_("products considered"), default=0)
    campaigns_opened = models.PositiveIntegerField(_("campaigns opened"), default=0)
    invitations_created = models.PositiveIntegerField(_("invitations created"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("eligibility run category")
        verbose_name_plural = _("eligibility run categories")
        ordering = ("run_id", "category_id")
        constraints = [models.UniqueConstraint(fields=["run", "category"], name="eligibilityruncategory_unique")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.category_id}"


class Campaign(models.Model):
    """A product opened for rating, with the category's factors frozen at opening.

    Its life: open (taking votes) → closed (past its closing time, by the eligibility job) → scored (a full
    scoring run has read every vote it gathered). Its votes keep counting for the product after it closes,
    within the policy's score window.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        SCORED = "scored", _("Scored")
        CANCELLED = "cancelled", _("Cancelled")

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="campaigns")
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="campaigns"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    run = models.ForeignKey(
        EligibilityRun, verbose_name=_("opened by run"), null=True, blank=True, on_delete=models.SET_NULL
    )
    # Why the product was selected, as measured when the campaign opened.
    selection_rank = models.PositiveIntegerField(_("rank in category"))
    selection_score = models.FloatField(_("selection score"))
    engagement_count = models.PositiveIntegerField(_("recent likes and saves"))
    units_sold = models.PositiveIntegerField(_("units sold in the window"))
    #: Set when a vote or a decision changed what the product's score is made of; cleared by the re-score
    #: that claims it. A sweep re-scores flags older than the debounce delay, so a lost task is repaired.
    rescore_requested_at = models.DateTimeField(_("re-score requested at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ("-opens_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["product"], condition=Q(status="open"), name="campaign_one_open_per_product"
            ),
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="campaign_closes_after_opening"),
        ]
        indexes = [
            models.Index(fields=["category", "status"], name="campaign_category_status_idx"),
            models.Index(
                fields=["rescore_requested_at"],
                condition=Q(rescore_requested_at__isnull=False),
                name="campaign_rescore_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} ({self.get_status_display()})"

    def accepts_votes(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.OPEN and self.opens_at <= now < self.closes_at


class CampaignFactor(BilingualName):
    """A factor as it stood when its campaign opened: later edits of the category do not touch it."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="factors")
    factor = models.ForeignKey(
        Factor, verbose_name=_("factor"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    description_zh = models.CharField(_("description (Chinese)"), max_length=300, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign factor")
        verbose_name_plural = _("campaign factors")
        ordering = ("campaign_id", "position", "id")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "factor"], name="campaignfactor_unique"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="campaignfactor_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def description(self) -> str:
        return in_language(self.description_zh, self.description_en)


class Invitation(models.Model):
    """An invitation to one genuine buyer to rate one campaign's product."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        VOTED = "voted", _("Voted")
        REVOKED = "revoked", _("Revoked: purchase refunded")

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="invitations", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="invitations"
    )
    purchase = models.ForeignKey(
        OrderLine,
        verbose_name=_("qualifying purchase"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The genuine purchase that earned the invitation."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    expires_at = models.DateTimeField(_("expires at"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    #: Which run created it, for the run's counts and notifications. Without a database constraint: a
    #: foreign key checks every inserted row at commit (2.6M checks of the one run row at full scale,
    #: a row the job holds locked for the whole insert anyway), and the column is only a record. Runs
    #: are not deleted by the application; Django still sets the link to NULL when one is deleted.
    run = models.ForeignKey(
        EligibilityRun,
        verbose_name=_("run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="invitation_one_per_user_and_campaign"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="invitation_expires_after_creation"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status", "expires_at"], name="invitation_user_open_idx"),
            # A full run finds the campaigns invited to since the last run (``scoring._carry_over_unchanged``).
            models.Index(fields=["campaign", "created_at"], name="invitation_campaign_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.campaign_id}"

    def get_absolute_url(self) -> str:
        return reverse("ratings:invitation", kwargs={"pk": self.pk})

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.status == self.Status.PENDING and self.expires_at <= (now or timezone.now())


class Vote(models.Model):
    """One verified purchaser's rating of one product: one person, one vote, for ever.

    A re-invitation in a later campaign lets its author confirm or amend it; either way the vote moves to
    that campaign (whose frozen factors its scores now use) and the earlier state is kept as a revision.
    """

    class Verdict(models.TextChoices):
        COUNTED = "counted", _("Counted")
        REVIEW = "review", _("Held for review")
        EXCLUDED = "excluded", _("Excluded")

    class ExclusionReason(models.TextChoices):
        SCREENING = "screening", _("Screening")
        MODERATION = "moderation", _("Moderation decision")
        REFUND = "refund", _("Purchase refunded")
        STAKE = "stake", _("Given before the account was linked to the product's brand or store")

    #: The campaign whose factors the current scores use: where it was last submitted or confirmed.
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="votes", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="votes"
    )
    invitation = models.OneToOneField(
        Invitation, verbose_name=_("invitation"), on_delete=models.CASCADE, related_name="vote"
    )
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="votes")
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    # What screening needs, and nothing more personal than the platform already holds.
    seconds_to_fill = models.PositiveIntegerField(_("seconds to fill the form"), null=True, blank=True)
    ip_hash = models.CharField(_("network fingerprint"), max_length=64, blank=True)
    user_agent_hash = models.CharField(_("device fingerprint"), max_length=64, blank=True)
    revision_count = models.PositiveSmallIntegerField(_("amendments"), default=0)
    # Only counted votes score, each with weight 1; screening and moderation exclude, never down-weight.
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices, default=Verdict.COUNTED)
    exclusion_reason = models.CharField(_("excluded by"), max_length=12, choices=ExclusionReason.choices, blank=True)
    #: When the current scores were submitted or last confirmed: the score window counts from here.
    submitted_at = models.DateTimeField(_("submitted or confirmed at"), default=timezone.now)
    #: When its author last amended it (a confirmation, unchanged, is not an amendment): shown on the review.
    amended_at = models.DateTimeField(_("last amended at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["product", "user"], name="vote_one_per_user_and_product"),
            models.CheckConstraint(condition=Q(submitted_at__gte=F("created_at")), name="vote_submitted_after_created"),
            models.CheckConstraint(
                condition=(Q(verdict="excluded") & ~Q(exclusion_reason=""))
                | (~Q(verdict="excluded") & Q(exclusion_reason="")),
                name="vote_excluded_has_reason",
            ),
        ]
        indexes = [
            # The scoring job skips the few votes that do not count with an anti-join on this small index.
            models.Index(fields=["product", "id"], condition=~Q(verdict="counted"), name="vote_not_counted_idx"),
            # Scoring reads a product's votes by window: counts come from this index alone (its INCLUDE
            # columns), and the few votes it must look at closely (submitted before the window, changed
            # after the cut-off, not counted) from three small range scans OR-ed together. Measured at full
            # scale (bench/scoring.py): the job's database time 55.6 s without them, 36.3 s with them.
            models.Index(
                fields=["product", "submitted_at"],
                include=["verdict", "updated_at", "created_at"],
                name="vote_product_window_idx",
            ),
            models.Index(fields=["product", "updated_at"], name="vote_product_updated_idx"),
            # A vote's own screening reads every vote through its rater's networks (or, without one, devices)
            # to judge shared fingerprints across categories (moderation.screening.fingerprint_groups).
            models.Index(fields=["ip_hash"], condition=~Q(ip_hash=""), name="vote_network_idx"),
            models.Index(fields=["user_agent_hash"], condition=Q(ip_hash=""), name="vote_device_no_network_idx"),
            # The screening sweep looks only at the last days' votes.
            models.Index(fields=["created_at"], name="vote_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.campaign_id}"

    @property
    def mean_score(self) -> float | None:
        """The rater's own average over the factors (uses prefetched scores)."""
        scores = [row.score for row in self.scores.all()]
        return sum(scores) / len(scores) if scores else None


class FactorScore(models.Model):
    """A vote's 1–5 score of one frozen factor. The product is carried for the scoring job."""

    vote = models.ForeignKey(Vote, verbose_name=_("vote"), on_delete=models.CASCADE, related_name="scores")
    factor = models.ForeignKey(
        CampaignFactor, verbose_name=_("factor"), on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    score = models.PositiveSmallIntegerField(_("score"))

    class Meta:
        verbose_name = _("factor score")
        verbose_name_plural = _("factor scores")
        ordering = ("vote_id", "factor_id")
        constraints = [
            models.UniqueConstraint(fields=["vote", "factor"], name="factorscore_one_per_factor"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="factorscore_in_range"),
        ]
        indexes = [models.Index(fields=["product", "factor"], name="factorscore_product_idx")]

    def __str__(self) -> str:
        return f"{self.factor_id}: {self.score}"


class ReviewHelpful(models.Model):
    """A reader's mark that a review (a counted vote's comment) helped them: one per reader and review,
    never on their own. ``author`` copies the vote's author so the database itself can refuse a self-mark."""

    vote = models.ForeignKey(Vote, verbose_name=_("vote"), on_delete=models.CASCADE, related_name="helpful_marks")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("helpful mark")
        verbose_name_plural = _("helpful marks")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["vote", "user"], name="reviewhelpful_once_per_reader"),
            models.CheckConstraint(condition=~Q(user=F("author")), name="reviewhelpful_not_own_review"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} found {self.vote_id} helpful"


class VoteRevision(models.Model):
    """A vote as it stood before an amendment or a confirmation; every one is kept, so a scoring run can read
    the vote as it stood at its cut-off (``submitted_at`` is when this state was submitted)."""

    vote = models.ForeignKey(Vote, verbose_name=_("vote"), on_delete=models.CASCADE, related_name="revisions")
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    scores = models.JSONField(_("factor scores"), help_text="{campaign factor id: score}")
    comment = models.TextField(_("comment"), blank=True)
    seconds_to_fill = models.PositiveIntegerField(_("seconds to fill in"), null=True, blank=True)
    ip_hash = models.CharField(_("network fingerprint"), max_length=64, blank=True)
    user_agent_hash = models.CharField(_("device fingerprint"), max_length=64, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("vote revision")
        verbose_name_plural = _("vote revisions")
        ordering = ("vote_id", "submitted_at")
        indexes = [models.Index(fields=["vote", "submitted_at"], name="voterevision_vote_time_idx")]

    def __str__(self) -> str:
        return f"{self.vote_id} @ {self.submitted_at}"


class VoteVerdictChange(models.Model):
    """Every change of a vote's verdict, with its time, so a scoring run can read verdicts as of its cut-off.

    Written by database triggers (migration ``0004``), not by code: the verdict is changed in bulk by
    screening, moderation and refunds, and a trigger sees every one of those writes. The time is the vote's
    ``updated_at`` as the changing statement set it.
    """

    vote = models.ForeignKey(
        Vote, verbose_name=_("vote"), on_delete=models.CASCADE, related_name="verdict_changes", db_index=False
    )
    verdict = models.CharField(_("verdict"), max_length=10, choices=Vote.Verdict.choices)
    exclusion_reason = models.CharField(_("exclusion reason"), max_length=12, blank=True)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("verdict change")
        verbose_name_plural = _("verdict changes")
        ordering = ("vote_id", "changed_at", "id")
        indexes = [models.Index(fields=["vote", "changed_at"], name="verdictchange_vote_time_idx")]

    def __str__(self) -> str:
        return f"{self.vote_id}: {self.verdict} @ {self.changed_at}"
