"""Web routes for problems pages (included into the "web" namespace by carenet/web/urls.py)."""

from django.urls import path

from carenet.web.views import problems

urlpatterns: list = [
    path("problems/", problems.problem_list, name="problem_list"),
    path("problems/<int:pk>/", problems.problem_detail, name="problem_detail"),
    path("problems/<int:pk>/action/", problems.problem_action, name="problem_action"),
    path("children/<int:pk>/problems/new/", problems.problem_create, name="problem_create"),
    path("notifications/", problems.notification_list, name="notification_list"),
    path("notifications/read/", problems.notification_read, name="notification_read"),
]
