from touchpoint.channels.adapters import adapter_for
from touchpoint.conversations.events import MessageCreated
from touchpoint.conversations.models import Message, MessageKind
from touchpoint.core.events import subscribe_in_transaction


def register() -> None:
    subscribe_in_transaction(MessageCreated, queue_delivery)


def queue_delivery(event: MessageCreated) -> None:
    """In the reply's transaction: mark it queued and enqueue its delivery (the outbox)."""
    if event.kind != MessageKind.OUTGOING:
        return
    channel = Message.objects.filter(pk=event.message_id).values_list("channel", flat=True).first()
    if channel is None or adapter_for(channel) is None:
        return
    from touchpoint.channels.delivery import deliver_message

    Message.objects.filter(pk=event.message_id).update(delivery_status="queued")
    deliver_message.enqueue(event.message_id)
