"""Reads for the widget. Everything a visitor may see is filtered here: public messages (never notes
or system events) of their own customer record, in conversations that belong to the chat."""

import logging
from collections.abc import Callable

from django.db.models import Q, QuerySet

from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel, Conversation, Message, MessageKind
from touchpoint.core.clock import within_business_hours
from touchpoint.customers.identities import normalize
from touchpoint.customers.models import Customer, Identity
from touchpoint.realtime.models import Audience, LiveEvent

log = logging.getLogger(__name__)
HISTORY_LIMIT = 50  # messages a returning visitor sees at once
REPLAY_LIMIT = 200  # missed messages replayed after a reconnect; more and the widget reloads its history
PUBLIC_KINDS = (MessageKind.INCOMING, MessageKind.OUTGOING)


def widget_account(key: str) -> ChannelAccount | None:
    """The active widget with this public key, with its workspace (for hours and time zone)."""
    if not key or len(key) > 255:
        return None
    return (ChannelAccount.objects.select_related("workspace")
            .filter(kind=Channel.WEBCHAT, address=key, is_active=True).first())


def follow_merges(customer: Customer | None) -> Customer | None:
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id is not None and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    return customer


def identity_owner(workspace_id: int, kind: str, value: str) -> Customer | None:
    """The (surviving) customer who owns this identity, or None. `value` must be normalized. A claim
    (an address some visitor typed) is nobody's: None."""
    identity = (Identity.objects.select_related("customer")
                .filter(workspace_id=workspace_id, kind=kind, value=value, claimed=False).first())
    return follow_merges(identity.customer) if identity else None


def holds_identity(customer: Customer, kind: str, value: str) -> bool:
    """The customer has this identity, as their own or as a claim."""
    return Identity.objects.filter(customer=customer, kind=kind, value=value).exists()


def visitor_customer(workspace_id: int, visitor_id: str) -> Customer | None:
    return identity_owner(workspace_id, "visitor", normalize("visitor", visitor_id))


def has_verified_identity(customer: Customer) -> bool:
    """A customer some site has vouched for: an anonymous visitor must never be shown their chats."""
    return Identity.objects.filter(customer=customer, verified=True).exists()


def stored_message(workspace_id: int, client_id: str) -> Message | None:
    """The widget message already stored under this client id (a resend after a dropped connection)."""
    # exclude(""): the condition of the partial unique index, so SQLite uses it (see conversations.services).
    return (Message.objects.filter(workspace_id=workspace_id, channel=Channel.WEBCHAT, external_id=client_id)
            .exclude(external_id="").first())


def _visible(customer_id: int) -> QuerySet[Message]:
    return (
        Message.objects.filter(customer_id=customer_id, kind__in=PUBLIC_KINDS)
        .filter(Q(channel=Channel.WEBCHAT) | Q(conversation__channel=Channel.WEBCHAT))
        .select_related("author")
        .prefetch_related("attachments")
    )


def widget_history(customer_id: int, *, limit: int = HISTORY_LIMIT) -> list[Message]:
    """The latest public messages of the customer's chats, oldest first."""
    latest = list(_visible(customer_id).order_by("-created_at", "-id")[:limit])
    latest.reverse()
    return latest


def widget_message(customer_id: int, message_id: int) -> Message | None:
    """One message, only if this customer may see it in the widget."""
    return _visible(customer_id).filter(pk=message_id).first()


