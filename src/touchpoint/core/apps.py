from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "touchpoint.core"
    label = "core"
