"""The one ingest path: threading, loop prevention, bounces, limits, replays and workspace isolation."""

import pytest

from tests.channels.email.conftest import mail
from tests.channels.email.test_parsing import dsn
from touchpoint.channels.email.inbound import account_for_recipient, ingest_mime
from touchpoint.channels.email.models import InboundEmail
from touchpoint.channels.email.threading import reply_address
from touchpoint.conversations.models import Conversation, Message, Status
from touchpoint.conversations.services import Content, change_status, receive_message, record_delivery, reply
from touchpoint.customers.models import Identity
from touchpoint.customers.services import add_identity, create_customer


def ingest(account, raw, recipient=None, **kwargs):
    return ingest_mime(raw, recipient or account.address, account, **kwargs)


def test_a_new_mail_opens_a_conversation_and_keeps_the_original(desk, account):
    raw = mail(text="Where is my order?\n\n-- \nMaria", html="<p>Where is my order?</p><script>x()</script>")
    result = ingest(account, raw)
    assert result.outcome == "stored"
    message = result.message
    assert message.content_text == "Where is my order?"
    assert "<script>" not in message.content_html and "Where is my order?" in message.content_html
    assert message.metadata["email"]["from"] == "maria@example.com"
    assert message.conversation.customer.name == "Maria Lopez"
    record = InboundEmail.objects.get(message=message)
    with record.raw.open("rb") as original:
        assert original.read() == raw  # the mail exactly as received, signature and script included


def test_replaying_a_mail_stores_it_once(desk, account):
    first = ingest(account, mail())
    again = ingest(account, mail())
    assert again.outcome == "duplicate" and again.message.pk == first.message.pk
    assert Message.objects.filter(workspace_id=desk.id).count() == 1
    assert InboundEmail.objects.count() == 1


def test_a_mail_without_message_id_is_deduplicated_by_its_content(desk, account):
    raw = mail(message_id=None)
    assert ingest(account, raw).outcome == "stored"
    assert ingest(account, raw).outcome == "duplicate"


def test_a_new_thread_from_the_same_customer_is_a_new_conversation(desk, account):
    ingest(account, mail(message_id="<a@example.com>", subject="Order 1042"))
    ingest(account, mail(message_id="<b@example.com>", subject="Invoice address"))
    assert Conversation.objects.filter(workspace_id=desk.id).count() == 2


def test_a_reply_threads_by_references_and_reopens(desk, account):
    first = ingest(account, mail(message_id="<a@example.com>")).message
    change_status(actor=desk.agent_actor, conversation=first.conversation, status=Status.RESOLVED)
    # The customer answers their own earlier mail (a follow-up), quoting it.
    follow_up = mail(message_id="<b@example.com>", subject="Re: Order 1042", text="Any news?\n\n> Where is my order?",
                     headers={"References": "<a@example.com>"})
    second = ingest(account, follow_up).message
    assert second.conversation_id == first.conversation_id
    assert second.content_text == "Any news?"
    assert second.metadata["email"]["references"] == ["a@example.com"]
    assert Conversation.objects.get(pk=first.conversation_id).status == Status.OPEN


def test_a_reply_without_headers_threads_by_its_reply_token(desk, account):
    first = ingest(account, mail(message_id="<a@example.com>")).message
    token_address = reply_address(account, first.conversation_id)
    assert account_for_recipient(token_address) == account
    second = ingest(account, mail(message_id="<b@example.com>", subject="Re: Order 1042"), recipient=token_address)
    assert second.message.conversation_id == first.conversation_id


def test_a_forged_reply_token_opens_a_new_conversation(desk, account):
    first = ingest(account, mail(message_id="<a@example.com>")).message
    forged = f"support+t{first.conversation_id}.0123456789@acme.test"
    second = ingest(account, mail(message_id="<b@example.com>"), recipient=forged)
    assert second.message.conversation_id != first.conversation_id


