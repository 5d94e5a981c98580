"""Staff run the manager programme here: the policy, rules and the question bank, terms (revoke),
cases (decide the escalated ones, mark known-answer audits), reports, votes, appeals and disputes."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from catalog.stakes import BrandStakeRefused
from moderation import counterfeits, selectors, services
from moderation.models import (
    Appeal,
    AuditDispute,
    Case,
    Choice,
    CounterfeitCase,
    CounterfeitReport,
    CounterfeitVote,
    ManagerTerm,
    ManagerVote,
    ModerationPolicy,
    Question,
    Report,
    Rule,
    ScreeningModel,
    TestAttempt,
    VoteScreening,
)
from moderation.reasons import reasons_text
from moderation.tasks import retrain_screener
from ratings.admin.base import BigTableAdmin, ReadOnlyMixin, RunNowAdmin, rounded


@admin.register(ModerationPolicy)
class ModerationPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    fieldsets = (
        (
            _("Entry bar and the test"),
            {
                "fields": (
                    "min_account_days",
                    "min_verified_purchases",
                    "questions_per_attempt",
                    "pass_mark",
                    "cooldown_hours",
                    "reentry_wait_days",
                    "term_days",
                )
            },
        ),
        (
            _("Deciding cases"),
            {
                "fields": (
                    "quorum",
                    "majority_numerator",
                    "majority_denominator",
                    "stale_hours",
                    "counterfeit_stale_days",
                    "daily_cap",
                )
            },
        ),
        (_("Audits"), {"fields": ("audit_window", "audit_min_accuracy")}),
        (_("Reports"), {"fields": ("reports_per_day",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ModerationPolicy | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:moderation_moderationpolicy_change", args=[services.policy_get().pk])
        )


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name_zh", "name_en", "code", "position", "active")
    list_editable = ("position", "active")
    search_fields = ("name_zh", "name_en", "code")


class ChoiceInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Choice
    extra = 4
    fields = ("position", "text_zh", "text_en", "is_correct")


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("text_zh", "text_en", "rule", "active")
    list_filter = ("active", "rule")
    list_select_related = ("rule",)
    search_fields = ("text_zh", "text_en")
    inlines = (ChoiceInline,)


@admin.register(TestAttempt)
class TestAttemptAdmin(ReadOnlyMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "started_at", "submitted_at", "correct", "passed")
    list_filter = ("passed",)
    list_select_related = ("user",)
    search_fields = ("=user__email",)


@admin.register(ManagerTerm)
class ManagerTermAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "status", "starts_at", "ends_at", "ended_at", "reason")
    list_filter = ("status",)
    list_select_related = ("user",)
    search_fields = ("=user__email",)
    raw_id_fields = ("user", "attempt")
    readonly_fields = ("status", "ended_at", "attempt")
    actions = ("revoke",)

    @admin.action(description=_("Revoke the selected manager terms"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ManagerTerm]) -> None:
        ended = sum(
            services.term_end(term=term, status=ManagerTerm.Status.REVOKED, reason=f"revoked by {request.user}")
            for term in queryset.filter(status=ManagerTerm.Status.ACTIVE).order_by("pk")
        )
        self.message_user(request, _("%(count)d term(s) revoked.") % {"count": ended}, messages.SUCCESS)


class ReportInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = Report
    fields = ("reporter", "rule", "comment", "created_at")
    readonly_fields = fields
    extra = 0


class ManagerVoteInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = ManagerVote
    fields = ("manager", "choice", "audit_correct", "ip_hash", "user_agent_hash", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Escalated cases are decided here; staff open cases of their own and mark known-answer audits."""

    list_display = (
        "id",
        "rule",
        "source",
        "status",
        "priority",
        "reports_count",
        "is_audit",
        "outcome",
        "decided_by",
        "created_at",
    )
    list_filter = ("status", "source", "decided_by", "is_audit", "rule")
    list_select_related = ("rule",)
    raw_id_fields = ("note", "vote", "decided_by_staff")
    readonly_fields = (
        "status",
        "outcome",
        "reports_count",
        "decided_at",
        "decided_by",
        "escalated_at",
        "decided_by_staff",
        "evidence",
        "excluded_judges",
    )
    inlines = (ReportInline, ManagerVoteInline)
    actions = ("decide_violates", "decide_complies")
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description=_("managers kept from this case"))
    def excluded_judges(self, obj: Case) -> str:
        """Every current manager with a stake in the case, and why: none of them sees or judges it."""
        if obj.pk is None:
            return "-"
        kept = selectors.case_conflicts(obj)
        if not kept:
            return str(_("None"))
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant  # nosec B308
            "{} ({}): {}",
            (
                (user.public_name, user.pk, "; ".join(str(conflict.label) for conflict in reasons))
                for user, reasons in kept.items()
            ),
        )

    def save_model(self, request: HttpRequest, obj: Case, form: Any, change: bool) -> None:
        if not change:
            obj.source = Case.Source.STAFF
            if obj.is_audit:  # an audit looks like any case: its evidence is drawn like a real one's
                for field, value in services.audit_profile(rule=obj.rule, about_note=obj.note_id is not None).items():
                    setattr(obj, field, value)
        super().save_model(request, obj, form, change)

    def _decide(self, request: HttpRequest, queryset: QuerySet[Case], outcome: Case.Outcome) -> None:
        staff = cast(User, request.user)
        decided = 0
        for case in queryset.exclude(status=Case.Status.DECIDED).filter(is_audit=False).select_related("note", "vote"):
            try:
                services.decision_apply(case=case, outcome=outcome, staff=staff)
            except BrandStakeRefused as error:
                self.message_user(request, f"#{case.pk}: {error.message}", messages.WARNING)
                continue
            decided += 1
        self.message_user(request, _("%(count)d case(s) decided.") % {"count": decided}, messages.SUCCESS)

    @admin.action(description=_("Decide: violates the rule (hide / exclude)"))
    def decide_violates(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        self._decide(request, queryset, Case.Outcome.VIOLATES)

    @admin.action(description=_("Decide: does not violate (show / count)"))
    def decide_complies(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        self._decide(request, queryset, Case.Outcome.COMPLIES)


class CounterfeitReportInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = CounterfeitReport
    fields = ("reporter", "purchase", "description", "created_at")
    readonly_fields = fields
    extra = 0


class CounterfeitVoteInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = CounterfeitVote
    fields = ("manager", "choice", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(CounterfeitCase)
class CounterfeitCaseAdmin(ReadOnlyMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Counterfeit claims: staff confirm or clear any of them (escalated ones wait for them here); only staff
    clear a confirmed claim, which puts the product back on the lists."""

    list_display = ("id", "product", "store", "store_kind", "status", "reports_count", "decided_by", "created_at")
    list_filter = ("status", "decided_by", "store__kind")
    list_select_related = ("product", "store")
    search_fields = ("product__name_zh", "product__name_en", "store__name_zh", "store__name_en")
    inlines = (CounterfeitReportInline, CounterfeitVoteInline)
    actions = ("confirm", "clear")
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description=_("store type"), ordering="store__kind")
    def store_kind(self, obj: CounterfeitCase) -> str:
        return str(obj.store.get_kind_display())

    def _decide(self, request: HttpRequest, queryset: QuerySet[CounterfeitCase], *, confirmed: bool) -> None:
        staff = cast(User, request.user)
        target = CounterfeitCase.Status.CONFIRMED if confirmed else CounterfeitCase.Status.CLEARED
        decided = 0
        for case in queryset.exclude(status=target).order_by("pk"):
            try:
                counterfeits.decide(case=case, confirmed=confirmed, staff=staff)
            except (services.ModerationError, BrandStakeRefused) as error:
                self.message_user(request, f"#{case.pk}: {error.message}", messages.ERROR)
            else:
                decided += 1
        self.message_user(request, _("%(count)d claim(s) decided.") % {"count": decided}, messages.SUCCESS)

    @admin.action(description=_("Confirm: counterfeit (hold the product off the lists)"))
    def confirm(self, request: HttpRequest, queryset: QuerySet[CounterfeitCase]) -> None:
        self._decide(request, queryset, confirmed=True)

    @admin.action(description=_("Clear: not counterfeit (the product is listed again)"))
    def clear(self, request: HttpRequest, queryset: QuerySet[CounterfeitCase]) -> None:
        self._decide(request, queryset, confirmed=False)


@admin.register(Report)
class ReportAdmin(BigTableAdmin):
    list_display = ("id", "case", "reporter", "rule", "created_at")
    list_select_related = ("reporter", "rule")
    raw_id_fields = ("case", "reporter")


@admin.register(ManagerVote)
class ManagerVoteAdmin(BigTableAdmin):
    list_display = ("id", "case", "manager", "choice", "audit_correct", "created_at")
    list_filter = ("choice",)
    list_select_related = ("manager",)
    raw_id_fields = ("case", "manager")


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("case", "author", "status", "created_at", "resolved_at")
    list_filter = ("status",)
    list_select_related = ("author",)
    raw_id_fields = ("case", "author", "resolved_by")
    readonly_fields = ("case", "author", "reason", "status", "resolved_by", "resolved_at")
    actions = ("uphold", "overturn")

    def _resolve(self, request: HttpRequest, queryset: QuerySet[Appeal], *, overturn: bool) -> None:
        staff = cast(User, request.user)
        done = 0
        for appeal in queryset.filter(status=Appeal.Status.OPEN).select_related("case__note", "case__vote"):
            try:
                services.appeal_resolve(appeal=appeal, staff=staff, overturn=overturn)
            except BrandStakeRefused as error:
                self.message_user(request, f"#{appeal.case_id}: {error.message}", messages.WARNING)
                continue
            done += 1
        self.message_user(request, _("%(count)d appeal(s) resolved.") % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Uphold the decision"))
    def uphold(self, request: HttpRequest, queryset: QuerySet[Appeal]) -> None:
        self._resolve(request, queryset, overturn=False)

    @admin.action(description=_("Overturn the decision (restore the content)"))
    def overturn(self, request: HttpRequest, queryset: QuerySet[Appeal]) -> None:
        self._resolve(request, queryset, overturn=True)


@admin.register(AuditDispute)
class AuditDisputeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("vote", "status", "created_at", "resolved_at")
    list_filter = ("status",)
    raw_id_fields = ("vote",)
    readonly_fields = ("vote", "reason", "status", "resolved_at")
    actions = ("accept", "reject")

    @admin.action(description=_("Accept: count the vote as correct"))
    def accept(self, request: HttpRequest, queryset: QuerySet[AuditDispute]) -> None:
        for dispute in queryset.filter(status=AuditDispute.Status.OPEN):
            services.dispute_resolve(dispute=dispute, accept=True)

    @admin.action(description=_("Reject"))
    def reject(self, request: HttpRequest, queryset: QuerySet[AuditDispute]) -> None:
        for dispute in queryset.filter(status=AuditDispute.Status.OPEN):
            services.dispute_resolve(dispute=dispute, accept=False)


METRIC_LABELS = {
    "version": _("version"),
    "data_cutoff": _("training data cut-off"),
    "trained_votes": _("votes learnt from"),
    "trained_raters": _("raters learnt from"),
    "labelled_votes": _("managers' decisions learnt from"),
    "positive_share": _("share of decisions that excluded the vote"),
    "supervised": _("learnt from managers' decisions"),
    "shares_on_votes": _("votes the shares below were measured on"),
    "review_share": _("share sent to review"),
    "excluded_share": _("share excluded"),
    "random_state": _("random seed"),
    "scikit_learn": _("scikit-learn version"),
    "features": _("signals used"),
    "cv_folds": _("cross-validation folds"),
    "cv_auc_features": _("AUC, signals only"),
    "cv_auc_text": _("AUC, comment text only"),
    "cv_auc_blend": _("AUC, signals and text"),
    "blend_weight_features": _("weight of the signals in the blend"),
    "cv_precision_at_0_5": _("precision at 0.5"),
    "cv_recall_at_0_5": _("recall at 0.5"),
    "fit_seconds": _("training time (seconds)"),
}


def metric_order(screener: ScreeningModel) -> list[str]:
    """Known metrics in reading order (PostgreSQL's jsonb keeps no order), then any the trainer added since."""
    known = [key for key in METRIC_LABELS if key in screener.metrics]
    return known + sorted(key for key in screener.metrics if key not in METRIC_LABELS)


def metric_shown(key: str, value: Any) -> str:
    """A metric as staff read it: shares as percentages, other fractions to two or three decimals."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, float):
        if key.endswith("_share") or "precision" in key or "recall" in key:
            return f"{value * 100:.1f}%"
        return f"{value:.3f}" if "auc" in key else f"{value:.2f}"
    return str(value)


@admin.register(ScreeningModel)
class ScreeningModelAdmin(ReadOnlyMixin, RunNowAdmin):
    """Every trained screener, the data it learnt from and its metrics; the current one screens new votes."""

    list_display = ("version", "is_current", "trained_at", "data_cutoff", "training_votes", "labelled_votes")
    fields = ("version", "is_current", "trained_at", "data_cutoff", "training_votes", "labelled_votes", "metrics_table")
    readonly_fields = fields
    run_now_label = _("Retrain the screener now")
    run_now_done = _("Retraining is enqueued; the new model appears here when it is stored.")
    run_now_denied = _("You may not retrain the screener.")
    run_now_task = retrain_screener

    @admin.display(description=_("metrics"))
    def metrics_table(self, screener: ScreeningModel) -> SafeString:
        """The training metrics as a two-column table in the reader's language, not a JSON blob."""
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            ((METRIC_LABELS.get(key, key), metric_shown(key, screener.metrics[key])) for key in metric_order(screener)),
        )
        return format_html('<table class="screening-metrics"><tbody>{}</tbody></table>', rows)


@admin.register(VoteScreening)
class VoteScreeningAdmin(BigTableAdmin):
    list_display = ("vote", "verdict", "score_shown", "why", "model", "screened_at")
    list_filter = ("verdict",)
    list_select_related = ("model",)
    raw_id_fields = ("vote", "model")
    sortable_by = ("score_shown", "screened_at")

    score_shown = rounded(VoteScreening, "score")

    @admin.display(description=_("reasons"))
    def why(self, obj: VoteScreening) -> str:
        return "; ".join(reasons_text(obj.reasons))
