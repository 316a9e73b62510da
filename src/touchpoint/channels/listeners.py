from touchpoint.channels.adapters import adapter_for
from touchpoint.conversations.events import MessageCreated, MessageDeliveryChanged
from touchpoint.conversations.models import Message, MessageKind
from touchpoint.core.events import subscribe_in_transaction


def register() -> None:
    subscribe_in_transaction(MessageCreated, queue_delivery)
    subscribe_in_transaction(MessageDeliveryChanged, queue_retry)


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


def queue_retry(event: MessageDeliveryChanged) -> None:
    """A failed reply sent again (conversations.services.retry_delivery, the only writer of a change
    to "queued"): its delivery starts over from the first attempt, enqueued in the same transaction."""
    if event.status != "queued":
        return
    from touchpoint.channels.delivery import deliver_message

    deliver_message.enqueue(event.message_id)
