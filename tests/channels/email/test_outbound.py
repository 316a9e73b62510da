"""Replies out through a real SMTP relay: headers, attachments, injection, and how failures map to retries."""

import socket
import threading

import pytest

from tests.channels.email.conftest import free_port, mail
from touchpoint.channels.adapters import PermanentDeliveryError, TransientDeliveryError
from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.email.inbound import ingest_mime
from touchpoint.channels.email.outbound import EmailAdapter, subject_for
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import (
    Content,
    IncomingFile,
    open_conversation,
    receive_message,
    reply,
    update_conversation,
)
from touchpoint.customers.services import add_identity, create_customer, resolve_customer


@pytest.fixture
def conversation(desk, account):
    return ingest_mime(mail(), account.address, account).message.conversation


def test_header_injection_in_the_subject_is_impossible(desk, account, conversation, sink):
    update_conversation(actor=desk.agent_actor, conversation=conversation,
                        subject="Refund\r\nBcc: victim@example.net\r\nX-Evil: 1\nTo: other@example.net")
    answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Done"))
    assert deliver_message.call(answer.pk) == "sent"
    (_, rcpt_tos, sent), = sink.received
    assert rcpt_tos == ["maria@example.com"]
    assert sent["Bcc"] is None and sent["X-Evil"] is None
    assert sent.get_all("To") == ["Maria Lopez <maria@example.com>"]
    assert sent["Subject"] == "Re: Refund Bcc: victim@example.net X-Evil: 1 To: other@example.net"


def test_control_characters_in_names_stay_in_their_header(desk, account, sink):
    desk.workspace.name = "Acme\r\nBcc: victim@example.net"
    desk.workspace.save()
    customer = create_customer(workspace_id=desk.id, name="Eve\nBcc: x@example.net", identities=[("email", "eve@example.com")])
    conversation = open_conversation(actor=desk.agent_actor, customer=customer, channel="email", subject="Hello",
                                     content=Content(text="Welcome"))
    message = conversation.messages.get(kind="outgoing")
    assert deliver_message.call(message.pk) == "sent"
    (_, rcpt_tos, sent), = sink.received
    assert rcpt_tos == ["eve@example.com"] and sent["Bcc"] is None
    assert sent["Subject"] == "Hello"  # the first mail of a conversation we started is no "Re:"
    assert sent["In-Reply-To"] is None


def test_subject_prefixes_are_not_stacked():
    assert subject_for("RE: Re: AW: Order", is_reply=True, fallback="x") == "Re: Order"
    assert subject_for("", is_reply=True, fallback="Your message to Acme") == "Re: Your message to Acme"


def test_html_and_attachments_go_out(desk, account, conversation, sink):
    answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(html="<p>See <b>attached</b></p>"),
                   attachments=[IncomingFile("label.pdf", "application/pdf", b"%PDF-1.4 label")])
    assert deliver_message.call(answer.pk) == "sent"
    sent = sink.received[0][2]
    assert "<b>attached</b>" in sent.get_body(("html",)).get_content()
    assert "See attached" in sent.get_body(("plain",)).get_content()
    attachment, = list(sent.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content()) == ("label.pdf", b"%PDF-1.4 label")


def test_a_refused_mailbox_is_permanent(desk, account, conversation, sink):
    sink.refuse = "550 5.1.1 No such user"
    answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Hi"))
    with pytest.raises(PermanentDeliveryError, match="550"):
        EmailAdapter().send(Message.objects.get(pk=answer.pk), account)
    assert deliver_message.call(answer.pk) == "failed"
    answer.refresh_from_db()
    assert "550" in answer.metadata["delivery_error"]


def test_a_greylisting_relay_is_transient(desk, account, conversation, sink):
    sink.refuse = "450 4.2.0 Greylisted, try again"
    answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Hi"))
    with pytest.raises(TransientDeliveryError, match="450"):
        EmailAdapter().send(Message.objects.get(pk=answer.pk), account)
    assert deliver_message.call(answer.pk) == "retrying"


def test_an_unreachable_relay_is_transient(desk, account, conversation, settings):
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Hi"))
    with pytest.raises(TransientDeliveryError, match="unreachable"):
        EmailAdapter().send(Message.objects.get(pk=answer.pk), account)


def test_a_relay_that_hangs_up_is_transient(desk, account, conversation, settings):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", listener.getsockname()[1]
        answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Hi"))
        threading.Thread(target=lambda: listener.accept()[0].close(), daemon=True).start()
        with pytest.raises(TransientDeliveryError):
            EmailAdapter().send(Message.objects.get(pk=answer.pk), account)


def test_a_customer_without_an_email_address_is_permanent(desk, account, sink):
    customer = create_customer(workspace_id=desk.id, name="Phone only", identities=[("phone", "+14155552671")])
    conversation = open_conversation(actor=desk.agent_actor, customer=customer, channel="email", subject="Hi",
                                     content=Content(text="Hello"))
    assert deliver_message.call(conversation.messages.get(kind="outgoing").pk) == "failed"
    assert not sink.received


def test_an_away_form_is_answered_at_the_address_it_gave_while_the_customer_holds_it(desk, account, sink):
    visitor = create_customer(workspace_id=desk.id, name="Lena")
    for address in ("lena.old@example.com", "lena@example.com"):
        add_identity(customer=visitor, kind="email", value=address, claimed=True)
    left, _ = receive_message(workspace_id=desk.id, channel="webchat", customer=visitor, content=Content(text="Hi"),
                              metadata={"offline": True, "reply_by": "email", "reply_to": "lena@example.com"})
    answer = reply(actor=desk.agent_actor, conversation=left.conversation, content=Content(text="Hello"),
                   channel="email")
    assert deliver_message.call(answer.pk) == "sent"
    assert sink.received[-1][1] == ["lena@example.com"]
    # Once an order or a mail took that address to a record of its own, it is not the visitor's to be
    # written at: the answer goes to the address they still hold.
    resolve_customer(workspace_id=desk.id, kind="email", value="lena@example.com")
    again = reply(actor=desk.agent_actor, conversation=left.conversation, content=Content(text="Hello again"),
                  channel="email")
    assert deliver_message.call(again.pk) == "sent"
    assert sink.received[-1][1] == ["lena.old@example.com"]


def test_the_accounts_own_relay_is_used_when_configured(desk, account, conversation, sink, settings):
    settings.EMAIL_PORT = free_port()  # the server-wide relay is down...
    account.config = {"smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"}}
    account.save()
    answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Hi"))
    assert deliver_message.call(answer.pk) == "sent"  # ...the workspace's own one takes it
    assert len(sink.received) == 1
