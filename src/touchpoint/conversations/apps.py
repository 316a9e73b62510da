from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "touchpoint.conversations"
    label = "conversations"

    def ready(self) -> None:
        from touchpoint.conversations.selectors import timeline_source
        from touchpoint.customers.timeline import register_source

        register_source(timeline_source)
