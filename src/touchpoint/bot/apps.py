from django.apps import AppConfig


class BotConfig(AppConfig):
    name = "touchpoint.bot"
    label = "bot"
    verbose_name = "Bot: language understanding, dialogue and handoff"

    def ready(self) -> None:
        from touchpoint.bot import listeners

        listeners.register()
