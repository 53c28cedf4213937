from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "carenet.visits"
    label = "visits"

    def ready(self) -> None:
        from carenet.visits import schedule  # noqa: F401  (connects the registry signals)
