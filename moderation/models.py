"""Ecosystem managers: the rules test that makes one, the cases they judge, and what their decisions do.

The database guards the invariants: one open test attempt per user, one active manager term per
user, one open case per piece of content, one report per user and case, one vote per manager and
case, one appeal per case, one dispute per audit vote.
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.bilingual import BilingualName, in_language
from catalog.models import Note, OrderLine, Product, Store
from ratings.models import Vote


class ModerationPolicy(models.Model):
    """The figures of the manager programme; one row, edited by staff in admin."""

    min_account_days = models.PositiveSmallIntegerField(_("account age needed (days)"), default=180)
    min_verified_purchases = models.PositiveSmallIntegerField(
        _("verified purchases needed"), default=1, help_text=_("Invitations accepted after a genuine purchase.")
    )
    questions_per_attempt = models.PositiveSmallIntegerField(_("questions per attempt"), default=15)
    pass_mark = models.PositiveSmallIntegerField(_("correct answers to pass"), default=9)
    cooldown_hours = models.PositiveSmallIntegerField(_("wait after a failed attempt (hours)"), default=24)
    reentry_wait_days = models.PositiveSmallIntegerField(
        _("wait after a revoked or suspended term (days)"),
        default=90,
        help_text=_("Before the person may take the test again."),
    )
    term_days = models.PositiveSmallIntegerField(_("manager term (days)"), default=365)
    quorum = models.PositiveSmallIntegerField(_("votes that decide a case"), default=5)
    # The adaptive blind quorum (moderation/quorum.py): a unanimous start with strong evidence closes early,
    # a split calls more managers, up to ``quorum_most``.
    quorum_early = models.PositiveSmallIntegerField(
        _("agreeing first votes that close a case early"),
        default=3,
        help_text=_("Only when the case's evidence points the same way at least as strongly as below."),
    )
    early_evidence = models.DecimalField(
        _("evidence needed to close early"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        help_text=_("Screening's suspicion score (violates), or one minus it (does not violate), from 0 to 1."),
    )
    quorum_most = models.PositiveSmallIntegerField(_("most votes a split case calls for"), default=7)
    undo_seconds = models.PositiveSmallIntegerField(
        _("time to undo a vote (seconds)"), default=30, help_text=_("While the case is still undecided.")
    )
    # The majority as an exact fraction of the non-skip votes (2/3, not 0.67: 0.67 of 3 votes is not 2).
    majority_numerator = models.PositiveSmallIntegerField(
        _("majority needed: numerator"), default=2, help_text=_("Share of the non-skip votes: numerator.")
    )
    majority_denominator = models.PositiveSmallIntegerField(
        _("majority needed: denominator"), default=3, help_text=_("Share of the non-skip votes: denominator.")
    )
    stale_hours = models.PositiveSmallIntegerField(_("escalate an undecided case after (hours)"), default=72)
    audit_window = models.PositiveSmallIntegerField(_("audit votes looked at"), default=20)
    audit_min_accuracy = models.DecimalField(_("audit accuracy needed"), max_digits=3, decimal_places=2, default=0.80)
    daily_cap = models.PositiveSmallIntegerField(_("votes per manager per day"), default=60)
    reports_per_day = models.PositiveSmallIntegerField(
        _("reports per account per day"), default=20, help_text=_("In any 24 hours.")
    )
    counterfeit_stale_days = models.PositiveSmallIntegerField(
        _("escalate an undecided counterfeit claim after (days)"), default=7
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("moderation policy")
        verbose_name_plural = _("moderation policy")
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="moderationpolicy_single_row"),
            models.CheckConstraint(
                condition=Q(pass_mark__lte=F("questions_per_attempt"), pass_mark__gte=1),
                name="moderationpolicy_pass_mark_possible",
            ),
            models.CheckConstraint(
                condition=Q(GreaterThan(F("majority_numerator") * 2, F("majority_denominator")))
                & Q(majority_numerator__lte=F("majority_denominator")),
                name="moderationpolicy_majority_is_a_majority",
            ),
            models.CheckConstraint(
                condition=Q(audit_min_accuracy__gte=0, audit_min_accuracy__lte=1),
                name="moderationpolicy_accuracy_share",
            ),
            models.CheckConstraint(
                condition=Q(quorum_early__gte=1, quorum_early__lte=F("quorum"), quorum_most__gte=F("quorum")),
                name="moderationpolicy_quorum_range",
            ),
            models.CheckConstraint(
                condition=Q(early_evidence__gte=0, early_evidence__lte=1),
                name="moderationpolicy_early_evidence_share",
            ),
            models.CheckConstraint(
                condition=Q(
                    quorum__gte=1,
                    questions_per_attempt__gte=1,
                    audit_window__gte=1,
                    daily_cap__gte=1,
                    reports_per_day__gte=1,
                ),
                name="moderationpolicy_positive_figures",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Moderation policy"))


class Rule(BilingualName):
    """A community rule that content can break; questions of the test and reports cite one."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.name

    @property
    def description(self) -> str:
        return in_language(self.description_zh, self.description_en)


