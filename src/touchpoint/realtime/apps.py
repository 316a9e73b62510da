from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "touchpoint.realtime"
    label = "realtime"

    def ready(self) -> None:
        from touchpoint.realtime import listeners

        listeners.register()
