from django.apps import AppConfig


class LinkageConfig(AppConfig):
    """Only for the `carenet link` command: the linkage modules themselves never import Django."""

    name = "carenet.linkage"
    label = "linkage"
