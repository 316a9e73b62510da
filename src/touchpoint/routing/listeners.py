"""What the router does when conversations change: queue what needs an agent, and give a freed slot
to the next contact at once (queue-then-assign)."""

from touchpoint.accounts.models import Membership
from touchpoint.conversations.events import (
    ConversationAssigned,
    ConversationHandedOff,
    ConversationOpened,
    ConversationStatusChanged,
    ConversationUpdated,
    MessageCreated,
)
from touchpoint.conversations.models import Conversation, Message, MessageKind, Status
from touchpoint.core.events import subscribe, subscribe_in_transaction
from touchpoint.routing import services


def register() -> None:
    subscribe(ConversationOpened, on_opened)
    subscribe(ConversationHandedOff, on_handed_off)
    subscribe(ConversationStatusChanged, on_status_changed)
    subscribe(ConversationAssigned, on_assigned)
    subscribe(MessageCreated, on_message)
    subscribe(ConversationUpdated, on_message)
    # SLAs, after the router so a contact it has just queued gets its due time.
    subscribe_in_transaction(ConversationStatusChanged, log_status_for_sla)
    for event_type in (ConversationOpened, ConversationStatusChanged, MessageCreated, ConversationUpdated):
        subscribe(event_type, evaluate_sla)


def on_opened(event: ConversationOpened) -> None:
    if not services.has_queues(event.workspace_id):
        return  # a desk that does not route: nothing to read
    conversation = _conversation(event.conversation_id)
    if conversation is not None:
        services.enqueue(conversation)


def on_handed_off(event: ConversationHandedOff) -> None:
    """The bot let go: the customer waits for a person from now, in a queue for the skill they need."""
    if not services.has_queues(event.workspace_id):
        return
    conversation = _conversation(event.conversation_id)
    if conversation is not None:
        services.enqueue(conversation, skill=event.skill)


def on_message(event: MessageCreated | ConversationUpdated) -> None:
    """An agent answered (a reply, a call picked up): the customer no longer waits in a queue."""
    if isinstance(event, MessageCreated) and event.kind != MessageKind.OUTGOING:
        return
    if isinstance(event, ConversationUpdated) and "waiting_since" not in event.fields:
        return
    conversation = _conversation(event.conversation_id)
    if conversation is not None and conversation.waiting_since is None:
        services.stop_waiting(conversation)


def on_status_changed(event: ConversationStatusChanged) -> None:
    conversation = _conversation(event.conversation_id)
    if conversation is None:
        return
    if event.status == Status.OPEN:
        services.enqueue(conversation)  # reopened: back to its agent if any, else to the queue
        return
    services.stop_waiting(conversation)
    if event.previous_status == Status.OPEN and conversation.assignee_id is not None:
        _offer(conversation.assignee_id)  # a slot freed up


def on_assigned(event: ConversationAssigned) -> None:
    conversation = _conversation(event.conversation_id)
    if conversation is None:
        return
    if event.assignee_id is not None:
        services.stop_waiting(conversation)
    else:
        services.enqueue(conversation)  # unassigned, or transferred to a team without its agent
    if event.previous_assignee_id is not None and event.previous_assignee_id != event.assignee_id:
        _offer(event.previous_assignee_id)


def _conversation(conversation_id: int) -> Conversation | None:
    return Conversation.objects.select_related("customer").filter(pk=conversation_id).first()


def _offer(membership_id: int) -> None:
    membership = Membership.objects.filter(pk=membership_id, is_active=True).first()
    if membership is not None:
        services.offer_work(membership)


# ---- SLAs -------------------------------------------------------------------------------------------

# Conversation fields a policy matches on (channel and customer don't change), and the bot letting go,
# which starts the clocks.
SLA_FIELDS = frozenset({"priority", "held_by_bot"})


def log_status_for_sla(event: ConversationStatusChanged) -> None:
    """In the change's transaction: the clocks pause and stop on these."""
    services.record_status_change(workspace_id=event.workspace_id, conversation_id=event.conversation_id,
                                  status=event.status)


def evaluate_sla(event: ConversationOpened | ConversationStatusChanged | MessageCreated | ConversationUpdated) -> None:
    """Anything that starts, stops or answers a clock, or changes which policy applies. Notes and
    system events (the SLA's own warnings among them) change nothing."""
    if isinstance(event, MessageCreated) and event.kind not in (MessageKind.INCOMING, MessageKind.OUTGOING):
        return
    if isinstance(event, ConversationUpdated) and not SLA_FIELDS & set(event.fields):
        return
    if isinstance(event, ConversationOpened) and Message.objects.filter(
            conversation_id=event.conversation_id, kind__in=(MessageKind.INCOMING, MessageKind.OUTGOING)).exists():
        return  # opened by its first message: that message's own event evaluates it, once
    services.evaluate_sla_of(event.conversation_id, workspace_id=event.workspace_id)
