"""Outbound SMS and WhatsApp. The adapter decides what to send and to whom; a provider (Twilio
today) only knows how to hand a text to its network."""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.urls import reverse

from touchpoint.channels import adapters
from touchpoint.channels.adapters import PermanentDeliveryError
from touchpoint.channels.messaging.twilio import TwilioProvider
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel, Message, MessageKind
from touchpoint.customers.models import Identity, IdentityKind

PHONE_CHANNELS = (Channel.SMS, Channel.WHATSAPP)


class TextProvider(Protocol):
    def send_text(self, *, account: ChannelAccount, to: str, body: str, status_callback: str = "") -> str:
        """Hand the text to the network; return the provider's id for it."""
        ...


@dataclass(frozen=True)
class MessagingAdapter:
    provider: TextProvider

    def send(self, message: Message, account: ChannelAccount) -> str:
        # Text only: long bodies go as they are (the network splits them into segments). Files would
        # need a public URL for the provider to fetch, so attachments are not sent.
        body = message.content_text
        if not body.strip():
            raise PermanentDeliveryError(f"{message.get_channel_display()} replies carry text; this one has none.")
        return self.provider.send_text(account=account, to=recipient(message), body=body,
                                       status_callback=status_callback_url(account))


def recipient(message: Message) -> str:
    """The number the customer last wrote from on this channel, else their first known phone number."""
    last_incoming = (
        Message.objects.filter(conversation_id=message.conversation_id, kind=MessageKind.INCOMING, channel=message.channel)
        .order_by("-created_at", "-id").values_list("metadata", flat=True).first()
    )
    if last_incoming and last_incoming.get("from"):
        return last_incoming["from"]
    phone = (Identity.objects.filter(customer_id=message.customer_id, kind=IdentityKind.PHONE)
             .order_by("created_at", "id").values_list("value", flat=True).first())
    if phone is None:
        raise PermanentDeliveryError("The customer has no phone number to send to; add one to their profile.")
    return phone


def status_callback_url(account: ChannelAccount) -> str:
    """Where the provider reports delivery; empty (no reports) until PUBLIC_BASE_URL says where we are."""
    if not settings.PUBLIC_BASE_URL:
        return ""
    return settings.PUBLIC_BASE_URL + reverse("channels:twilio-status", args=[account.pk])


def register_adapters() -> None:
    for channel in PHONE_CHANNELS:
        adapters.register(channel, MessagingAdapter(TwilioProvider()))
