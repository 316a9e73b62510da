import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from touchpoint.accounts.models import Membership
from touchpoint.accounts.selectors import actor_for
from touchpoint.channels.messaging.services import connect_twilio_number
from touchpoint.channels.voice.services import connect_voice_line
from touchpoint.core.errors import DomainError
from touchpoint.core.permissions import Role


class Command(BaseCommand):
    help = ("Connect a phone number: an SMS or WhatsApp number of a Twilio account, or a voice line whose telephony "
            "system posts call events. Prints the webhook address to configure on the other side.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("workspace", help="The workspace's slug.")
        parser.add_argument("--kind", choices=["sms", "whatsapp", "voice"], required=True)
        parser.add_argument("--number", required=True, help="The number in international form, e.g. +14155550100.")
        parser.add_argument("--name", default="", help="What agents see, e.g. 'Support line'.")
        parser.add_argument("--account-sid", default="", help="Twilio account SID (sms, whatsapp).")
        parser.add_argument("--auth-token", default="",
                            help="Twilio auth token (sms, whatsapp); better given as TWILIO_AUTH_TOKEN in the environment.")

    def handle(self, *args, **options) -> None:
        admin = (Membership.objects.filter(workspace__slug=options["workspace"], role=Role.ADMIN, is_active=True)
                 .order_by("pk").first())
        if admin is None:
            raise CommandError(f"No workspace {options['workspace']!r} with an active admin; see `touchpoint createworkspace`.")
        kind, name = options["kind"], options["name"] or f"{options['kind'].upper()} {options['number']}"
        try:
            if kind == "voice":
                account = connect_voice_line(actor=actor_for(admin), name=name, number=options["number"])
            else:
                account = connect_twilio_number(
                    actor=actor_for(admin), kind=kind, name=name, number=options["number"],
                    account_sid=options["account_sid"],
                    auth_token=options["auth_token"] or os.environ.get("TWILIO_AUTH_TOKEN", ""),
                )
        except DomainError as error:
            raise CommandError(error.message) from None
        base = settings.PUBLIC_BASE_URL or "https://<this desk's public address>"
        self.stdout.write(f"Connected {account.address} ({kind}) as channel account {account.pk}.")
        if kind == "voice":
            self.stdout.write(f"Telephony system: POST call events to {base}{reverse('channels:voice-events', args=[account.pk])}")
            self.stdout.write(f"Sign each body with this key (shown once): {account.secret}")
        else:
            self.stdout.write(f"Twilio, the number's messaging 'A message comes in' webhook (HTTP POST): "
                              f"{base}{reverse('channels:twilio-messages', args=[account.pk])}")
            self.stdout.write(f"Delivery status callbacks go to {base}{reverse('channels:twilio-status', args=[account.pk])}"
                              + ("" if settings.PUBLIC_BASE_URL else " once PUBLIC_BASE_URL is set"))
