from django.urls import path

from api.endpoints import api

# Version 1 lives under /api/v1/; a version 2 would be a second NinjaAPI beside it, not a change to this one.
urlpatterns = [path("v1/", api.urls)]
