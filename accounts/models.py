from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        if not email:
            raise ValueError("Users must have an email address.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A platform account; email is the login.

    The platform already holds a buyer's email and order history, so the account keeps those and a
    display name, nothing more personal.
    """

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    is_banned = models.BooleanField(
        _("banned"), default=False, help_text=_("Banned users are never invited and cannot rate.")
    )
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ("id",)

    def __str__(self) -> str:
        return self.public_name

    @property
    def public_name(self) -> str:
        """The name shown next to a user's content: never the full email address."""
        if self.display_name:
            return self.display_name
        local = self.email.split("@", 1)[0]
        return f"{local[:2]}***"


class Notification(models.Model):
    """A message in a user's in-app inbox. Its text is rendered per kind, in the reader's language."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Invitation to rate")
        DECISION = "decision", _("Moderation decision about your content")
        REFUND = "refund", _("Purchase refunded: invitation withdrawn")
        APPEAL = "appeal", _("Answer to your appeal")
        COUNTERFEIT = "counterfeit", _("Decision on your counterfeit report")
        SURVEY = "survey", _("Invitation to choose a category's factors")
        STAKE = "stake", _("Your earlier ratings of the products you now speak for no longer count")

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # What the message is about, e.g. the invitation's id; unique per user so a re-run never repeats it.
    subject_id = models.BigIntegerField(_("about (id)"))
    url = models.CharField(_("link"), max_length=200)
    context = models.JSONField(_("details"), default=dict, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Set in the transaction that sends the email, so a message is emailed once however often it is asked.
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "subject_id"], name="notification_once_per_subject")
        ]
        indexes = [
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_unread_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"
