from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from catalog.admin_pagination import EstimatedCountPaginator


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    ordering = ("-id",)
    list_display = ("email", "display_name", "is_staff", "is_banned", "is_active", "date_joined", "last_seen_at")
    list_filter = ("is_staff", "is_superuser", "is_active", "is_banned")
    search_fields = ("email", "display_name")
    # 500,000 accounts at full scale: no full COUNT(*) on every page view.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("display_name",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_banned", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "last_seen_at", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
