"""The scoring job's output for staff: runs (and a button to start one), every version of every
product's result with its factors, the list's history, and which factors tell products apart."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ratings.admin.base import BigTableAdmin, ReadOnlyMixin, RunNowAdmin, rounded
from ratings.models import (
    FactorReliability,
    FactorResult,
    HeartListEntry,
    ProductResult,
    ScoringRun,
    ScoringRunCategory,
)
from ratings.tasks import run_scoring


class ScoringRunCategoryInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = ScoringRunCategory
    fk_name = "run"
    fields = (
        "category",
        "finished_at",
        "prior_shown",
        "products_scored",
        "products_changed",
        "products_published",
        "products_listed",
        "carried_from",
        "error",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    prior_shown = rounded(ScoringRunCategory, "prior")


@admin.register(ScoringRun)
class ScoringRunAdmin(ReadOnlyMixin, RunNowAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "triggered_by",
        "method_version",
        "data_cutoff",
        "finished_at",
        "products_scored",
        "products_changed",
        "products_published",
        "products_listed",
    )
    list_filter = ("kind", "status")
    fields = (*list_display, "input_fingerprint", "resumes", "resumed_at", "error", "task_id")
    readonly_fields = fields
    inlines = (ScoringRunCategoryInline,)
    show_facets = admin.ShowFacets.NEVER
    run_now_label = _("Score every product now")
    run_now_done = _("The full scoring run is enqueued; it appears here when a worker starts it.")
    run_now_denied = _("You may not start the scoring job.")
    run_now_task = run_scoring


class FactorResultInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = FactorResult
    fields = (
        "position",
        "name_zh",
        "name_en",
        "weight",
        "votes",
        "mean_shown",
        "sd_shown",
        "ci_low_shown",
        "ci_high_shown",
        "median_shown",
        "agreement_shown",
        "scores_1",
        "scores_2",
        "scores_3",
        "scores_4",
        "scores_5",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    mean_shown = rounded(FactorResult, "mean")
    sd_shown = rounded(FactorResult, "sd")
    ci_low_shown = rounded(FactorResult, "ci_low")
    ci_high_shown = rounded(FactorResult, "ci_high")
    median_shown = rounded(FactorResult, "median", places=1)
    agreement_shown = rounded(FactorResult, "agreement")


@admin.register(ProductResult)
class ProductResultAdmin(BigTableAdmin):
    """Every version of every product's result: search a product to see its history."""

    list_display = (
        "product",
        "run",
        "is_latest",
        "published",
        "counted",
        "voted",
        "invited",
        "comprehensive_shown",
        "ranking_score_shown",
        "created_at",
    )
    list_filter = ("is_latest", "published")
    list_select_related = ("product", "run")
    search_fields = ("product__name_zh", "product__name_en", "=product__slug")
    raw_id_fields = ("product", "campaign", "category", "run")
    inlines = (FactorResultInline,)
    sortable_by = ("run",)
    # The page shows every field read-only; the scores to two decimals instead of in full.
    exclude = ("comprehensive", "prior", "ranking_score")
    readonly_fields = ("comprehensive_shown", "prior_shown", "ranking_score_shown")

    comprehensive_shown = rounded(ProductResult, "comprehensive")
    prior_shown = rounded(ProductResult, "prior")
    ranking_score_shown = rounded(ProductResult, "ranking_score")


@admin.register(HeartListEntry)
class HeartListEntryAdmin(BigTableAdmin):
    """The list as each run left it, category by category."""

    list_display = ("run", "category", "rank", "product", "ranking_score_shown", "comprehensive_shown", "counted")
    list_filter = (("category", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("run", "category", "product")
    raw_id_fields = ("run", "category", "product")
    sortable_by = ("run", "rank")

    ranking_score_shown = rounded(HeartListEntry, "ranking_score")
    comprehensive_shown = rounded(HeartListEntry, "comprehensive")


@admin.register(FactorReliability)
class FactorReliabilityAdmin(ReadOnlyMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Per full run: does each factor tell products apart (ICC) and do raters agree on it (rwg)?"""

    list_display = (
        "factor",
        "category",
        "run",
        "products",
        "votes",
        "icc_shown",
        "reliability_shown",
        "agreement_shown",
    )
    list_filter = (("category", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("factor", "category", "run")
    raw_id_fields = ("run", "category", "factor")
    show_facets = admin.ShowFacets.NEVER

    icc_shown = rounded(FactorReliability, "icc")
    reliability_shown = rounded(FactorReliability, "reliability")
    agreement_shown = rounded(FactorReliability, "agreement")
