"""What the ratings admin pages share: read-only job output, big tables, and the run-now button."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Field, Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from catalog.admin_pagination import EstimatedCountPaginator

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


def rounded(model: type[Model], field: str, *, places: int = 2) -> Callable[[Any, Any], str | None]:
    """An admin column (or read-only field) showing a float field to ``places`` decimals, under the
    field's own (translated) name and sortable by it.

    The admin prints floats in full (3.3493589743589745); staff compare scores to two decimals. Assign
    it to a name on the admin class and list that name: ``comprehensive_shown = rounded(ProductResult, …)``.
    """

    model_field = model._meta.get_field(field)
    if not isinstance(model_field, Field):
        raise TypeError(f"{model.__name__}.{field} is a relation's reverse side, not a column")

    @admin.display(description=model_field.verbose_name, ordering=field)
    def show(model_admin: Any, obj: Any) -> str | None:
        value = getattr(obj, field)
        return None if value is None else f"{value:.{places}f}"

    return show


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


class RunNowAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A "run now" button on a job's run list: POST only, enqueued after commit, for staff who may add runs."""

    change_list_template = "admin/ratings/run_now_change_list.html"
    run_now_label: str | _StrPromise
    run_now_done: str | _StrPromise
    run_now_denied: str | _StrPromise
    run_now_task: Any  # a Celery task taking ``triggered_by``

    def _run_now_name(self) -> str:
        meta = self.model._meta
        return f"{meta.app_label}_{meta.model_name}_run_now"

    def get_urls(self) -> list[URLPattern]:
        run_now = self.admin_site.admin_view(require_POST(self.run_now_view))
        return [path("run-now/", run_now, name=self._run_now_name()), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = {
            "run_now_url": reverse(f"admin:{self._run_now_name()}"),
            "run_now_label": self.run_now_label,
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def run_now_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """Enqueue the job after commit; the page shows the run once a worker has started it."""
        meta = self.model._meta
        if not request.user.has_perm(f"{meta.app_label}.add_{meta.model_name}"):
            self.message_user(request, self.run_now_denied, messages.ERROR)
        else:
            triggered_by = f"staff:{getattr(request.user, 'email', '')}"[:60]
            task = self.run_now_task
            transaction.on_commit(lambda: task.delay(triggered_by), robust=True)
            self.message_user(request, self.run_now_done, messages.SUCCESS)
        return HttpResponseRedirect(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
