from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "touchpoint.channels"
    label = "channel_accounts"  # "channels" is Django Channels' own label
    verbose_name = "Channels"

    def ready(self) -> None:
        from touchpoint.channels import listeners

        listeners.register()
        from touchpoint.channels import adapters
        from touchpoint.channels.email.outbound import EmailAdapter

        adapters.register("email", EmailAdapter())
        from touchpoint.channels.messaging.adapter import register_adapters
        from touchpoint.channels.voice.selectors import timeline_source
        from touchpoint.customers.timeline import register_source

        register_adapters()
        register_source(timeline_source)
