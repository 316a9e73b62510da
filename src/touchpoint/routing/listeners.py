"""What the router does when conversations change: queue what needs an agent, and give a freed slot
to the next contact at once (queue-then-assign)."""

from touchpoint.accounts.models import Membership
from touchpoint.conversations.events import (
    ConversationAssigned,
    ConversationOpened,
    ConversationStatusChanged,
)
from touchpoint.conversations.models import Conversation, Status
from touchpoint.core.events import subscribe
from touchpoint.routing import services


def register() -> None:
    subscribe(ConversationOpened, on_opened)
    subscribe(ConversationStatusChanged, on_status_changed)
    subscribe(ConversationAssigned, on_assigned)


def on_opened(event: ConversationOpened) -> None:
    if not services.has_queues(event.workspace_id):
        return  # a desk that does not route: nothing to read
    conversation = _conversation(event.conversation_id)
    if conversation is not None:
        services.enqueue(conversation)


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
