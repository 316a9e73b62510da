from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "touchpoint.automation"
    label = "automation"
    verbose_name = "Canned replies and macros"