def test_another_sender_in_the_thread_starts_their_own_conversation(desk, account):
    first = ingest(account, mail(message_id="<a@example.com>")).message
    colleague = mail(sender="Tom <tom@example.com>", message_id="<b@example.com>", headers={"In-Reply-To": "<a@example.com>"})
    second = ingest(account, colleague, recipient=reply_address(account, first.conversation_id)).message
    assert second.conversation_id != first.conversation_id
    assert second.conversation.customer_id != first.conversation.customer_id


def test_another_address_of_the_same_customer_threads(desk, account):
    first = ingest(account, mail(message_id="<a@example.com>")).message
    add_identity(customer=first.conversation.customer, kind="email", value="maria@work.example.com")
    work = mail(sender="maria@work.example.com", message_id="<b@example.com>", headers={"In-Reply-To": "<a@example.com>"})
    assert ingest(account, work).message.conversation_id == first.conversation_id


def test_an_address_a_chat_visitor_typed_threads_only_replies_to_their_chat(desk, account):
    """The visitor's claim counts for the thread our answer went to, and for nothing else."""
    visitor = create_customer(workspace_id=desk.id, name="Visitor")
    add_identity(customer=visitor, kind="email", value="maria@example.com", claimed=True)
    chat, _ = receive_message(workspace_id=desk.id, channel="webchat", customer=visitor, content=Content(text="hi"))
    ours = reply(actor=desk.agent_actor, conversation=chat.conversation, content=Content(text="Hello"), channel="email")
    record_delivery(message=ours, status="sent", provider_id="tp7.1.2@acme.test")

    answer = ingest(account, mail(message_id="<a@example.com>", headers={"In-Reply-To": "<tp7.1.2@acme.test>"}))
    assert (answer.message.conversation_id, answer.message.customer_id) == (chat.conversation_id, visitor.pk)
    fresh = ingest(account, mail(message_id="<b@example.com>", subject="Another matter")).message
    assert fresh.customer_id != visitor.pk and fresh.conversation_id != chat.conversation_id
    assert Identity.objects.get(value="maria@example.com").customer_id == fresh.customer_id


def test_a_reply_to_our_message_threads_by_its_message_id(desk, account):
    first = ingest(account, mail(message_id="<a@example.com>")).message
    ours = reply(actor=desk.agent_actor, conversation=first.conversation, content=Content(text="Shipped"))
    record_delivery(message=ours, status="sent", provider_id="tp42.1.2@acme.test")
    answer = mail(message_id="<b@example.com>", headers={"In-Reply-To": "<tp42.1.2@acme.test>"})
    assert ingest(account, answer).message.conversation_id == first.conversation_id


def test_our_own_mail_coming_back_is_not_stored_again(desk, account):
    first = ingest(account, mail(message_id="<a@example.com>")).message
    ours = reply(actor=desk.agent_actor, conversation=first.conversation, content=Content(text="Shipped"))
    record_delivery(message=ours, status="sent", provider_id="tp42.1.2@acme.test")
    looped = mail(sender="support@acme.test", message_id="<tp42.1.2@acme.test>")
    assert ingest(account, looped).outcome == "ignored"
    assert Message.objects.filter(workspace_id=desk.id, kind="incoming").count() == 1


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"List-Id": "<news.example.com>"},
    {"X-Autoreply": "yes"}, {"Return-Path": "<>"},
])
def test_automatic_mail_opens_nothing(desk, account, headers):
    result = ingest(account, mail(headers=headers))
    assert result.outcome == "ignored" and result.reason
    assert not Conversation.objects.filter(workspace_id=desk.id).exists()
    assert InboundEmail.objects.get().outcome == "ignored"  # an admin can see why nothing opened


def test_an_out_of_office_reply_in_a_thread_adds_nothing(desk, account):
    first = ingest(account, mail(message_id="<a@example.com>")).message
    ooo = mail(message_id="<ooo@example.com>", subject="Out of office", headers={"Auto-Submitted": "auto-replied",
                                                                                 "In-Reply-To": "<a@example.com>"})
    assert ingest(account, ooo).outcome == "ignored"
    assert first.conversation.messages.filter(kind="incoming").count() == 1


