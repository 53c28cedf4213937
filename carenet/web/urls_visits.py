"""Web routes for visits pages (included into the "web" namespace by carenet/web/urls.py)."""

from django.urls import path

from carenet.web.views import visits

urlpatterns: list = [
    path("visits/", visits.visit_worklist, name="visit_worklist"),
    path("visits/review/", visits.visit_review, name="visit_review"),
    path("visits/review/sample/", visits.visit_sample, name="visit_sample"),
    path("visits/stats/", visits.visit_stats, name="visit_stats"),
    path("visits/rules/", visits.visit_rules, name="visit_rules"),
    path("visits/photos/<int:pk>/", visits.visit_photo, name="visit_photo"),
    path("visits/<int:pk>/", visits.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/review/", visits.visit_review_action, name="visit_review_action"),
    path("visits/<int:pk>/correct/", visits.visit_correct, name="visit_correct"),
]
