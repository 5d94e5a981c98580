"""What the scoring job writes: versioned results per product and factor, and the list snapshots.

Results are never updated in place. Each run writes a new ``ProductResult`` for every product whose
figures changed and moves the ``is_latest`` mark to it; staff see the history, shoppers the latest.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.bilingual import in_language
from catalog.models import Category, Factor, Product
from ratings.models.voting import Campaign, CampaignFactor


class ScoringRun(models.Model):
    """One run of the scoring job: the nightly full run, or the re-score of one product."""

    class Kind(models.TextChoices):
        FULL = "full", _("Full run")
        PRODUCT = "product", _("One product")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Finished with errors")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    triggered_by = models.CharField(_("triggered by"), max_length=60)
    method_version = models.CharField(_("method version"), max_length=20)
    data_cutoff = models.DateTimeField(
        _("data cut-off"),
        help_text=_(
            "Votes are read as they stood at this time: later votes, amendments and verdicts are not included."
        ),
    )
    score_window_days = models.PositiveSmallIntegerField(
        _("score window (days)"),
        null=True,
        blank=True,
        help_text=_("Votes submitted or confirmed within this many days before the cut-off counted."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    products_scored = models.PositiveIntegerField(_("products scored"), default=0)
    products_changed = models.PositiveIntegerField(_("results written"), default=0)
    products_published = models.PositiveIntegerField(_("products published"), default=0)
    products_listed = models.PositiveIntegerField(_("products on the list"), default=0)
    # The Celery task that started a full run: a redelivered message (same task id) continues this run.
    task_id = models.CharField(_("task id"), max_length=255, blank=True, default="")
    resumes = models.PositiveSmallIntegerField(
        _("resumed"),
        default=0,
        help_text=_("How often the sweep sent the unfinished categories of a stalled run again."),
    )
    resumed_at = models.DateTimeField(_("last resumed at"), null=True, blank=True)
    input_fingerprint = models.CharField(
        _("input fingerprint"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text=_("SHA-256 of the run's canonical input (docs/verify.md); empty until the run finishes."),
    )
    error = models.TextField(
        _("why it stopped"), blank=True, help_text=_("Set when the sweep gave up on a run that made no progress.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("scoring run")
        verbose_name_plural = _("scoring runs")
        ordering = ("-started_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["task_id"], condition=~Q(task_id=""), name="scoringrun_task_unique")
        ]
        indexes = [models.Index(fields=["started_at"], condition=Q(status="running"), name="scoringrun_running_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"


class ScoringRunCategory(models.Model):
    """The part of a run that scored one category; its prior is what product re-scores use until the next."""

    run = models.ForeignKey(ScoringRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="categories")
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="+")
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    prior = models.FloatField(
        _("category prior"), null=True, blank=True, help_text=_("The average counted vote of the category.")
    )
    products_scored = models.PositiveIntegerField(_("products scored"), default=0)
    products_changed = models.PositiveIntegerField(_("products changed"), default=0)
    products_published = models.PositiveIntegerField(_("products published"), default=0)
    products_listed = models.PositiveIntegerField(_("products listed"), default=0)
    input_fingerprint = models.CharField(_("input fingerprint"), max_length=64, blank=True, default="", db_default="")
    settings_digest = models.CharField(
        _("settings digest"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text=_(
            "SHA-256 of what the category was scored with besides its votes: method, policy, campaigns, factors."
        ),
    )
    carried_from = models.ForeignKey(
        ScoringRun,
        verbose_name=_("carried over from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Nothing of the category had changed since this run: its figures, list and reliability were kept."),
    )
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("scoring run category")
        verbose_name_plural = _("scoring run categories")
        ordering = ("run_id", "category_id")
        constraints = [models.UniqueConstraint(fields=["run", "category"], name="scoringruncategory_unique")]
        indexes = [models.Index(fields=["category", "finished_at"], name="scoringruncategory_prior_idx")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.category_id}"


class ProductResult(models.Model):
    """A product's figures as one run computed them: its counted votes within the score window, across its
    campaigns, on the factors of its latest campaign (``campaign``)."""

    run = models.ForeignKey(ScoringRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="results")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="results")
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="+")
    is_latest = models.BooleanField(_("latest"), default=True)
    method_version = models.CharField(_("method version"), max_length=20)
    data_cutoff = models.DateTimeField(_("data cut-off"))
    # Transparency figures.
    invited = models.PositiveIntegerField(_("invited"))
    voted = models.PositiveIntegerField(_("voted"))
    counted = models.PositiveIntegerField(_("counted"))
    under_review = models.PositiveIntegerField(_("held for review"))
    excluded_screening = models.PositiveIntegerField(_("excluded by screening"))
    excluded_moderation = models.PositiveIntegerField(_("excluded by moderation"))
    excluded_refund = models.PositiveIntegerField(_("excluded: purchase refunded"), default=0)
    last_vote_at = models.DateTimeField(_("last vote"), null=True, blank=True)
    # The score.
    min_votes = models.PositiveSmallIntegerField(_("votes needed to publish"))
    published = models.BooleanField(_("published"))
    comprehensive = models.FloatField(_("comprehensive score"), null=True, blank=True)
    prior = models.FloatField(_("category prior"))
    prior_strength = models.PositiveSmallIntegerField(_("prior strength"))
    ranking_score = models.FloatField(_("ranking score"), null=True, blank=True)
    # A hash of everything a shopper or the list could see (``scoring.Computed.digest``): the next run finds
    # an unchanged result by comparing hashes, not by loading every result with its factors. Empty on
    # results written before it existed: those count as changed once.
    fingerprint = models.CharField(_("fingerprint"), max_length=32, blank=True, default="")
    input_fingerprint = models.CharField(
        _("input fingerprint"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text=_("SHA-256 of the product's canonical input: its counted votes, factors and policy."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("product result")
        verbose_name_plural = _("product results")
        ordering = ("-run_id", "product_id")
        constraints = [
            models.UniqueConstraint(fields=["product"], condition=Q(is_latest=True), name="productresult_one_latest"),
            models.UniqueConstraint(fields=["run", "product"], name="productresult_once_per_run"),
            models.CheckConstraint(
                condition=Q(
                    voted=F("counted")
                    + F("under_review")
                    + F("excluded_screening")
                    + F("excluded_moderation")
                    + F("excluded_refund")
                ),
                name="productresult_votes_add_up",
            ),
            models.CheckConstraint(
                condition=Q(published=False) | (Q(counted__gte=F("min_votes")) & Q(comprehensive__isnull=False)),
                name="productresult_published_with_enough_votes",
            ),
            models.CheckConstraint(
                condition=Q(comprehensive__isnull=True) | Q(comprehensive__gte=1, comprehensive__lte=5),
                name="productresult_score_on_scale",
            ),
        ]
        indexes = [models.Index(fields=["product", "-run"], name="productresult_history_idx")]

    def __str__(self) -> str:
        return f"{self.product_id} @ run {self.run_id}"

    @property
    def response_percent(self) -> int | None:
        return round(100 * self.voted / self.invited) if self.invited else None

    @property
    def histogram(self) -> list[int]:
        """Every counted factor score of the product, by score 1–5."""
        factors = list(self.factors.all())
        return [sum(getattr(f, f"scores_{score}") for f in factors) for score in range(1, 6)]


class FactorResult(models.Model):
    """One factor's figures within a product result. Every counted vote weighs 1."""

    result = models.ForeignKey(
        ProductResult, verbose_name=_("result"), on_delete=models.CASCADE, related_name="factors"
    )
    campaign_factor = models.ForeignKey(
        CampaignFactor, verbose_name=_("factor (frozen in the campaign)"), on_delete=models.CASCADE, related_name="+"
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    position = models.PositiveSmallIntegerField(_("position"))
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2)
    votes = models.PositiveIntegerField(_("votes"))
    mean = models.FloatField(_("mean"), null=True, blank=True)
    sd = models.FloatField(_("standard deviation"), null=True, blank=True)
    ci_low = models.FloatField(_("interval from (95%)"), null=True, blank=True)
    ci_high = models.FloatField(_("interval to (95%)"), null=True, blank=True)
    median = models.FloatField(_("median"), null=True, blank=True)
    agreement = models.FloatField(
        _("rater agreement"), null=True, blank=True, help_text=_("rwg: 1 = raters agree fully, 0 = as if at random.")
    )
    scores_1 = models.PositiveIntegerField(_("scores of 1"), default=0)
    scores_2 = models.PositiveIntegerField(_("scores of 2"), default=0)
    scores_3 = models.PositiveIntegerField(_("scores of 3"), default=0)
    scores_4 = models.PositiveIntegerField(_("scores of 4"), default=0)
    scores_5 = models.PositiveIntegerField(_("scores of 5"), default=0)

    class Meta:
        verbose_name = _("factor result")
        verbose_name_plural = _("factor results")
        ordering = ("result_id", "position", "id")
        constraints = [
            models.UniqueConstraint(fields=["result", "campaign_factor"], name="factorresult_unique"),
            models.CheckConstraint(
                condition=Q(votes=F("scores_1") + F("scores_2") + F("scores_3") + F("scores_4") + F("scores_5")),
                name="factorresult_histogram_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(mean__isnull=True) | Q(mean__gte=1, mean__lte=5), name="factorresult_mean_on_scale"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.result_id}/{self.campaign_factor_id}"

    @property
    def name(self) -> str:
        return in_language(self.name_zh, self.name_en)

    @property
    def histogram(self) -> list[int]:
        return [self.scores_1, self.scores_2, self.scores_3, self.scores_4, self.scores_5]


class FactorReliability(models.Model):
    """How well a category factor tells products apart (full runs): does it measure something?"""

    run = models.ForeignKey(ScoringRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="reliabilities")
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="+")
    factor = models.ForeignKey(Factor, verbose_name=_("factor"), on_delete=models.CASCADE, related_name="+")
    products = models.PositiveIntegerField(_("products"))
    votes = models.PositiveIntegerField(_("votes"))
    icc = models.FloatField(
        _("ICC(1)"), null=True, blank=True, help_text=_("Share of score variance that lies between products.")
    )
    reliability = models.FloatField(
        _("reliability of product means"), null=True, blank=True, help_text=_("ICC(1,k): near 1 = stable ranking.")
    )
    agreement = models.FloatField(_("mean rater agreement (rwg)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("factor reliability")
        verbose_name_plural = _("factor reliability")
        ordering = ("-run_id", "category_id", "factor_id")
        constraints = [models.UniqueConstraint(fields=["run", "factor"], name="factorreliability_unique")]

    def __str__(self) -> str:
        return f"{self.factor_id} @ run {self.run_id}"


class HeartListEntry(models.Model):
    """A place on a category's Little Red Heart list as a run left it (the list's history)."""

    run = models.ForeignKey(ScoringRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="list_entries")
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField(_("place"))
    ranking_score = models.FloatField(_("ranking score"))
    comprehensive = models.FloatField(_("comprehensive score"))
    counted = models.PositiveIntegerField(_("counted votes"))
    #: The place's 90% interval from the bootstrap over raters; None when the run computed none.
    rank_low = models.PositiveSmallIntegerField(_("likely place from"), null=True, blank=True)
    rank_high = models.PositiveSmallIntegerField(_("likely place to"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Little Red Heart list entry")
        verbose_name_plural = _("Little Red Heart list history")
        ordering = ("-run_id", "category_id", "rank")
        constraints = [
            models.UniqueConstraint(fields=["run", "category", "rank"], name="heartlistentry_unique_place"),
            models.UniqueConstraint(fields=["run", "product"], name="heartlistentry_once_per_run"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="heartlistentry_rank_positive"),
            models.CheckConstraint(
                condition=Q(rank_low__isnull=True, rank_high__isnull=True)
                | Q(rank_low__lte=F("rank"), rank_high__gte=F("rank")),
                name="heartlistentry_interval_holds_rank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category_id} #{self.rank}: {self.product_id}"
