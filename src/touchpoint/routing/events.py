"""Events the SLA side of routing publishes (after commit), for the live fan-out and anyone else."""

from dataclasses import dataclass

from touchpoint.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class SlaChanged(DomainEvent):
    """A conversation's SLA due times or state changed: the pane and the inbox row show them."""

    name = "conversation.sla_changed"
    conversation_id: int
    state: str
    previous_state: str | None


@dataclass(frozen=True, kw_only=True)
class NotificationCreated(DomainEvent):
    """Someone on the desk has a new notification (an SLA at risk or breached). Ids only: the
    recipient's page fetches the text through its own signed-in view."""

    name = "notification.created"
    conversation_id: int | None
    notification_id: int
    recipient_id: int
    kind: str
