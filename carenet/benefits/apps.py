from django.apps import AppConfig


class BenefitsConfig(AppConfig):
    name = "carenet.benefits"
    label = "benefits"

    def ready(self) -> None:
        from carenet.benefits import enrolment  # noqa: F401  (follows children who move: registry signal)
