from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Little Red Heart · 小红心"
admin.site.site_title = "Little Red Heart"
# The admin login goes through allauth, so its rate limits cover it too.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("catalog.urls")),
    path("", include("ratings.urls")),
    path("", include("accounts.urls")),
    path("", include("moderation.urls")),
]
