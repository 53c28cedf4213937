from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "carenet.audit"
    label = "audit"
