"""Replies leave through a task with retries. The task is enqueued inside the reply's own transaction
(an outbox listener), so a reply is never stored without its delivery being queued."""

import logging
from datetime import timedelta

from django_tasks import task

from touchpoint.channels.adapters import PermanentDeliveryError, TransientDeliveryError, adapter_for
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import record_delivery
from touchpoint.core.clock import now

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
BACKOFF_S = (5, 30, 120, 600, 1800)  # then give up and mark the message failed


def account_for(message: Message) -> ChannelAccount | None:
    """The conversation's own account when it is of this channel, else the workspace's first one."""
    conversation = message.conversation
    if conversation.channel_account_id and conversation.channel_account.kind == message.channel:
        return conversation.channel_account
    return ChannelAccount.objects.filter(workspace_id=message.workspace_id, kind=message.channel, is_active=True).first()


@task()
def deliver_message(message_id: int, attempt: int = 1) -> str:
    message = Message.objects.select_related("conversation__channel_account", "conversation__customer").get(pk=message_id)
    if message.delivery_status not in ("queued", "retrying"):
        return message.delivery_status  # delivered already, or given up: a duplicate run does nothing
    adapter = adapter_for(message.channel)
    account = account_for(message)
    if adapter is None or account is None:
        record_delivery(message=message, status="failed", error=f"No active {message.channel} account to send from.")
        return "failed"
    try:
        provider_id = adapter.send(message, account)
    except PermanentDeliveryError as error:
        record_delivery(message=message, status="failed", error=str(error))
        return "failed"
    except (TransientDeliveryError, OSError) as error:
        if attempt >= MAX_ATTEMPTS:
            record_delivery(message=message, status="failed", error=f"Gave up after {attempt} attempts: {error}")
            return "failed"
        record_delivery(message=message, status="retrying", error=str(error))
        delay = BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)]
        deliver_message.using(run_after=now() + timedelta(seconds=delay)).enqueue(message_id, attempt + 1)
        return "retrying"
    record_delivery(message=message, status="sent", provider_id=provider_id)
    return "sent"
