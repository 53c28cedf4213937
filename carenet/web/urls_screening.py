"""Screening (政策找人): department lists, runs and the findings' review queue (issue #4)."""

from django.urls import path

from carenet.web.views import screening

urlpatterns: list = [
    path("screening/", screening.screening_home, name="screening_home"),
    path("screening/lists/new/", screening.list_import, name="screening_list_import"),
    path("screening/lists/<int:pk>/", screening.list_detail, name="screening_list_detail"),
    path("screening/lists/<int:pk>/original/", screening.list_original, name="screening_list_original"),
    path("screening/runs/", screening.run_start, name="screening_run_start"),
    path("screening/runs/<int:pk>/", screening.run_detail, name="screening_run_detail"),
    path("screening/findings/", screening.finding_list, name="screening_finding_list"),
    path("screening/findings/<int:pk>/", screening.finding_detail, name="screening_finding_detail"),
    path("screening/findings/<int:pk>/decide/", screening.finding_decide, name="screening_finding_decide"),
]
