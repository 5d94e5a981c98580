from django.urls import path, re_path

from ratings import views, views_open_data

app_name = "ratings"

urlpatterns = [
    path("invitations/", views.invitation_list, name="invitations"),
    path("invitations/<int:pk>/", views.invitation_detail, name="invitation"),
    path("invitations/<int:pk>/accept/", views.invitation_accept, name="invitation_accept"),
    path("invitations/<int:pk>/decline/", views.invitation_decline, name="invitation_decline"),
    path("invitations/<int:pk>/vote/", views.vote, name="vote"),
    path("invitations/<int:pk>/confirm/", views.vote_confirm, name="vote_confirm"),
    path("reviews/<int:pk>/helpful/", views.review_helpful, name="review_helpful"),
    path("little-red-heart/", views.heart_list, name="heart_list"),
    path("methodology/", views.methodology, name="methodology"),
    path("brand/", views.brand_page, name="brand"),
    path("brand/export.csv", views.brand_export, name="brand_export"),
    path("surveys/<int:pk>/", views.survey, name="survey"),
    path("open-data/", views_open_data.open_data, name="open_data"),
    re_path(
        r"^open-data/(?P<month>[0-9]{4}-[0-9]{2})\.zip$", views_open_data.open_data_download, name="open_data_download"
    ),
]
