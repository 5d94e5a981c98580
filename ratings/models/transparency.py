"""What the platform hands to outsiders: auditors' exports of a scoring run, and monthly open-data releases.

Neither row holds the data itself. An export's files stay with the operator who wrote them (its key is
shown once and only its hash is kept, so staff can later confirm which key an auditor was given); a
release's zip is under ``MEDIA_ROOT`` and served to anyone.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ratings.models.results import ScoringRun


class AuditExport(models.Model):
    """One auditor's export of a scoring run (``python manage.py audit_export``)."""

    run = models.ForeignKey(ScoringRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="audit_exports")
    key_sha256 = models.CharField(
        _("key hash (SHA-256)"),
        max_length=64,
        help_text=_("The hash of the export's pseudonym key. The key itself was shown once and is not stored."),
    )
    directory = models.CharField(_("written to"), max_length=500)
    votes = models.PositiveIntegerField(_("votes"))
    formats = models.CharField(_("formats"), max_length=40)
    created_by = models.CharField(_("written by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("audit export")
        verbose_name_plural = _("audit exports")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"run {self.run_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class OpenDataRelease(models.Model):
    """A month's counted votes, anonymised, as a zip anyone can download from the open-data page."""

    month = models.DateField(_("month"), unique=True, help_text=_("The first day of the month released."))
    file = models.FileField(_("file"), upload_to="open-data/")
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    votes = models.PositiveIntegerField(_("votes released"))
    products = models.PositiveIntegerField(_("products released"))
    products_suppressed = models.PositiveIntegerField(
        _("products left out"), help_text=_("Products with too few raters in the month to release without risk.")
    )
    min_raters = models.PositiveSmallIntegerField(_("fewest raters per product released"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("open-data release")
        verbose_name_plural = _("open-data releases")
        ordering = ("-month",)

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"
