"""Staff see and steer rating here: the policy, eligibility runs (and a button to start one),
campaigns with their frozen factors, invitations, votes.

Invitations, votes and factor scores are tables of millions of rows: their lists never count the
whole table (``EstimatedCountPaginator``, ``show_full_result_count = False``), show no facet
counts, sort only on indexed columns and show users and campaigns by raw id.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ratings.admin.base import BigTableAdmin, ReadOnlyMixin, RunNowAdmin, rounded
from ratings.models import (
    Campaign,
    CampaignFactor,
    EligibilityRun,
    EligibilityRunCategory,
    FactorScore,
    Invitation,
    RatingPolicy,
    ReviewHelpful,
    Vote,
    VoteRevision,
    VoteVerdictChange,
)
from ratings.tasks import run_eligibility


@admin.register(RatingPolicy)
class RatingPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The single policy row; the list page leads straight to it."""

    fieldsets = (
        (
            _("Selection"),
            {
                "fields": (
                    "popularity_days",
                    "sales_days",
                    "popularity_weight",
                    "min_units_sold",
                    "min_engagement",
                    "products_per_category",
                )
            },
        ),
        (
            _("Campaigns and invitations"),
            {
                "fields": (
                    "campaign_days",
                    "purchase_days",
                    "use_days",
                    "invitation_days",
                    "max_open_invitations",
                    "active_days",
                    "min_account_days",
                    "survey_interval_days",
                )
            },
        ),
        (
            _("Scores and the Little Red Heart list"),
            {
                "fields": (
                    "score_window_days",
                    "min_votes_to_publish",
                    "prior_strength",
                    "list_threshold",
                    "list_size",
                    "rescore_delay_seconds",
                )
            },
        ),
        (None, {"fields": ("updated_at",)}),
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RatingPolicy | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseRedirect:
        from ratings.eligibility import policy_get

        policy = policy_get()
        return HttpResponseRedirect(reverse("admin:ratings_ratingpolicy_change", args=[policy.pk]))


class EligibilityRunCategoryInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = EligibilityRunCategory
    fields = (
        "category",
        "started_at",
        "finished_at",
        "products_considered",
        "campaigns_opened",
        "invitations_created",
        "error",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(EligibilityRun)
class EligibilityRunAdmin(ReadOnlyMixin, RunNowAdmin):
    list_display = (
        "run_date",
        "status",
        "triggered_by",
        "started_at",
        "finished_at",
        "campaigns_opened",
        "invitations_created",
    )
    list_filter = ("status",)
    inlines = (EligibilityRunCategoryInline,)
    fields = (*list_display, "resumes", "resumed_at", "error", "task_id")
    readonly_fields = fields
    run_now_label = _("Run eligibility now")
    run_now_done = _("The eligibility job is enqueued; its run appears here when a worker starts it.")
    run_now_denied = _("You may not start the eligibility job.")
    run_now_task = run_eligibility


class CampaignFactorInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = CampaignFactor
    fields = ("position", "name_zh", "name_en", "description_zh", "description_en", "weight", "factor")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Staff may close or cancel a campaign (its status); everything else is as the job recorded it."""

    list_display = (
        "product",
        "category",
        "status",
        "opens_at",
        "closes_at",
        "selection_rank",
        "selection_score_shown",
        "engagement_count",
        "units_sold",
    )
    list_filter = ("status", ("category", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("product", "category")
    search_fields = ("product__name_zh", "product__name_en", "=product__slug")
    raw_id_fields = ("product", "category", "run")
    exclude = ("selection_score",)  # shown rounded, read-only, below
    readonly_fields = (
        "product",
        "category",
        "opens_at",
        "closes_at",
        "run",
        "selection_rank",
        "selection_score_shown",
        "engagement_count",
        "units_sold",
        "created_at",
        "updated_at",
    )
    inlines = (CampaignFactorInline,)
    show_facets = admin.ShowFacets.NEVER

    selection_score_shown = rounded(Campaign, "selection_score", places=3)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Campaigns open through the eligibility job, which freezes their factors.
        return False


@admin.register(Invitation)
class InvitationAdmin(BigTableAdmin):
    list_display = ("id", "user", "campaign", "status", "expires_at", "created_at")
    list_filter = ("status",)
    list_select_related = ("user", "campaign__product")
    raw_id_fields = ("campaign", "user", "purchase", "run")
    search_fields = ("=user__email",)
    search_help_text = _("A user's exact email.")
    sortable_by = ("id",)


class VerdictChangeInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    """The vote's verdicts over time, as the triggers logged them (what a past run read)."""

    model = VoteVerdictChange
    fields = ("changed_at", "verdict", "exclusion_reason")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Vote)
class VoteAdmin(BigTableAdmin):
    list_display = (
        "id",
        "user",
        "campaign",
        "product",
        "verdict",
        "exclusion_reason",
        "revision_count",
        "submitted_at",
        "amended_at",
        "created_at",
    )
    list_filter = ("verdict",)
    list_select_related = ("user", "campaign__product", "product")
    raw_id_fields = ("campaign", "user", "invitation", "product")
    search_fields = ("=user__email",)
    search_help_text = _("A user's exact email.")
    sortable_by = ("id",)
    inlines = (VerdictChangeInline,)


@admin.register(FactorScore)
class FactorScoreAdmin(BigTableAdmin):
    list_display = ("id", "vote", "factor", "product", "score")
    list_select_related = ("factor", "product")
    raw_id_fields = ("vote", "factor", "product")
    sortable_by = ("id",)


@admin.register(ReviewHelpful)
class ReviewHelpfulAdmin(BigTableAdmin):
    list_display = ("id", "vote", "user", "created_at")
    raw_id_fields = ("vote", "user", "author")
    sortable_by = ("id",)


@admin.register(VoteRevision)
class VoteRevisionAdmin(BigTableAdmin):
    list_display = ("id", "vote", "campaign", "submitted_at")
    raw_id_fields = ("vote", "campaign")
    sortable_by = ("id",)
