from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("me/", views.profile, name="profile"),
]