def missed_messages(workspace_id: int, customer_id: int, after_event_id: int, upto_event_id: int,
                    *, limit: int = REPLAY_LIMIT) -> list[tuple[int, Message]] | None:
    """(event id, message) for the public messages of this customer's conversations logged in
    (after, upto], oldest first; None when there are too many to replay (the widget reloads instead)."""
    # By the customer's conversations (a few) rather than every event of the workspace in the range.
    conversations = list(Conversation.objects.filter(customer_id=customer_id).values_list("pk", flat=True))
    events = list(
        LiveEvent.objects.filter(workspace_id=workspace_id, id__gt=after_event_id, id__lte=upto_event_id,
                                 audience=Audience.PUBLIC, type="message.created",
                                 conversation_id__in=conversations)
        .order_by("id").values_list("id", "payload")[: limit + 1]
    )
    if len(events) > limit:
        return None
    ids = {payload["message_id"]: event_id for event_id, payload in events}
    messages = {m.pk: m for m in _visible(customer_id).filter(pk__in=ids)}
    return [(ids[pk], messages[pk]) for pk in sorted(messages, key=lambda pk: ids[pk])]


def is_online(account: ChannelAccount) -> bool:
    """Chat is staffed: within the widget's own hours, else the workspace's business hours. (When
    routing knows which agents are present, "someone is available" belongs here too.)"""
    config = account.config or {}
    if config.get("always_online"):
        return True
    workspace = account.workspace
    hours = config["business_hours"] if "business_hours" in config else workspace.business_hours or {}
    return within_business_hours(hours, workspace.timezone, workspace.holidays or [])


# Apps that add to what the widget is told (the bot: its name, its greeting, that it answers at any
# hour). Each gets the widget and returns the keys it sets; it runs on every widget connection.
ConfigSource = Callable[[ChannelAccount], dict]
_config_sources: list[ConfigSource] = []


def register_config_source(source: ConfigSource) -> None:
    if source not in _config_sources:
        _config_sources.append(source)


def public_config(account: ChannelAccount) -> dict:
    """What the widget shows before anyone writes: never the secret, never team ids."""
    shown = _own_config(account)
    for source in _config_sources:
        try:
            shown.update(source(account))
        except Exception:  # the widget still works as a plain chat
            log.exception("widget config source %s failed", source)
    return shown


def _own_config(account: ChannelAccount) -> dict:
    from django.conf import settings

    config = account.config or {}
    return {
        "name": account.workspace.name,
        "title": config.get("title") or account.name,
        "greeting": config.get("greeting") or "Hi! How can we help?",
        "color": config.get("color") or "#2457d6",
        "prechat": {"enabled": bool(config.get("prechat")), "topics": sorted((config.get("topics") or {}).keys())},
        "online": is_online(account),
        "offline_message": config.get("offline_message")
        or "We're away right now. Leave your email and message, and we'll answer by email.",
        "limits": {
            "message_chars": settings.WIDGET_MAX_MESSAGE_CHARS,
            "messages_per_minute": settings.WIDGET_MESSAGES_PER_MINUTE,
            "upload_bytes": settings.WIDGET_UPLOAD_MAX_BYTES,
            "upload_types": sorted(settings.ATTACHMENT_CONTENT_TYPES),
        },
    }


# Domains reserved for examples (RFC 2606, RFC 6761): no real customer has an address there.
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
EXAMPLE_TLDS = (".example", ".test", ".invalid", ".localhost")


def is_example_address(email: str) -> bool:
    domain = email.rpartition("@")[2].lower()
    return domain in EXAMPLE_DOMAINS or domain.endswith(EXAMPLE_TLDS) or domain.endswith(
        tuple(f".{d}" for d in EXAMPLE_DOMAINS))


def demo_shopper(workspace_id: int) -> tuple[Customer, str, str] | None:
    """A made-up customer with a shop account and chats, to sign in as on the demo store: (customer,
    their shop user id, their email). Only someone whose every email is on an example domain."""
    identities = (Identity.objects.filter(workspace_id=workspace_id, kind="external", verified=True,
                                          customer__merged_into__isnull=True,
                                          customer__conversations__channel=Channel.WEBCHAT)
                  .select_related("customer").order_by("customer_id")[:50])
    for identity in identities:
        emails = list(Identity.objects.filter(customer_id=identity.customer_id, kind="email").order_by("id")
                      .values_list("value", flat=True))
        if emails and all(is_example_address(email) for email in emails):
            return identity.customer, identity.value, emails[0]
    return None
