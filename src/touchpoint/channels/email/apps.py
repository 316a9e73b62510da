from django.apps import AppConfig


class EmailChannelConfig(AppConfig):
    name = "touchpoint.channels.email"
    label = "channels_email"
    verbose_name = "Email channel"
