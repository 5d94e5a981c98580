"""Factor surveys in admin: staff write a draft's 8 to 15 candidates, open it (inviting the category's
buyers), read its ranking, and adopt 5 to 10 of the candidates as the category's factors.

Every change of state goes through ``ratings.surveys``' services; the admin only asks for it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ratings import surveys
from ratings.admin.base import ReadOnlyMixin
from ratings.models import FactorSurvey, SurveyCandidate, SurveyInvitation, SurveyResponse
from ratings.models.surveys import MAX_ADOPTED, MIN_ADOPTED


class CandidateInlineFormSet(forms.BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        """A survey offers 8 to 15 candidates, counted as submitted."""
        super().clean()
        count = sum(
            1 for form in self.forms if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
        )
        try:
            surveys.candidates_check(count)
        except surveys.SurveyError as error:
            raise ValidationError(str(error.message)) from None


class SurveyCandidateInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SurveyCandidate
    formset = CandidateInlineFormSet
    fields = ("position", "name_zh", "name_en", "description_zh", "description_en", "adopted")
    readonly_fields = ("adopted",)

    def get_extra(self, request: HttpRequest, obj: FactorSurvey | None = None, **kwargs: Any) -> int:
        return 8 if obj is None else 0

    def _draft(self, obj: FactorSurvey | None) -> bool:
        return obj is None or obj.status == FactorSurvey.Status.DRAFT

    def has_add_permission(self, request: HttpRequest, obj: FactorSurvey | None = None) -> bool:
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: FactorSurvey | None = None) -> bool:
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: FactorSurvey | None = None) -> bool:
        return self._draft(obj) and super().has_delete_permission(request, obj)


class FactorSurveyForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = FactorSurvey
        fields = ("category", "opens_at", "closes_at")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        category, opens_at = cleaned.get("category"), cleaned.get("opens_at")
        if category is not None and opens_at is not None:
            try:
                surveys.survey_interval_check(category=category, opens_at=opens_at, exclude_id=self.instance.pk)
            except surveys.SurveyError as error:
                raise ValidationError(str(error.message)) from None
        return cleaned


class AdoptForm(forms.Form):
    candidates = forms.TypedMultipleChoiceField(
        label=_("Factors to adopt"), coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, results: surveys.SurveyResults, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["candidates"]
        assert isinstance(field, forms.TypedMultipleChoiceField)  # noqa: S101 - narrows the type
        field.choices = [(row.candidate.pk, str(row.candidate)) for row in results.ranked]
        field.initial = [row.candidate.pk for row in results.ranked[:MIN_ADOPTED]]
        field.help_text = _("Pick %(min)d to %(max)d, in the ranking's order.") % {
            "min": MIN_ADOPTED,
            "max": MAX_ADOPTED,
        }


@admin.register(FactorSurvey)
class FactorSurveyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = FactorSurveyForm
    inlines = (SurveyCandidateInline,)
    list_display = ("category", "status", "opens_at", "closes_at", "invited", "answered", "adopted_at")
    list_filter = ("status",)
    list_select_related = ("category",)
    search_fields = ("category__name_zh", "category__name_en", "category__slug")
    readonly_fields = ("status", "adopted_at", "respondent_count", "results")
    actions = ("open_surveys", "close_surveys")

    def get_queryset(self, request: HttpRequest) -> QuerySet[FactorSurvey]:
        queryset: QuerySet[FactorSurvey] = super().get_queryset(request)
        return queryset.annotate(
            invited_count=Count("invitations", distinct=True),
            answered_count=Count("invitations__response", distinct=True),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: FactorSurvey | None = None) -> tuple[str, ...]:
        if obj is not None and obj.status != FactorSurvey.Status.DRAFT:
            return ("category", "opens_at", "closes_at", *self.readonly_fields)
        return tuple(self.readonly_fields)

    @admin.display(description=_("invited"), ordering="invited_count")
    def invited(self, obj: FactorSurvey) -> int:
        return int(getattr(obj, "invited_count", 0))

    @admin.display(description=_("answered"), ordering="answered_count")
    def answered(self, obj: FactorSurvey) -> int:
        return int(getattr(obj, "answered_count", 0))

    @admin.display(description=_("ranking"))
    def results(self, obj: FactorSurvey) -> SafeString | str:
        if obj.pk is None or obj.status == FactorSurvey.Status.DRAFT:
            return "—"
        url = reverse("admin:ratings_factorsurvey_results", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("See the ranking and adopt factors"))

    @admin.action(description=_("Open the selected drafts and invite the category's buyers"))
    def open_surveys(self, request: HttpRequest, queryset: QuerySet[FactorSurvey]) -> None:
        for survey in queryset.order_by("pk"):
            try:
                invited = surveys.survey_open(survey=survey)
            except surveys.SurveyError as error:
                self.message_user(request, f"{survey}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request, _("%(survey)s: %(count)d buyers invited.") % {"survey": survey, "count": invited}
                )

    @admin.action(description=_("Close the selected open surveys"))
    def close_surveys(self, request: HttpRequest, queryset: QuerySet[FactorSurvey]) -> None:
        closed = sum(surveys.survey_close(survey=survey) for survey in queryset.order_by("pk"))
        self.message_user(request, _("%(count)d surveys closed.") % {"count": closed})

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.results_view)
        return [path("<int:pk>/ranking/", view, name="ratings_factorsurvey_results"), *super().get_urls()]

    def results_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The survey's ranking with counts and agreement; staff who may change categories adopt from it."""
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        survey = get_object_or_404(FactorSurvey.objects.select_related("category"), pk=pk)
        results = surveys.survey_results(survey)
        may_adopt = request.user.has_perm("catalog.change_category") and request.user.has_perm(
            "ratings.change_factorsurvey"
        )
        form = AdoptForm(request.POST if request.method == "POST" else None, results=results)
        if request.method == "POST" and may_adopt and form.is_valid():
            chosen = set(form.cleaned_data["candidates"])
            ordered = [row.candidate.pk for row in results.ranked if row.candidate.pk in chosen]
            try:
                surveys.survey_adopt(survey=survey, candidate_ids=ordered)
            except surveys.SurveyError as error:
                form.add_error(None, str(error.message))
            else:
                self.message_user(
                    request, _("The category's factors are now the %(count)d picked.") % {"count": len(ordered)}
                )
                return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Ranking of %(survey)s") % {"survey": survey},
            "opts": self.model._meta,
            "survey": survey,
            "results": results,
            "form": form,
            "may_adopt": may_adopt and surveys.survey_adoptable(survey),
        }
        return TemplateResponse(request, "admin/ratings/factorsurvey_results.html", context)


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(ReadOnlyMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("survey", "user", "created_at")
    list_select_related = ("survey__category", "user")
    raw_id_fields = ("survey", "user", "purchase")


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("invitation", "suggestion", "created_at")
    list_select_related = ("invitation",)
    raw_id_fields = ("invitation",)
