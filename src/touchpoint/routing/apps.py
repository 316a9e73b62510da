from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "touchpoint.routing"
    verbose_name = "Routing"