def test_a_bounce_marks_our_reply_failed_and_opens_nothing(desk, account):
    first = ingest(account, mail(message_id="<a@example.com>")).message
    ours = reply(actor=desk.agent_actor, conversation=first.conversation, content=Content(text="Shipped"))
    record_delivery(message=ours, status="sent", provider_id="tp7.1@acme.test")
    result = ingest(account, dsn("tp7.1@acme.test"), envelope_sender="<>")
    assert result.outcome == "bounce"
    ours.refresh_from_db()
    assert ours.delivery_status == "failed"
    assert "User unknown" in ours.metadata["delivery_error"]
    assert Conversation.objects.filter(workspace_id=desk.id).count() == 1


def test_a_bounce_cannot_touch_another_workspaces_messages(desk, account, other_desk, other_account):
    first = ingest(other_account, mail(to="help@globex.test", message_id="<a@example.com>")).message
    theirs = reply(actor=other_desk.agent_actor, conversation=first.conversation, content=Content(text="Hi"))
    record_delivery(message=theirs, status="sent", provider_id="tp8.1@globex.test")
    ingest(account, dsn("tp8.1@globex.test"))
    theirs.refresh_from_db()
    assert theirs.delivery_status == "sent"


def test_an_oversized_attachment_is_dropped_and_the_mail_kept(desk, account, settings):
    settings.ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
    huge = b"%PDF" + b"\0" * (26 * 1024 * 1024)
    result = ingest(account, mail(files=[("contract.pdf", "application/pdf", huge), ("note.txt", "text/plain", b"hi")]))
    message = result.message
    assert [a.filename for a in message.attachments.all()] == ["note.txt"]
    dropped, = message.metadata["email"]["dropped_files"]
    assert dropped["filename"] == "contract.pdf" and "25 MB" in dropped["reason"]
    assert InboundEmail.objects.get(message=message).size > 26 * 1024 * 1024  # the original still has it


def test_a_mail_over_the_limit_is_refused_whole(desk, account, settings):
    settings.EMAIL_MAX_MESSAGE_BYTES = 1000
    result = ingest(account, mail(text="x" * 2000))
    assert result.outcome == "rejected" and "limit" in result.reason
    assert not Message.objects.exists() and not InboundEmail.objects.exists()


def test_a_mail_without_a_usable_sender_is_recorded_not_stored(desk, account):
    result = ingest(account, mail(sender="not an address"))
    assert result.outcome == "rejected"
    assert not Conversation.objects.exists()
    assert InboundEmail.objects.get().outcome == "rejected"


def test_a_mail_with_only_a_subject_says_it_there(desk, account):
    assert ingest(account, mail(text="", subject="Call me back please")).message.content_text == "Call me back please"


def test_references_and_tokens_never_cross_workspaces(desk, account, other_desk, other_account):
    theirs = ingest(other_account, mail(to="help@globex.test", message_id="<secret@example.com>")).message
    # A mail to our desk naming their message and carrying their token: a conversation of our own.
    probe = mail(message_id="<probe@example.com>", headers={"In-Reply-To": "<secret@example.com>"})
    ours = ingest(account, probe, recipient=reply_address(other_account, theirs.conversation_id)).message
    assert ours.workspace_id == desk.id and ours.conversation_id != theirs.conversation_id
    assert Conversation.objects.get(pk=theirs.conversation_id).messages.filter(kind="incoming").count() == 1


def test_the_same_mail_to_two_workspaces_is_stored_in_each(desk, account, other_desk, other_account):
    raw = mail(to="support@acme.test, help@globex.test")
    assert ingest(account, raw).outcome == "stored"
    assert ingest(other_account, raw).outcome == "stored"
    assert Message.objects.filter(external_id="m1@example.com").count() == 2
