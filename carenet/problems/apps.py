from django.apps import AppConfig


class ProblemsConfig(AppConfig):
    name = "carenet.problems"
    label = "problems"
