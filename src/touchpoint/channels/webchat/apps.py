from django.apps import AppConfig


class WebchatConfig(AppConfig):
    """The website chat widget: its public surface under /widget/v1/ and the visitor's socket."""

    name = "touchpoint.channels.webchat"
    label = "webchat"
    verbose_name = "Web chat"
