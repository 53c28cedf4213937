from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "carenet.registry"
    label = "registry"
