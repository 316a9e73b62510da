from django.apps import AppConfig


class BotConfig(AppConfig):
    name = "touchpoint.bot"
    label = "bot"
    verbose_name = "Bot: language understanding"
