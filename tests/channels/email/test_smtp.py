"""Mail over real SMTP: a customer's mail into `touchpoint smtpd`, the agent's reply out through the
delivery task to a relay, and the customer's answer back into the same conversation."""

import smtplib

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from tests.channels.email.conftest import mail
from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.email.models import InboundEmail
from touchpoint.conversations.models import Conversation, Message, Status
from touchpoint.conversations.services import Content, change_status, reply


def send(port: int, raw: bytes, *, to: str = "support@acme.test", sender: str = "maria@example.com") -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail(sender, [to], raw)


def test_round_trip_customer_mail_agent_reply_customer_answer(desk, account, smtpd, sink):
    send(smtpd, mail(message_id="<first@example.com>"))
    # The 250 came after the commit: the conversation is there the moment sendmail returns.
    conversation = Conversation.objects.get(workspace_id=desk.id)
    first = conversation.messages.get()
    assert (first.external_id, first.content_text, conversation.subject) == ("first@example.com", "Where is my order?",
                                                                              "Order 1042")
    assert conversation.channel_account_id == account.pk

    answer = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="It ships today."))
    task = DBTaskResult.objects.get(args_kwargs__args=[answer.pk])
    assert task.task_path.endswith("deliver_message")
    assert deliver_message.call(answer.pk) == "sent"

    (envelope_from, rcpt_tos, sent), = sink.received
    assert rcpt_tos == ["maria@example.com"]
    assert sent["From"].addresses[0].addr_spec == "support@acme.test"
    assert sent["From"].addresses[0].display_name == "Desk acme"
    assert sent["To"].addresses[0].addr_spec == "maria@example.com"
    assert sent["Subject"] == "Re: Order 1042"
    assert sent["In-Reply-To"] == "<first@example.com>"
    assert sent["References"] == "<first@example.com>"
    assert sent["Message-ID"].endswith("@acme.test>")
    assert sent["Reply-To"].addresses[0].addr_spec.startswith(f"support+t{conversation.pk}.")
    assert sent.get_body(("plain",)).get_content().strip() == "It ships today."
    answer.refresh_from_db()
    assert (answer.delivery_status, answer.external_id) == ("sent", sent["Message-ID"].strip("<>"))

    change_status(actor=desk.agent_actor, conversation=conversation, status=Status.RESOLVED)
    answer_mail = mail(subject="Re: Order 1042", text="Thanks!\n\nOn Tue, Ana wrote:\n> It ships today.",
                       message_id="<second@example.com>",
                       headers={"In-Reply-To": sent["Message-ID"], "References": f"<first@example.com> {sent['Message-ID']}"})
    send(smtpd, answer_mail)
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN  # the customer's answer reopens it
    assert Conversation.objects.filter(workspace_id=desk.id).count() == 1
    latest = conversation.messages.filter(kind="incoming").last()
    assert (latest.external_id, latest.content_text) == ("second@example.com", "Thanks!")

    # The agent's second reply answers the customer's latest mail and carries the whole chain.
    again = reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Enjoy!"))
    assert deliver_message.call(again.pk) == "sent"
    second_sent = sink.received[-1][2]
    assert second_sent["In-Reply-To"] == "<second@example.com>"
    assert second_sent["References"].split() == ["<first@example.com>", sent["Message-ID"], "<second@example.com>"]


def test_unknown_recipient_is_refused_and_plus_addresses_are_ours(desk, account, smtpd):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtpd, mail(), to="nobody@acme.test")
    assert refused.value.recipients["nobody@acme.test"][0] == 550
    send(smtpd, mail(message_id="<plus@example.com>"), to="Support+Billing@ACME.test")
    assert Message.objects.filter(workspace_id=desk.id, external_id="plus@example.com").exists()


def test_inactive_account_receives_nothing(desk, account, smtpd):
    account.is_active = False
    account.save()
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(smtpd, mail())


def test_mail_over_the_size_limit_is_refused_with_552(desk, account, smtpd):
    # The test server takes 40 MB; this mail is over it.
    big = mail(files=[("scan.pdf", "application/pdf", b"%PDF" + b"x" * (31 * 1024 * 1024))])
    with pytest.raises(smtplib.SMTPException) as refused:
        send(smtpd, big)
    assert "552" in str(refused.value)
    assert not Message.objects.filter(workspace_id=desk.id).exists()


def test_database_busy_answers_451_then_the_retry_is_stored(desk, account, smtpd, settings):
    settings.EMAIL_INGEST_LOCK_TIMEOUT_S = 0.5
    with transaction.atomic():
        # Another writer holds the tables the mail goes into (SQLite: the write lock; PostgreSQL: a table lock).
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE conversations_message IN EXCLUSIVE MODE")
        else:
            Conversation.objects.filter(pk=0).update(subject="")  # takes SQLite's write lock
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            send(smtpd, mail(message_id="<busy@example.com>"))
        assert deferred.value.smtp_code == 451
    assert not InboundEmail.objects.filter(mail_id="busy@example.com").exists()
    send(smtpd, mail(message_id="<busy@example.com>"))  # the sending server's retry
    assert Message.objects.filter(workspace_id=desk.id, external_id="busy@example.com").count() == 1


def test_two_mailboxes_of_one_workspace_store_a_mail_once(desk, account, smtpd):
    from touchpoint.channels.models import ChannelAccount

    ChannelAccount.objects.create(workspace_id=desk.id, kind="email", name="Sales", address="sales@acme.test")
    with smtplib.SMTP("127.0.0.1", smtpd, timeout=30) as client:
        client.sendmail("maria@example.com", ["support@acme.test", "sales@acme.test"], mail(message_id="<cc@example.com>"))
    assert Message.objects.filter(workspace_id=desk.id, external_id="cc@example.com").count() == 1
    assert InboundEmail.objects.filter(workspace_id=desk.id).count() == 1
