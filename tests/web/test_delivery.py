"""Where agents look, a reply that did not reach the customer says so: the thread shows each reply's
delivery state and a failure's reason with Retry and the way to fix the channel, the list marks the
conversation, and Settings → Channels lists the failures, the channels, and the demo's outbox."""

import pytest
from django.core.mail import EmailMessage

from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.outbox import outbox_dir
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import Content, record_delivery, reply

from .conftest import customer_writes, signed_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def failed(desk, conversation) -> Message:
    answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="On its way."))
    deliver_message.call(answer.pk)
    return Message.objects.get(pk=answer.pk)


def test_the_thread_shows_a_failure_with_its_reason_retry_and_where_to_fix_it(desk, failed):
    html = signed_in(desk.agent).get(f"/conversations/{failed.conversation_id}/thread/", **HTMX).content.decode()
    assert 'class="msg msg-outgoing msg-failed"' in html
    assert "<strong>Failed:</strong> No active email account to send from." in html
    assert f'hx-post="/conversations/{failed.conversation_id}/messages/{failed.pk}/retry/"' in html
    assert "An admin fixes the Email channel under Settings → Channels." in html  # agents cannot open it
    admin_html = signed_in(desk.admin).get(f"/conversations/{failed.conversation_id}/thread/", **HTMX).content.decode()
    assert '<a href="/settings/channels/">Fix the Email channel</a>' in admin_html


@pytest.mark.parametrize("status, shown", [("queued", "Sending…"), ("sent", "Sent"), ("delivered", "Delivered"),
                                           ("read", "Read")])
def test_the_thread_shows_each_delivery_state(desk, conversation, status, shown):
    answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="On its way."))
    if status != "queued":
        record_delivery(message=answer, status=status, provider_id="m1")
    html = signed_in(desk.agent).get(f"/conversations/{conversation.pk}/thread/", **HTMX).content.decode()
    assert f'data-delivery="{status}">' in html and f'<p class="delivery-state">{shown}</p>' in html
    assert "Retry" not in html


def test_the_list_marks_a_conversation_whose_last_reply_failed(desk, failed):
    client = signed_in(desk.agent)
    ok = customer_writes(desk, "Another question", email="jo@example.com")
    assert "Reply failed" in client.get(f"/conversations/{failed.conversation_id}/row/?view=open").content.decode()
    assert "Reply failed" not in client.get(f"/conversations/{ok.pk}/row/?view=open").content.decode()
    page = client.get("/?view=open").content.decode()
    assert page.count("Reply failed") == 1
    # A later reply that went through clears the mark.
    later = reply(actor=desk.agent_actor, conversation=failed.conversation, content=Content(text="Sorry, again."))
    record_delivery(message=later, status="sent", provider_id="m2")
    assert "Reply failed" not in client.get("/?view=open").content.decode()


def test_retry_queues_it_again_and_answers_the_thread(desk, failed):
    client = signed_in(desk.agent)
    response = client.post(f"/conversations/{failed.conversation_id}/messages/{failed.pk}/retry/", **HTMX)
    assert response.status_code == 200
    assert 'data-delivery="queued">' in response.content.decode() and "Failed:" not in response.content.decode()
    assert Message.objects.get(pk=failed.pk).delivery_status == "queued"
    again = client.post(f"/conversations/{failed.conversation_id}/messages/{failed.pk}/retry/", **HTMX)
    assert again.status_code == 409 and "Only a failed reply can be sent again" in again.content.decode()


def test_channels_page_lists_accounts_failures_and_what_is_missing(desk, failed):
    page = signed_in(desk.admin).get("/settings/channels/").content.decode()
    assert "No active Email, SMS, WhatsApp account" in page
    assert "No active email account to send from." in page and f'href="/conversations/{failed.conversation_id}/"' in page
    response = signed_in(desk.admin).post("/settings/channels/mailboxes/", {
        "name": "Support", "address": "support@acme.test", "smtp_host": "127.0.0.1", "smtp_port": "2525",
        "smtp_security": "none"})
    assert response.status_code == 302
    page = signed_in(desk.admin).get("/settings/channels/").content.decode()
    assert "support@acme.test" in page and "SMTP relay 127.0.0.1:2525 (none)" in page
    assert "No active SMS, WhatsApp account" in page


def test_a_refused_mailbox_says_why_and_keeps_what_was_typed(desk):
    response = signed_in(desk.admin).post("/settings/channels/mailboxes/", {"name": "Support", "address": "nope",
                                                                            "smtp_password": "kept-secret"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "is not an email address" in page and 'value="nope"' in page and "kept-secret" not in page


def test_the_outbox_page_shows_what_the_local_outbox_kept(desk, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    client = signed_in(desk.admin)
    assert "This workspace has no local outbox" in client.get("/settings/channels/outbox/").content.decode()
    folder = outbox_dir(desk.id)
    folder.mkdir(parents=True)
    (folder / "20260101T100000000000-a.json").write_text(
        '{"channel": "sms", "sid": "SM1", "from": "+442079460100", "to": "+447700900123", "body": "It <b>left</b>.",'
        ' "at": "2026-01-01T10:00:00+00:00"}')
    # A mail as Django's SMTP backend writes it (its Date in UTC, "-0000").
    mail = EmailMessage("Your order", "It left today.", "Desk <support@acme.test>", ["maria@example.com"])
    (folder / "20260101T090000000000-b.eml").write_bytes(mail.message().as_bytes())
    assert "Read the outbox" in client.get("/settings/channels/").content.decode()
    page = client.get("/settings/channels/outbox/").content.decode()
    assert "+447700900123" in page and "It &lt;b&gt;left&lt;/b&gt;." in page
    assert "maria@example.com" in page and "Your order" in page and "It left today." in page
    assert page.index("+447700900123") < page.index("Your order")  # newest first
