"""Outbound delivery per channel. An adapter sends one stored message through its provider and
returns the provider's id for it; it raises TransientDeliveryError when a retry may succeed."""

from typing import Protocol

from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Message


class TransientDeliveryError(Exception):
    """The provider is unreachable or asked us to slow down: try again later."""


class PermanentDeliveryError(Exception):
    """The provider refused the message for good (bad address, unsubscribed number)."""


class Adapter(Protocol):
    def send(self, message: Message, account: ChannelAccount) -> str: ...


_adapters: dict[str, Adapter] = {}


def register(channel: str, adapter: Adapter) -> None:
    _adapters[channel] = adapter


def adapter_for(channel: str) -> Adapter | None:
    """None for channels whose replies reach the customer another way (the widget's socket, the API)."""
    return _adapters.get(channel)
