"""What was handed to outsiders: auditors' exports (a record only: the files stay with the operator) and
the open-data releases (their zips, which anyone can download from /open-data/)."""

from __future__ import annotations

from django.contrib import admin

from ratings.admin.base import ReadOnlyMixin
from ratings.models import AuditExport, OpenDataRelease


@admin.register(AuditExport)
class AuditExportAdmin(ReadOnlyMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "run", "created_at", "votes", "formats", "created_by")
    fields = ("run", "created_at", "created_by", "directory", "votes", "formats", "key_sha256")
    readonly_fields = fields
    list_select_related = ("run",)


@admin.register(OpenDataRelease)
class OpenDataReleaseAdmin(ReadOnlyMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("month", "votes", "products", "products_suppressed", "min_raters", "size_bytes", "created_at")
    fields = (*list_display, "file", "sha256")
    readonly_fields = fields
