"""Reads of routing state that the API, the wallboard and the workspace share."""

from django.db.models import QuerySet

from touchpoint.conversations.selectors import access_conversation
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor
from touchpoint.routing.models import ContactState, Queue, QueuedContact, RoutingDecision


def queues(actor: Actor) -> QuerySet[Queue]:
    return Queue.objects.filter(workspace_id=actor.workspace_id)


def access_queue(actor: Actor, queue_id: int) -> Queue:
    found = queues(actor).filter(pk=queue_id).first()
    if found is None:
        raise NotFound(f"No queue with id {queue_id} in this workspace.")
    return found


def access_contact(actor: Actor, contact_id: int) -> QueuedContact:
    found = QueuedContact.objects.filter(workspace_id=actor.workspace_id, pk=contact_id).first()
    if found is None:
        raise NotFound(f"No waiting contact with id {contact_id} in this workspace.")
    return found


def waiting_contacts(actor: Actor, queue: Queue, limit: int = 200) -> list[QueuedContact]:
    """VIP first, then priority, then the longest wait: the order a free agent is offered them in
    (the router also moves contacts whose SLA is about to be missed ahead)."""
    return list(QueuedContact.objects.filter(workspace_id=actor.workspace_id, queue=queue, state=ContactState.WAITING)
                .order_by("-vip", "-priority", "waiting_since", "id")[:limit])


def decisions_for(actor: Actor, conversation_id: int) -> list[dict]:
    access_conversation(actor, conversation_id)
    return [{"id": d.pk, "contact_id": d.contact_id, "conversation_id": conversation_id, "agent_id": d.agent_id,
             "reason": d.reason, "decided_at": d.decided_at}
            for d in RoutingDecision.objects.filter(workspace_id=actor.workspace_id,
                                                    contact__conversation_id=conversation_id)]
