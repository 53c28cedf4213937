from django.urls import include, path

from carenet.api.v1.router import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("carenet.web.urls")),
]
