from django.apps import AppConfig


class BenefitsConfig(AppConfig):
    name = "carenet.benefits"
    label = "benefits"

    def ready(self) -> None:
        # Both follow children who move (registry signal).
        from carenet.benefits import applications, enrolment  # noqa: F401
