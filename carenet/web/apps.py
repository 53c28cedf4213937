from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "carenet.web"
    label = "web"
