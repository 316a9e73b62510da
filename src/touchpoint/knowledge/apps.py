from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "touchpoint.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base and help center"

    def ready(self) -> None:
        from touchpoint.knowledge import listeners

        listeners.register()