class Question(models.Model):
    """A question of the rules-compliance test, with its choices; staff curate the bank in admin."""

    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="questions")
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("test question")
        verbose_name_plural = _("test questions")
        ordering = ("rule__position", "id")

    def __str__(self) -> str:
        return self.text_en[:80]

    @property
    def text(self) -> str:
        return in_language(self.text_zh, self.text_en)


class Choice(models.Model):
    question = models.ForeignKey(Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="choices")
    text_zh = models.CharField(_("text (Chinese)"), max_length=300)
    text_en = models.CharField(_("text (English)"), max_length=300)
    is_correct = models.BooleanField(_("correct"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ("question_id", "position", "id")

    def __str__(self) -> str:
        return self.text_en[:80]

    @property
    def text(self) -> str:
        return in_language(self.text_zh, self.text_en)


class TestAttempt(models.Model):
    """One sitting of the test: the questions drawn, then the answers and the score (checked on the server)."""

    __test__ = False  # a model, not a pytest class

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="test_attempts"
    )
    question_ids = models.JSONField(_("questions drawn"), help_text="the drawn question ids, in the order shown")
    answers = models.JSONField(_("answers"), default=dict, blank=True, help_text="{question id: choice id}")
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    correct = models.PositiveSmallIntegerField(_("correct answers"), null=True, blank=True)
    passed = models.BooleanField(_("passed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("test attempt")
        verbose_name_plural = _("test attempts")
        ordering = ("-started_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(submitted_at__isnull=True), name="testattempt_one_open_per_user"
            ),
            models.CheckConstraint(
                condition=Q(submitted_at__isnull=True, correct__isnull=True, passed__isnull=True)
                | Q(submitted_at__isnull=False, correct__isnull=False, passed__isnull=False),
                name="testattempt_scored_when_submitted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.started_at:%Y-%m-%d %H:%M}"


class ManagerTerm(models.Model):
    """A term as ecosystem manager, earned by passing the test; it ends, or staff revoke or suspend it."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked by staff")
        SUSPENDED = "suspended", _("Suspended (audit accuracy)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="manager_terms"
    )
    attempt = models.ForeignKey(
        TestAttempt, verbose_name=_("attempt"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    starts_at = models.DateTimeField(_("starts"), default=timezone.now)
    ends_at = models.DateTimeField(_("ends"))
    ended_at = models.DateTimeField(_("ended early at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("manager term")
        verbose_name_plural = _("manager terms")
        ordering = ("-starts_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(status="active"), name="managerterm_one_active"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="managerterm_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ({self.get_status_display()})"

    def is_current(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.ACTIVE and self.starts_at <= now < self.ends_at


class Case(models.Model):
    """A question for managers: does this note or rating comment break this rule?"""

    class Source(models.TextChoices):
        REPORT = "report", _("User reports")
        SCREENING = "screening", _("Screening")
        STAFF = "staff", _("Staff")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ESCALATED = "escalated", _("Escalated to staff")
        DECIDED = "decided", _("Decided")

    class Outcome(models.TextChoices):
        VIOLATES = "violates", _("Violates the rule")
        COMPLIES = "complies", _("Does not violate")

    class DecidedBy(models.TextChoices):
        MANAGERS = "managers", _("Ecosystem managers")
        STAFF = "staff", _("Staff")
        SCREENING = "screening", _("Automatic screening")

    note = models.ForeignKey(Note, verbose_name=_("note"), null=True, blank=True, on_delete=models.CASCADE)
    vote = models.ForeignKey(Vote, verbose_name=_("rating"), null=True, blank=True, on_delete=models.CASCADE)
    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="cases")
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveIntegerField(_("priority"), default=1)
    reports_count = models.PositiveIntegerField(_("reports"), default=0)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    # A known-answer case mixed into queues unannounced, to measure each manager's accuracy.
    is_audit = models.BooleanField(_("audit case"), default=False)
    audit_answer = models.CharField(_("known answer"), max_length=10, choices=Outcome.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    decided_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by (staff)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    #: Who took the decision as it stands (staff who overturn one take it over); screening's own are
    #: never training labels, and never shield a vote from the next screening.
    decided_by = models.CharField(
        _("decided by"), max_length=10, choices=DecidedBy.choices, blank=True, default="", db_default=""
    )
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ("-priority", "created_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(note__isnull=False, vote__isnull=True) | Q(note__isnull=True, vote__isnull=False),
                name="case_about_one_thing",
            ),
            models.UniqueConstraint(
                fields=["note"],
                condition=Q(status__in=["open", "escalated"], is_audit=False),
                name="case_one_open_per_note",
            ),
            models.UniqueConstraint(
                fields=["vote"],
                condition=Q(status__in=["open", "escalated"], is_audit=False),
                name="case_one_open_per_vote",
            ),
            models.CheckConstraint(
                condition=Q(status="decided", outcome__in=["violates", "complies"], decided_at__isnull=False)
                | (~Q(status="decided") & Q(outcome="", decided_at__isnull=True)),
                name="case_decided_has_outcome",
            ),
            models.CheckConstraint(
                condition=Q(status="decided", decided_by__in=["managers", "staff", "screening"])
                | (~Q(status="decided") & Q(decided_by="")),
                name="case_decided_says_by_whom",
            ),
            models.CheckConstraint(
                condition=Q(is_audit=False, audit_answer="")
                | Q(is_audit=True, audit_answer__in=["violates", "complies"]),
                name="case_audit_has_answer",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-priority", "created_at", "id"], condition=Q(status="open"), name="case_open_queue_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule_id} ({self.get_status_display()})"

    @property
    def author_id(self) -> int:
        """Who wrote the content judged: a manager never judges their own."""
        if self.note is not None:
            return int(self.note.author_id)
        assert self.vote is not None  # noqa: S101 - a check constraint guarantees one of the two
        return int(self.vote.user_id)


class Report(models.Model):
    """A signed-in user's report that content breaks a rule; repeat reports join the open case."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reporter"), on_delete=models.CASCADE, related_name="reports"
    )
    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="+")
    comment = models.CharField(_("what is wrong"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ("-created_at", "-id")
        constraints = [models.UniqueConstraint(fields=["case", "reporter"], name="report_once_per_user_and_case")]

    def __str__(self) -> str:
        return f"{self.reporter_id} → case {self.case_id}"


class ManagerVote(models.Model):
    """One manager's judgement of one case; never shown to others before the case is decided."""

    class Choice(models.TextChoices):
        VIOLATES = "violates", _("Violates")
        COMPLIES = "complies", _("Does not violate")
        SKIP = "skip", _("Skip")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="votes")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.CASCADE, related_name="case_votes"
    )
    choice = models.CharField(_("choice"), max_length=10, choices=Choice.choices)
    # For audit cases: whether the choice matched the known answer (skips are not scored).
    audit_correct = models.BooleanField(_("audit correct"), null=True, blank=True)
    # The judge's own fingerprints, hashed as a vote's are: a judge never judges an account they share with.
    # A database default too, so bulk loads in SQL that name no fingerprint still insert.
    ip_hash = models.CharField(_("network fingerprint"), max_length=64, blank=True, default="", db_default="")
    user_agent_hash = models.CharField(_("device fingerprint"), max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("manager vote")
        verbose_name_plural = _("manager votes")
        ordering = ("-created_at", "-id")
        constraints = [models.UniqueConstraint(fields=["case", "manager"], name="managervote_once_per_case")]
        indexes = [
            models.Index(fields=["manager", "created_at"], name="managervote_manager_day_idx"),
            # The queue's reads, each an index-only walk: the cases a manager voted on (left out of their
            # queue), the manager's own fingerprints, and the judges sharing a network or (without a
            # network) a device with an author (``selectors.fingerprint_sharers``, as ``Vote``'s indexes).
            models.Index(fields=["manager", "case"], name="managervote_manager_case_idx"),
            models.Index(fields=["manager", "ip_hash", "user_agent_hash"], name="managervote_manager_prints_idx"),
            models.Index(fields=["ip_hash"], condition=~Q(ip_hash=""), name="managervote_network_idx"),
            models.Index(fields=["user_agent_hash"], condition=Q(ip_hash=""), name="managervote_bare_device_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.manager_id} on {self.case_id}: {self.choice}"


class Appeal(models.Model):
    """The author's one appeal against a decision, for staff."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        UPHELD = "upheld", _("Decision upheld")
        OVERTURNED = "overturned", _("Decision overturned")

    case = models.OneToOneField(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="appeal")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.CASCADE, related_name="appeals"
    )
    reason = models.TextField(_("reason"), max_length=2000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"appeal of case {self.case_id}"


class AuditDispute(models.Model):
    """A manager's one dispute of an audit they were marked wrong on, for staff."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted: the vote counts as correct")
        REJECTED = "rejected", _("Rejected")

    vote = models.OneToOneField(ManagerVote, verbose_name=_("vote"), on_delete=models.CASCADE, related_name="dispute")
    reason = models.TextField(_("reason"), max_length=2000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("audit dispute")
        verbose_name_plural = _("audit disputes")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"dispute of {self.vote_id}"


class ScreeningModel(models.Model):
    """A trained screener: its artefact, the data it learnt from and how well it did. One is current."""

    version = models.CharField(_("version"), max_length=80, unique=True)
    trained_at = models.DateTimeField(_("trained at"), default=timezone.now)
    data_cutoff = models.DateTimeField(_("training data cut-off"))
    training_votes = models.PositiveIntegerField(_("votes learnt from"))
    labelled_votes = models.PositiveIntegerField(_("managers' decisions learnt from"))
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    artefact = models.BinaryField(_("artefact"), editable=False)
    is_current = models.BooleanField(_("screens new votes"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("screening model")
        verbose_name_plural = _("screening models")
        ordering = ("-trained_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="screeningmodel_one_current"
            )
        ]

    def __str__(self) -> str:
        return self.version


class VoteScreening(models.Model):
    """The latest screening of a vote: a score, a verdict and the reasons a person can read."""

    class Verdict(models.TextChoices):
        COUNTED = "counted", _("Counted")
        REVIEW = "review", _("Needs review")
        EXCLUDED = "excluded", _("Excluded")

    vote = models.OneToOneField(Vote, verbose_name=_("vote"), on_delete=models.CASCADE, related_name="screening")
    model = models.ForeignKey(
        ScreeningModel, verbose_name=_("model"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.FloatField(_("suspicion score"))
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True, help_text="[{code, params}]")
    screened_at = models.DateTimeField(_("screened at"), default=timezone.now)

    class Meta:
        verbose_name = _("vote screening")
        verbose_name_plural = _("vote screenings")
        ordering = ("-screened_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=1), name="votescreening_score_share")
        ]
        indexes = [models.Index(fields=["verdict"], condition=~Q(verdict="counted"), name="votescreening_flagged_idx")]

    def __str__(self) -> str:
        return f"{self.vote_id}: {self.verdict}"


class CounterfeitCase(models.Model):
    """A claim that a store sold a fake of this product: its buyers from that store report, managers and
    staff decide. A confirmed claim holds the product off the lists until staff clear it."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ESCALATED = "escalated", _("Escalated to staff")
        CONFIRMED = "confirmed", _("Counterfeit confirmed")
        CLEARED = "cleared", _("Cleared")

    class DecidedBy(models.TextChoices):
        MANAGERS = "managers", _("Ecosystem managers")
        STAFF = "staff", _("Staff")

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="counterfeit_cases"
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="counterfeit_cases"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    reports_count = models.PositiveIntegerField(_("reports"), default=0)
    decided_by = models.CharField(_("decided by"), max_length=10, choices=DecidedBy.choices, blank=True, default="")
    decided_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by (staff)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("counterfeit claim")
        verbose_name_plural = _("counterfeit claims")
        ordering = ("created_at", "id")
        constraints = [
            # Cleared claims are history: a new report about the same store opens a new one.
            models.UniqueConstraint(
                fields=["product", "store"],
                condition=Q(status__in=["open", "escalated", "confirmed"]),
                name="counterfeitcase_one_live_per_product_store",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["confirmed", "cleared"],
                    decided_at__isnull=False,
                    decided_by__in=["managers", "staff"],
                )
                | Q(status__in=["open", "escalated"], decided_at__isnull=True, decided_by=""),
                name="counterfeitcase_decided_says_when_and_by_whom",
            ),
        ]
        indexes = [
            # The lists and the product page ask "is this product held?": a tiny partial index answers.
            models.Index(fields=["product"], condition=Q(status="confirmed"), name="cfcase_confirmed_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.product_id} @ {self.store_id} ({self.get_status_display()})"


class CounterfeitReport(models.Model):
    """One buyer's report that what they bought from the store was fake, with the purchase it rests on."""

    case = models.ForeignKey(CounterfeitCase, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        on_delete=models.CASCADE,
        related_name="counterfeit_reports",
    )
    purchase = models.ForeignKey(
        OrderLine, verbose_name=_("purchase"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = models.CharField(_("what makes it look fake"), max_length=500)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("counterfeit report")
        verbose_name_plural = _("counterfeit reports")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["case", "reporter"], name="counterfeitreport_once_per_user_and_case")
        ]

    def __str__(self) -> str:
        return f"{self.reporter_id} → claim {self.case_id}"


class CounterfeitVote(models.Model):
    """One manager's judgement of a counterfeit claim; blind, as ``ManagerVote``."""

    class Choice(models.TextChoices):
        COUNTERFEIT = "counterfeit", _("Counterfeit")
        GENUINE = "genuine", _("Not shown to be counterfeit")
        SKIP = "skip", _("Skip")

    case = models.ForeignKey(CounterfeitCase, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="votes")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.CASCADE,
        related_name="counterfeit_votes",
    )
    choice = models.CharField(_("choice"), max_length=12, choices=Choice.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("counterfeit vote")
        verbose_name_plural = _("counterfeit votes")
        ordering = ("-created_at", "-id")
        constraints = [models.UniqueConstraint(fields=["case", "manager"], name="counterfeitvote_once_per_case")]
        indexes = [models.Index(fields=["manager", "created_at"], name="cfvote_manager_day_idx")]

    def __str__(self) -> str:
        return f"{self.manager_id} on claim {self.case_id}: {self.choice}"
