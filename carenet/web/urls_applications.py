"""Determination (精准认定): applications and their steps (issue #5)."""

from django.urls import path

from carenet.web.views import applications

urlpatterns: list = [
    path("applications/", applications.application_list, name="application_list"),
    path("applications/<int:pk>/", applications.application_detail, name="application_detail"),
    path("applications/<int:pk>/action/", applications.application_action, name="application_action"),
    path("applications/<int:pk>/evidence/", applications.application_evidence, name="application_evidence"),
    path("children/<int:pk>/applications/new/", applications.application_create, name="application_create"),
]
