"""The bot in the chat widget, over the real socket (services commit, the live fan-out runs): the widget
is told the bot's name and greeting, the visitor's message is acked as always, the bot's answer arrives
live as the bot's, with product cards and suggested replies, a signed-in visitor gets their own order,
and a fresh page shows the same messages once."""

import pytest

from tests.bot.dialogue_helpers import enable_bot, run_turns, stock_store
from tests.channels.webchat.conftest import (  # noqa: F401  (live_desk: the widget tests' fixture)
    Visitor,
    live_desk,
    make_widget,
    run,
    signed_user,
)
from touchpoint.bot.services import forget_cached_models
from touchpoint.channels.webchat import payloads
from touchpoint.conversations.models import Message, SenderType
from touchpoint.core.clock import now

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _fresh_models():
    forget_cached_models()
    yield
    forget_cached_models()


@pytest.fixture
def shop(live_desk):  # noqa: F811  (the imported fixture)
    stock_store(live_desk)
    enable_bot(live_desk)
    return make_widget(live_desk)


async def _bot_answer(visitor: Visitor) -> dict:
    await run(run_turns)  # the worker's turn
    frame = await visitor.receive_type("message")
    assert frame["from"] == "bot", frame
    return frame


async def test_the_widget_is_told_the_bots_name_and_greeting_and_is_open_at_any_hour(shop):
    visitor = Visitor(shop.address)
    await visitor.connect()
    config = visitor.welcome["config"]
    assert config["bot"] == {"name": "Nora"}
    assert config["greeting"].startswith("Hi! I'm the store's assistant")
    assert config["online"] is True
    await visitor.close()


async def test_the_bots_product_cards_and_suggested_replies_arrive_live(shop):
    visitor = Visitor(shop.address)
    await visitor.connect()
    ack = await visitor.say("do you have black jackets?")
    assert ack["type"] == "ack" and ack["message"]["from"] == "visitor"
    answer = await _bot_answer(visitor)
    assert answer["author"] == "Nora"
    assert answer["text"].startswith("Here is what I found for black jackets")
    assert "•" not in answer["text"]  # the lines are for text channels: the widget gets cards
    assert [c["title"] for c in answer["cards"]] == ["Ridgeline Jacket", "Trail Shell"]
    assert answer["cards"][0] == {"title": "Ridgeline Jacket", "price": "$129.00", "stock": "In stock",
                                  "url": "https://shop.example.com/p/ridgeline-jacket", "note": ""}
    assert answer["quick_replies"] == ["That's all, thanks", "Talk to a person"]
    assert await visitor.nothing()  # once
    await visitor.close()

    again = Visitor(shop.address, visitor_id=visitor.visitor_id)
    history = (await again.connect())[0]["messages"]
    assert [m["from"] for m in history] == ["visitor", "bot"]
    assert history[1]["cards"] == answer["cards"]
    await again.close()


async def test_a_signed_in_visitor_gets_their_order_without_giving_a_number(shop):
    visitor = Visitor(shop.address, user=signed_user(shop))
    await visitor.connect()
    assert visitor.welcome["verified"] is True
    await visitor.say("where is my order?")
    answer = await _bot_answer(visitor)
    assert "Order NW-100234" in answer["text"] and "UPS parcel 1Z999AA10123456784" in answer["text"]
    await visitor.close()


async def test_a_visitor_with_a_forged_hash_is_asked_for_the_order_number(shop):
    visitor = Visitor(shop.address, user=signed_user(shop, valid=False))
    await visitor.connect()
    await visitor.say("where is my order?")
    answer = await _bot_answer(visitor)
    assert "What is your order number?" in answer["text"] and "NW-100234" not in answer["text"]
    await visitor.close()


async def test_talk_to_a_person_hands_off_and_the_bot_goes_quiet(shop):
    visitor = Visitor(shop.address)
    await visitor.connect()
    await visitor.say("hello")
    await _bot_answer(visitor)
    await visitor.say("Talk to a person")
    told = await _bot_answer(visitor)
    assert told["text"].startswith("I'm passing you to a colleague")
    await visitor.say("hello?")
    await run(run_turns)
    assert await visitor.nothing()
    assert await run(lambda: Message.objects.filter(sender_type=SenderType.BOT, kind="note").count()) == 1
    await visitor.close()


@pytest.mark.asyncio
async def test_a_bot_messages_payload_keeps_only_the_known_card_fields_as_text():
    message = Message(pk=1, conversation_id=2, customer_id=3, kind="outgoing", sender_type="bot", channel="webchat",
                      content_text="lead\n• lines", metadata={"bot": {
                          "name": "Nora", "lead": "lead", "quick_replies": ["Talk to a person", 7, " "],
                          "cards": [{"title": "<b>x</b>", "price": 5, "url": "javascript:alert(1)", "onclick": "y"},
                                    "not a card"]}})
    message.created_at = now()
    shown = payloads.widget_message(message, attachments=[])
    assert shown["from"] == "bot" and shown["author"] == "Nora" and shown["text"] == "lead"
    assert shown["cards"] == [{"title": "<b>x</b>", "price": "5", "stock": "", "url": "", "note": ""}]  # as text
    assert shown["quick_replies"] == ["Talk to a person"]
