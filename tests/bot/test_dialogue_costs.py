"""What the bot costs and where it may look: nothing per message on a desk without it (the widget's hot
path), and, with it, only its own workspace's catalog, orders and articles."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.bot.dialogue_helpers import Chat, enable_bot, run_turns, stock_store
from touchpoint.bot import listeners, turns
from touchpoint.bot.services import forget_cached_models
from touchpoint.channels.webchat import services as webchat
from touchpoint.channels.webchat.services import VisitorMessage, VisitorSession
from touchpoint.commerce import services as commerce
from touchpoint.commerce.services import LineRecord, OrderRecord, ProductRecord, VariantRecord
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Message, SenderType
from touchpoint.conversations.services import Content
from touchpoint.core import events
from touchpoint.core.clock import now
from touchpoint.knowledge import services as knowledge


@pytest.fixture(autouse=True)
def _fresh_models():
    forget_cached_models()
    yield
    forget_cached_models()


VISITOR = "5b0a9f3e-2c41-4d7e-9a61-0c3f8e2d7b14"


def _widget(desk):
    from touchpoint.channels.models import ChannelAccount

    return ChannelAccount.objects.create(workspace_id=desk.id, kind="webchat", name="Shop", address="wk_costs",
                                         config={"always_online": True})


def _line(account, session, n: int) -> list:
    return webchat.receive_visitor_messages(account=account, messages=[VisitorMessage(
        session=session, client_id=f"00000000-0000-4000-8000-{n:012d}", text=f"line {n}")])


def _without_bot_handlers():
    """The event handlers as they would be with no bot app at all."""
    saved = {kind: list(handlers) for kind, handlers in events._outbox_handlers.items()}
    for handlers in events._outbox_handlers.values():
        handlers[:] = [h for h in handlers if getattr(h, "__module__", "") != listeners.__name__]
    return saved


def test_a_desk_without_the_bot_pays_no_query_for_it_per_message(desk):
    account = _widget(desk)
    customer = conversations.receive_message(workspace_id=desk.id, channel="webchat", sender=("visitor", VISITOR),
                                             content=Content(text="first"))[0].customer
    session = VisitorSession(desk.id, account.pk, VISITOR, customer.pk, verified=False)
    _line(account, session, 1)  # caches warm: the bot's answer "off" is in the shared cache now
    with CaptureQueriesContext(connection) as with_bot:
        _line(account, session, 2)
    saved = _without_bot_handlers()
    try:
        with CaptureQueriesContext(connection) as without_bot:
            _line(account, session, 3)
    finally:
        for kind, handlers in saved.items():
            events._outbox_handlers[kind][:] = handlers
    assert len(with_bot.captured_queries) == len(without_bot.captured_queries)
    assert not [q for q in with_bot.captured_queries if "bot_" in q["sql"]]
    assert not Message.objects.filter(sender_type=SenderType.BOT).exists()


def test_the_off_answer_is_cached_and_dropped_when_the_bot_is_switched_on(desk, django_assert_num_queries):
    assert turns.answered_channels(desk.id) == ()
    with django_assert_num_queries(0):
        assert turns.answered_channels(desk.id) == ()
        assert not turns.takes_conversation(desk.id, "webchat", {})
    enable_bot(desk)
    assert turns.answered_channels(desk.id) == ("webchat", "sms", "whatsapp")


def test_the_bot_never_reads_another_workspaces_catalog_orders_or_articles(desk, other_desk):
    stock_store(desk)
    enable_bot(desk)
    commerce.upsert_product(actor=other_desk.admin_actor, record=ProductRecord(
        handle="glacier-boots", name="Glacier Boots", product_type="boots", url="https://globex.example.com/boots",
        variants=[VariantRecord(sku="GB-1", price="89.00", currency="USD", attributes={"color": "brown"},
                                quantity=9)]))
    commerce.upsert_order(actor=other_desk.admin_actor, record=OrderRecord(
        number="NW-500000", email="x@globex.example.com", placed_at=now(), currency="USD", lines=[LineRecord(quantity=1, unit_price="89.00", sku="GB-1")], total="89.00"))
    knowledge.create_article(actor=other_desk.supervisor_actor, title="Glacier Boots care and waterproofing",
                             locale="en", status="published",
                             body="Wax your glacier boots every month to keep them waterproof.")
    chat = Chat(desk)
    boots = chat.text("do you have glacier boots?")
    assert "Glacier" not in boots and "89" not in boots
    order = Chat(desk, sender=("visitor", "99999999-9999-4999-8999-999999999999"))
    order.say("where is my order NW-500000?")
    told = order.text("x@globex.example.com")
    assert told.startswith("I couldn't find an order with that number and email address.")
    care = Chat(desk, sender=("visitor", "88888888-8888-4888-8888-888888888888")).text(
        "how do I wax my glacier boots to keep them waterproof?")
    assert "Wax your glacier boots" not in care and "globex" not in care


def test_a_customer_of_another_workspace_is_never_answered_by_this_bot(desk, other_desk):
    enable_bot(desk)
    message, _ = conversations.receive_message(workspace_id=other_desk.id, channel="webchat",
                                               sender=("visitor", "77777777-7777-4777-8777-777777777777"),
                                               content=Content(text="hello"))
    run_turns()
    assert not message.conversation.held_by_bot
    assert not Message.objects.filter(sender_type=SenderType.BOT).exists()
