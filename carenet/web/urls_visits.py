"""Web routes for visits pages (included into the "web" namespace by carenet/web/urls.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
