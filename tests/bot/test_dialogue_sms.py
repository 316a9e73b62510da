"""The bot on SMS and WhatsApp, end to end through Twilio's signed webhook and a fake Twilio REST API:
the customer texts, the bot's turn runs as the worker runs it, and its answer leaves by the delivery
task as text (product cards become lines with links; "Reply PERSON" instead of buttons)."""

import pytest
from django_tasks_db.models import DBTaskResult

from tests.bot.dialogue_helpers import enable_bot, run_turns, stock_store
from tests.channels.messaging.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    SMS_NUMBER,
    WHATSAPP_NUMBER,
    FakeTwilio,
    inbound_sms,
    inbound_whatsapp,
    post_signed,
)
from touchpoint.bot.models import BotSession
from touchpoint.bot.services import forget_cached_models
from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.messaging.adapter import register_adapters
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Message, SenderType


@pytest.fixture(autouse=True)
def _real_twilio_adapters():
    register_adapters()
    forget_cached_models()
    yield
    forget_cached_models()


@pytest.fixture
def twilio(settings):
    with FakeTwilio() as fake:
        settings.TWILIO_API_BASE = fake.base_url
        yield fake


@pytest.fixture
def store(desk):
    stock_store(desk)
    enable_bot(desk)
    return desk


@pytest.fixture
def sms_line(store) -> ChannelAccount:
    return ChannelAccount.objects.create(workspace_id=store.id, kind="sms", name="Support line", address=SMS_NUMBER,
                                         config={"account_sid": ACCOUNT_SID}, secret=AUTH_TOKEN)


def _text(client, account, body: str, *, whatsapp: bool = False) -> None:
    params = inbound_whatsapp(body) if whatsapp else inbound_sms(body)
    response = post_signed(client, f"/channels/twilio/{account.pk}/messages", params)
    assert response.status_code == 200 and response.content.decode().endswith("<Response/>")
    run_turns()
    for row in list(DBTaskResult.objects.filter(task_path__endswith="deliver_message", status="READY")):
        row.delete()
        assert deliver_message.call(*row.args_kwargs["args"]) == "sent"


def _sent(twilio) -> list[str]:
    return [request["fields"]["Body"] for request in twilio.requests]


def test_a_product_question_by_sms_gets_text_lines_with_links(client, sms_line, twilio):
    _text(client, sms_line, "do you have black jackets?")
    [body] = _sent(twilio)
    assert body.startswith("Hi! I'm the store's assistant.")  # the greeting opens the first answer by SMS
    assert "• Ridgeline Jacket — $129.00 — In stock — https://shop.example.com/p/ridgeline-jacket" in body
    assert "(Reply PERSON to talk to someone.)" in body
    request = twilio.requests[0]
    assert request["fields"]["To"] == CUSTOMER and request["fields"]["From"] == SMS_NUMBER
    bot_message = Message.objects.get(sender_type=SenderType.BOT)
    assert bot_message.channel == "sms" and bot_message.delivery_status == "sent"


def test_an_order_by_sms_needs_the_number_and_the_email_then_person_hands_off(client, sms_line, twilio):
    _text(client, sms_line, "where is my order")
    _text(client, sms_line, "NW-100234")
    _text(client, sms_line, "maria@example.com")
    answers = _sent(twilio)
    assert "What is your order number?" in answers[0] and "what email address" in answers[1]
    assert "Order NW-100234" in answers[2] and "https://ups.example.com/track/1Z999AA10123456784" in answers[2]
    assert "Hi! I'm" not in answers[1]  # the greeting only once
    _text(client, sms_line, "PERSON")
    session = BotSession.objects.get()
    assert session.handoff_reason == "customer_asked" and not session.conversation.held_by_bot
    assert _sent(twilio)[-1] == "I'm passing you to a colleague who can help; they will see what we said."


def test_whatsapp_is_answered_too(client, store, twilio):
    line = ChannelAccount.objects.create(workspace_id=store.id, kind="whatsapp", name="WhatsApp",
                                         address=WHATSAPP_NUMBER, config={"account_sid": ACCOUNT_SID},
                                         secret=AUTH_TOKEN)
    _text(client, line, "is the Basecamp Tent in stock?", whatsapp=True)
    [body] = _sent(twilio)
    assert "Stock for Basecamp Tent" in body
    assert twilio.requests[0]["fields"]["To"] == f"whatsapp:{CUSTOMER}"


def test_sms_is_left_to_people_when_the_bot_answers_only_the_widget(client, store, sms_line, twilio):
    from touchpoint.bot import turns

    turns.update_settings(actor=store.supervisor_actor, channels=["webchat"])
    _text(client, sms_line, "where is my order")
    assert _sent(twilio) == []
    assert not Message.objects.get(sender_type=SenderType.CUSTOMER).conversation.held_by_bot
