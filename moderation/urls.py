from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    path("moderation/", views.dashboard, name="dashboard"),
    path("moderation/cases/<int:pk>/", views.case_detail, name="case"),
    path("moderation/cases/<int:pk>/vote/", views.case_vote, name="case_vote"),
    path("moderation/cases/<int:pk>/undo/", views.case_undo, name="case_undo"),
    path("moderation/audits/", views.audits, name="audits"),
    path("moderation/audits/<int:pk>/dispute/", views.audit_dispute, name="audit_dispute"),
    path("moderation/test/", views.test_home, name="test"),
    path("moderation/test/start/", views.test_start, name="test_start"),
    path("moderation/test/<int:pk>/", views.test_attempt, name="attempt"),
    path("moderation/report/<str:kind>/<int:pk>/", views.report, name="report"),
    path("moderation/decisions/<int:pk>/", views.decision, name="decision"),
    path("moderation/counterfeits/", views.counterfeit_claims, name="counterfeit_claims"),
    path("moderation/counterfeits/<int:pk>/vote/", views.counterfeit_vote, name="counterfeit_vote"),
    path("moderation/counterfeits/report/<slug:slug>/", views.counterfeit_report, name="counterfeit_report"),
]
