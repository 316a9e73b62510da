from dataclasses import dataclass

from touchpoint.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ConversationOpened(DomainEvent):
    name = "conversation.opened"
    conversation_id: int
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class MessageCreated(DomainEvent):
    name = "message.created"
    conversation_id: int
    customer_id: int  # who may see it, when public: the fan-out needs no lookup
    message_id: int
    kind: str


@dataclass(frozen=True, kw_only=True)
class ConversationAssigned(DomainEvent):
    name = "conversation.assigned"
    conversation_id: int
    assignee_id: int | None
    previous_assignee_id: int | None
    team_id: int | None


@dataclass(frozen=True, kw_only=True)
class ConversationStatusChanged(DomainEvent):
    name = "conversation.status_changed"
    conversation_id: int
    status: str
    previous_status: str


@dataclass(frozen=True, kw_only=True)
class ConversationUpdated(DomainEvent):
    """Priority, tags, custom fields or subject changed."""

    name = "conversation.updated"
    conversation_id: int
    fields: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class MessageDeliveryChanged(DomainEvent):
    name = "message.delivery_changed"
    conversation_id: int
    message_id: int
    status: str  # queued, retrying, sent, delivered, read, failed


@dataclass(frozen=True, kw_only=True)
class ConversationHandedOff(DomainEvent):
    """The bot passed the conversation to people: routing queues it, for `skill` when one is named."""

    name = "conversation.handed_off"
    conversation_id: int
    reason: str
    skill: str = ""
