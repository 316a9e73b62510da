"""A reply that failed for want of a mailbox is sent once an admin connects one and someone presses
Retry: through the real delivery task, to a real SMTP relay (aiosmtpd)."""

import pytest
from django_tasks_db.models import DBTaskResult

from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.email.services import connect_mailbox, set_mail_relay
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import Content, receive_message, reply, retry_delivery
from touchpoint.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


@pytest.fixture
def failed_reply(desk):
    incoming, _ = receive_message(workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
                                  sender_name="Maria", content=Content(text="Where is my order?"))
    answer = reply(actor=desk.agent_actor, conversation=incoming.conversation, content=Content(text="On its way."))
    assert deliver_message.call(answer.pk) == "failed"
    answer.refresh_from_db()
    return answer


def _deliveries(message) -> int:
    return DBTaskResult.objects.filter(task_path__endswith="deliver_message", args_kwargs__args=[message.pk]).count()


def test_without_a_mailbox_a_reply_fails_and_says_why(failed_reply):
    assert failed_reply.delivery_status == "failed"
    assert failed_reply.metadata["delivery_error"] == "No active email account to send from."


def test_connect_a_mailbox_then_retry_sends_it(desk, failed_reply, sink):
    connect_mailbox(actor=desk.admin_actor, name="Support", address="Support@Acme.test", smtp_host="127.0.0.1",
                    smtp_port=sink.port, smtp_security="none")
    retried = retry_delivery(actor=desk.agent_actor, message=failed_reply)
    assert retried.delivery_status == "queued" and "delivery_error" not in retried.metadata
    assert _deliveries(failed_reply) == 2  # the first delivery, and the retry's, enqueued in its transaction
    assert deliver_message.call(failed_reply.pk) == "sent"
    (_, rcpt_tos, sent), = sink.received
    assert rcpt_tos == ["maria@example.com"] and sent["From"] == "Desk acme <support@acme.test>"
    assert Message.objects.get(pk=failed_reply.pk).delivery_status == "sent"


def test_only_a_failed_reply_can_be_retried(desk, failed_reply):
    retry_delivery(actor=desk.agent_actor, message=failed_reply)
    with pytest.raises(Conflict, match="Only a failed reply can be sent again; this one is queued"):
        retry_delivery(actor=desk.agent_actor, message=failed_reply)
    incoming = failed_reply.conversation.messages.get(kind="incoming")
    with pytest.raises(Conflict, match="not one"):
        retry_delivery(actor=desk.agent_actor, message=incoming)
    assert _deliveries(failed_reply) == 2


def test_another_workspace_cannot_retry_a_reply(desk, other_desk, failed_reply):
    with pytest.raises(NotFound):
        retry_delivery(actor=other_desk.admin_actor, message=failed_reply)
    assert Message.objects.get(pk=failed_reply.pk).delivery_status == "failed"
    assert _deliveries(failed_reply) == 1


def test_only_admins_connect_mailboxes_and_change_relays(desk, other_desk):
    with pytest.raises(PermissionDenied):
        connect_mailbox(actor=desk.supervisor_actor, name="Support", address="support@acme.test")
    account = connect_mailbox(actor=desk.admin_actor, name="Support", address="support@acme.test")
    with pytest.raises(PermissionDenied):
        set_mail_relay(actor=desk.agent_actor, account=account, host="smtp.evil.test")
    with pytest.raises(NotFound):
        set_mail_relay(actor=other_desk.admin_actor, account=account, host="smtp.evil.test")
    assert ChannelAccount.objects.get(pk=account.pk).config == {}


def test_mailbox_input_is_checked(desk):
    connect_mailbox(actor=desk.admin_actor, name="Support", address="support@acme.test")
    for kwargs, field in [({"address": "not an address"}, "address"), ({"name": " "}, "name"),
                          ({"smtp_host": "smtp.example.com/x"}, "smtp_host"),
                          ({"smtp_host": "smtp.example.com", "smtp_security": "tls1"}, "smtp_security"),
                          ({"smtp_host": "smtp.example.com", "smtp_port": 70000}, "smtp_port")]:
        given = {"name": "Sales", "address": "sales@acme.test", **kwargs}
        with pytest.raises(ValidationFailed) as refused:
            connect_mailbox(actor=desk.admin_actor, **given)
        assert refused.value.field == field
    with pytest.raises(Conflict):
        connect_mailbox(actor=desk.admin_actor, name="Again", address="SUPPORT@acme.test")
    assert ChannelAccount.objects.filter(workspace_id=desk.id).count() == 1


def test_a_relay_password_is_kept_when_left_empty(desk):
    account = connect_mailbox(actor=desk.admin_actor, name="Support", address="support@acme.test",
                              smtp_host="smtp.example.com", smtp_username="desk", smtp_password="s3cret")
    assert account.config["smtp"] == {"host": "smtp.example.com", "port": 587, "security": "starttls",
                                      "username": "desk"}
    set_mail_relay(actor=desk.admin_actor, account=account, host="smtp2.example.com", port=2525, username="desk")
    account.refresh_from_db()
    assert account.secret == "s3cret" and account.config["smtp"]["host"] == "smtp2.example.com"
    set_mail_relay(actor=desk.admin_actor, account=account, host="")  # back to the server's relay
    account.refresh_from_db()
    assert "smtp" not in account.config
