from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "touchpoint.routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from touchpoint.routing import listeners

        listeners.register()
