"""One bad message fails alone, on every channel.

Text a database cannot store (NUL, which PostgreSQL refuses, and lone UTF-16 surrogates, which
neither database can encode) once made the widget's whole lot fail: the raw exception went to every
socket that had a message in it, and each was closed. Inbound text is now cleaned where every channel
stores it (NUL removed, a lone surrogate replaced by U+FFFD), identifiers with such characters are
refused, and a message that fails for any other reason fails alone: the rest of its lot is stored one
by one and no other visitor hears of it. Run on SQLite and on PostgreSQL (DATABASE_URL)."""

import asyncio
import json
import uuid

import pytest

from tests.apiclient import api_as, assert_problem, snapshot
from tests.channels.email.conftest import account  # noqa: F401  (the email account fixture)
from tests.channels.messaging.conftest import (  # noqa: F401  (the Twilio number fixtures)
    inbound_sms,
    inbound_whatsapp,
    post_signed,
    sms_account,
    whatsapp_account,
)
from tests.channels.webchat.conftest import Visitor, live_desk, make_widget, run  # noqa: F401
from touchpoint.channels.email.inbound import ingest_mime
from touchpoint.channels.email.models import InboundEmail
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Message
from touchpoint.core.errors import ValidationFailed
from touchpoint.core.text import clean_text

BAD = "bad \x00 frame \ud800 here"
CLEANED = "bad  frame \ufffd here"


@pytest.fixture
def widget(live_desk):  # noqa: F811
    return make_widget(live_desk)


async def _visitors(widget, n: int) -> list[Visitor]:
    """n visitors who have each written once (their records exist: their next messages go in lots)."""
    visitors = [Visitor(widget.address) for _ in range(n)]
    for visitor in visitors:
        await visitor.connect()
        assert (await visitor.say("hello"))["type"] == "ack"
    return visitors


async def _all_at_once(visitors: list[Visitor], texts: list[str]) -> list[dict]:
    """Every visitor sends at the same moment (one lot); each one's answer to its own message."""
    ids = [str(uuid.uuid4()) for _ in visitors]
    for visitor, client_id, text in zip(visitors, ids, texts, strict=True):
        await visitor.send({"type": "message", "client_id": client_id, "text": text})

    async def answer(visitor: Visitor, client_id: str) -> dict:
        while True:
            frame = await visitor.receive(timeout=10)
            if frame["type"] in ("ack", "error") and frame.get("client_id") == client_id:
                return frame

    return await asyncio.gather(*(answer(v, i) for v, i in zip(visitors, ids, strict=True)))


async def _still_connected(visitors: list[Visitor]) -> None:
    for visitor in visitors:
        await visitor.send({"type": "ping"})
        assert await visitor.receive_type("pong")
        assert (await visitor.say("still here"))["type"] == "ack"


@pytest.mark.asyncio
async def test_one_visitors_unstorable_text_is_cleaned_and_the_other_nine_are_acked(widget, live_desk):  # noqa: F811
    visitors = await _visitors(widget, 10)
    answers = await _all_at_once(visitors, [BAD] + [f"message from visitor {i}" for i in range(1, 10)])
    assert [a["type"] for a in answers] == ["ack"] * 10, answers
    assert answers[0]["message"]["text"] == CLEANED  # the customer's words are kept, the NUL is not
    assert [a["message"]["text"] for a in answers[1:]] == [f"message from visitor {i}" for i in range(1, 10)]
    stored = await run(lambda: Message.objects.get(pk=answers[0]["message"]["id"]).content_text)
    assert stored == CLEANED
    await _still_connected(visitors)
    for visitor in visitors:
        await visitor.close()


@pytest.mark.asyncio
async def test_a_line_with_nothing_storable_is_refused_to_its_sender_only(widget, live_desk):  # noqa: F811
    visitors = await _visitors(widget, 10)
    answers = await _all_at_once(visitors, ["\x00\x00 \x00"] + [f"fine {i}" for i in range(1, 10)])
    assert (answers[0]["type"], answers[0]["field"]) == ("error", "text")
    assert "empty" in answers[0]["message"]
    assert [a["type"] for a in answers[1:]] == ["ack"] * 9
    await _still_connected(visitors)
    for visitor in visitors:
        await visitor.close()


@pytest.mark.asyncio
async def test_an_unexpected_failure_of_one_line_fails_that_line_alone(widget, live_desk, monkeypatch):  # noqa: F811
    """Whatever makes one message fail (here: the database refusing it, simulated), the lot is
    stored again one message at a time: its sender gets one clear error, the others their acks."""
    render = conversations.Content.render

    def refuse_one(content):
        if "boom" in content.text:
            raise RuntimeError("the database refused this row")
        return render(content)

    monkeypatch.setattr(conversations.Content, "render", refuse_one)
    visitors = await _visitors(widget, 10)
    answers = await _all_at_once(visitors, ["boom"] + [f"fine {i}" for i in range(1, 10)])
    assert (answers[0]["type"], answers[0]["code"]) == ("error", "not_stored")
    assert "database refused" not in answers[0]["message"]  # the cause is logged, not shown to visitors
    assert [(a["type"], a["created"]) for a in answers[1:]] == [("ack", True)] * 9
    texts = await run(lambda: sorted(Message.objects.filter(content_text__startswith="fine")
                                     .values_list("content_text", flat=True)))
    assert texts == [f"fine {i}" for i in range(1, 10)]  # each stored once
    await _still_connected(visitors)
    for visitor in visitors:
        await visitor.close()


