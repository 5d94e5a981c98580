from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy

from catalog import views as catalog_views
from xhs import health

admin.site.site_header = gettext_lazy("Little Red Heart")
admin.site.site_title = gettext_lazy("Little Red Heart")
# The admin login goes through allauth, so its rate limits cover it too.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/", include("api.urls")),
    path("healthz/", health.liveness, name="healthz"),
    path("readyz/", health.readiness, name="readyz"),
    path("i18n/setlang/", catalog_views.language_set, name="set_language"),
    path("", include("catalog.urls")),
    path("", include("ratings.urls")),
    path("", include("accounts.urls")),
    path("", include("moderation.urls")),
]
