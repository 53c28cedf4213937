"""Web routes for mobile pages (included into the "web" namespace by carenet/web/urls.py)."""

from django.urls import path

from carenet.web.views import mobile

urlpatterns: list = [
    path("m/", mobile.mobile_app, name="mobile_app"),
    path("m/sw.js", mobile.mobile_sw, name="mobile_sw"),
    path("m/key/", mobile.mobile_key, name="mobile_key"),
]
