from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "touchpoint.realtime"
    label = "realtime"