# ---- the other channels ------------------------------------------------------------------------------


def test_a_signed_twilio_sms_with_nul_is_stored_cleaned(client, desk, sms_account, whatsapp_account):  # noqa: F811
    params = inbound_sms("Where is\x00 my order?")
    response = post_signed(client, f"/channels/twilio/{sms_account.pk}/messages", params)
    assert response.status_code == 200, response.content
    message = Message.objects.get(external_id=params["MessageSid"])
    assert message.content_text == "Where is my order?"

    params = inbound_whatsapp("Hola\x00", profile_name="Mar\x00ía", sender="+14155552672")
    response = post_signed(client, f"/channels/twilio/{whatsapp_account.pk}/messages", params)
    assert response.status_code == 200, response.content
    message = Message.objects.select_related("customer").get(external_id=params["MessageSid"])
    assert (message.content_text, message.customer.name, message.metadata["profile_name"]) == ("Hola", "María",
                                                                                               "María")


def test_an_email_with_nul_and_undecodable_bytes_is_stored_cleaned(desk, account):  # noqa: F811
    raw = (b"From: Maria Lopez <maria@example.com>\r\nTo: support@acme.test\r\n"
           b"Subject: Order \xff\xfe 1042\x00\r\nMessage-ID: <nul-1@example.com>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nWhere is\x00 my order? \xed\xa0\x80\r\n")
    result = ingest_mime(raw, account.address, account)
    assert result.outcome == "stored", result
    message = Message.objects.select_related("conversation").get(pk=result.message.pk)
    assert "\x00" not in message.content_text and message.content_text.startswith("Where is my order?")
    assert "Order" in message.conversation.subject and "1042" in message.conversation.subject
    assert InboundEmail.objects.get(message=message).outcome == "stored"


def test_the_api_channel_refuses_unstorable_text_with_a_problem_and_changes_nothing(desk):
    """An integration is told (422) and can send the message again; nothing is half-stored."""
    api = api_as(desk.agent)
    before = snapshot()
    for text in ("a\x00b", "a\ud800b"):  # json.dumps writes them as \u0000 and \ud800 escapes
        refused = api.post("/inbound/messages", {"sender": {"kind": "email", "value": "jo@example.com"}, "text": text})
        assert_problem(refused, 422, "invalid_text")
    assert snapshot() == before


def test_receive_message_cleans_text_and_refuses_unstorable_identifiers_on_any_channel(desk):
    """Where every channel's message is stored: the text is cleaned, an identifier is refused whole
    (cleaned, it could name someone else)."""
    message, created = conversations.receive_message(
        workspace_id=desk.id, channel="api", content=conversations.Content(text=BAD, html=f"<p>{BAD}</p>"),
        sender=("email", "jo@example.com"), sender_name="Jo\x00 Park", subject="Late\x00 parcel \ud800",
        external_id="crm-1", metadata={"note\x00": ["a\x00", {"b": "\ud800"}]},
        attachments=[conversations.IncomingFile("in\x00voice.pdf", "application/pdf", b"%PDF-1.4")])
    message = Message.objects.select_related("conversation", "customer").get(pk=message.pk)
    assert created and (message.content_text, message.conversation.subject, message.customer.name) == (
        CLEANED, "Late parcel \ufffd", "Jo Park")
    assert "\x00" not in message.content_html and message.metadata == {"note": ["a", {"b": "\ufffd"}]}
    assert message.attachments.get().filename == "invoice.pdf"

    before = snapshot()
    for sender, external_id in ((("email", "kim\x00@example.com"), "crm-2"), (("external", "crm\ud800"), "crm-3"),
                                (("email", "kim@example.com"), "crm-\x004")):
        with pytest.raises(ValidationFailed) as refused:
            conversations.receive_message(workspace_id=desk.id, channel="api", content=conversations.Content(text="Hi"),
                                          sender=sender, external_id=external_id)
        assert refused.value.code == "unstorable_text"
    assert snapshot() == before


def test_clean_text_keeps_what_is_storable_and_joins_split_pairs():
    assert clean_text("plain text, ünïcödé, 😀") == "plain text, ünïcödé, 😀"
    assert clean_text("a\x00b") == "ab"
    assert clean_text("\ud800") == "\ufffd" and clean_text("x\udfffy") == "x\ufffdy"
    assert clean_text("\ud83d\ude00") == "😀"  # a pair split into two code points is one character again
    assert clean_text("tab\tnew\nline\r") == "tab\tnew\nline\r"
    assert json.dumps(clean_text(BAD)).encode()  # and encodable everywhere
    clean_text(BAD).encode("utf-8")
