"""Staff see and steer rating here: the policy, eligibility runs (and a button to start one),
campaigns with their frozen factors, invitations, votes.

Invitations, votes and factor scores are tables of millions of rows: their lists never count the
whole table (``EstimatedCountPaginator``, ``show_full_result_count = False``), show no facet
counts, sort only on indexed columns and show users and campaigns by raw id.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from catalog.admin_pagination import EstimatedCountPaginator
from ratings.models import (
    Campaign,
    CampaignFactor,
    EligibilityRun,
    EligibilityRunCategory,
    FactorScore,
    Invitation,
    RatingPolicy,
    Vote,
    VoteRevision,
)
from ratings.tasks import run_eligibility


class ReadOnlyMixin:
    """Rows written by jobs and voters: staff look, never edit by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BigTableAdmin(ReadOnlyMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A read-only list of a table of millions of rows."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts would group the whole table on every page view.
    show_facets = admin.ShowFacets.NEVER


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
            {"fields": ("campaign_days", "purchase_days", "invitation_days", "max_open_invitations", "active_days")},
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
class EligibilityRunAdmin(ReadOnlyMixin, admin.ModelAdmin):  # type: ignore[type-arg]
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
    fields = list_display
    readonly_fields = list_display
    change_list_template = "admin/ratings/eligibilityrun/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        run_now = self.admin_site.admin_view(require_POST(self.run_now_view))
        return [path("run-now/", run_now, name="ratings_eligibilityrun_run_now"), *super().get_urls()]

    def run_now_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """Enqueue the job after commit; the page shows the run once a worker has started it."""
        if not request.user.has_perm("ratings.add_eligibilityrun"):
            self.message_user(request, _("You may not start the eligibility job."), messages.ERROR)
        else:
            triggered_by = f"staff:{getattr(request.user, 'email', '')}"[:60]
            transaction.on_commit(lambda: run_eligibility.delay(triggered_by), robust=True)
            self.message_user(
                request,
                _("The eligibility job is enqueued; its run appears here when a worker starts it."),
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:ratings_eligibilityrun_changelist"))


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
        "selection_score",
        "engagement_count",
        "units_sold",
    )
    list_filter = ("status", ("category", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("product", "category")
    search_fields = ("product__name_zh", "product__name_en", "=product__slug")
    raw_id_fields = ("product", "category", "run")
    readonly_fields = (
        "product",
        "category",
        "opens_at",
        "closes_at",
        "run",
        "selection_rank",
        "selection_score",
        "engagement_count",
        "units_sold",
        "created_at",
        "updated_at",
    )
    inlines = (CampaignFactorInline,)
    show_facets = admin.ShowFacets.NEVER

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


@admin.register(Vote)
class VoteAdmin(BigTableAdmin):
    list_display = ("id", "user", "campaign", "product", "revision_count", "created_at")
    list_select_related = ("user", "campaign__product", "product")
    raw_id_fields = ("campaign", "user", "invitation", "product")
    search_fields = ("=user__email",)
    search_help_text = _("A user's exact email.")
    sortable_by = ("id",)


@admin.register(FactorScore)
class FactorScoreAdmin(BigTableAdmin):
    list_display = ("id", "vote", "factor", "product", "score")
    list_select_related = ("factor", "product")
    raw_id_fields = ("vote", "factor", "product")
    sortable_by = ("id",)


@admin.register(VoteRevision)
class VoteRevisionAdmin(BigTableAdmin):
    list_display = ("id", "vote", "submitted_at")
    raw_id_fields = ("vote",)
    sortable_by = ("id",)
