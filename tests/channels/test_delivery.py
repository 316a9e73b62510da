"""The outbox and retry mechanics of outbound delivery, with an adapter that fails on purpose.
The real adapters (SMTP, Twilio) are tested against real servers and the vendor's format elsewhere."""

import pytest
from django_tasks_db.models import DBTaskResult

from touchpoint.channels import adapters
from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import Content, receive_message, record_delivery, reply


class FlakyProvider:
    def __init__(self, failures: int, error: type[Exception] = adapters.TransientDeliveryError) -> None:
        self.failures, self.error, self.sent = failures, error, []

    def send(self, message, account):
        if self.failures:
            self.failures -= 1
            raise self.error("provider unavailable")
        self.sent.append(message.pk)
        return f"SM{message.pk:06d}"


@pytest.fixture
def provider():
    flaky = FlakyProvider(failures=2)
    real = adapters.adapter_for("sms")
    adapters.register("sms", flaky)
    yield flaky
    adapters.register("sms", real)


def _reply(desk):
    ChannelAccount.objects.create(workspace_id=desk.id, kind="sms", name="Main line", address="+14155550100")
    incoming, _ = receive_message(workspace_id=desk.id, channel="sms", sender=("phone", "+14155552671"),
                                  content=Content(text="hi"))
    return reply(actor=desk.agent_actor, conversation=incoming.conversation, content=Content(text="hello"))


def test_reply_enqueues_its_delivery_in_the_same_transaction(desk, provider):
    message = _reply(desk)
    message.refresh_from_db()
    assert message.delivery_status == "queued"
    assert DBTaskResult.objects.filter(args_kwargs__args=[message.pk]).count() == 1


def test_transient_failures_retry_then_send(desk, provider):
    message = _reply(desk)
    assert deliver_message.call(message.pk) == "retrying"
    assert deliver_message.call(message.pk, 2) == "retrying"
    assert deliver_message.call(message.pk, 3) == "sent"
    assert deliver_message.call(message.pk, 4) == "sent"  # a duplicate run sends nothing more
    message.refresh_from_db()
    assert (message.delivery_status, message.external_id) == ("sent", f"SM{message.pk:06d}")
    assert provider.sent == [message.pk]


def test_permanent_failure_marks_failed(desk, provider):
    provider.failures, provider.error = 1, adapters.PermanentDeliveryError
    message = _reply(desk)
    assert deliver_message.call(message.pk) == "failed"
    message.refresh_from_db()
    assert message.metadata["delivery_error"] == "provider unavailable"


def test_status_never_moves_backwards(desk, provider):
    message = _reply(desk)
    record_delivery(message=message, status="delivered")
    record_delivery(message=message, status="sent")
    assert Message.objects.get(pk=message.pk).delivery_status == "delivered"


def test_notes_and_webchat_replies_are_not_queued(desk, provider):
    incoming, _ = receive_message(workspace_id=desk.id, channel="webchat", sender=("visitor", "v1"),
                                  content=Content(text="hi"))
    message = reply(actor=desk.agent_actor, conversation=incoming.conversation, content=Content(text="hello"))
    assert Message.objects.get(pk=message.pk).delivery_status == ""
