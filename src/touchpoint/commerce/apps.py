from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "touchpoint.commerce"
    label = "commerce"

    def ready(self) -> None:
        from touchpoint.commerce.timeline import timeline_source
        from touchpoint.customers.timeline import register_source

        register_source(timeline_source)
