"""The bot's handoff on the live desk (listeners run on commit): the right queue for the intent's skill,
the system event and the summary note, what the customer is told, the first-response and SLA clocks
from the handoff, no queueing while the bot answers, agents taking over, and the pane's summary block."""

from datetime import timedelta

import pytest
from django.test import Client

from tests.bot.dialogue_helpers import Chat, enable_bot, signed_in_chat, stock_store
from touchpoint.accounts import services as accounts
from touchpoint.bot.models import BotSession, SessionState
from touchpoint.bot.services import forget_cached_models
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Message, MessageKind, SenderType
from touchpoint.conversations.selectors import first_response_time
from touchpoint.conversations.services import Content
from touchpoint.routing import services as routing
from touchpoint.routing.models import ContactState, ConversationSla, Queue, QueuedContact

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_models():
    forget_cached_models()
    yield
    forget_cached_models()


@pytest.fixture
def store(desk):
    """Skills named like the shipped intents' handoff skills exist before the bot is switched on, so
    return_item needs "Returns"; a general chat queue and a returns queue; Ana holds Returns."""
    returns = accounts.create_skill(actor=desk.admin_actor, name="Returns")
    accounts.create_skill(actor=desk.admin_actor, name="Orders")
    accounts.set_agent_skills(actor=desk.admin_actor, membership=desk.agent, levels=[(returns, 4)])
    routing.save_queue(actor=desk.admin_actor, name="Chats", channels=["webchat", "sms"], position=0)
    routing.save_queue(actor=desk.admin_actor, name="Returns desk", channels=["webchat", "sms"], position=1,
                       required_skills={"Returns": 2})
    stock_store(desk)
    enable_bot(desk)
    return desk


def _online(desk, membership) -> None:
    routing.set_presence(actor=desk.admin_actor, membership=membership, presence="online")


def _session(chat) -> BotSession:
    return BotSession.objects.get(conversation_id=chat.conversation_id)


def test_the_bot_holds_the_conversation_and_nothing_queues_it_while_it_answers(store):
    _online(store, store.agent2)
    chat = Chat(store)
    chat.say("hello")
    chat.say("do you have tents?")
    assert chat.conversation.held_by_bot and chat.conversation.assignee_id is None
    assert not QueuedContact.objects.filter(conversation_id=chat.conversation_id).exists()


def test_a_return_goes_to_the_returns_queue_with_the_summary_and_the_customer_is_told(store):
    _online(store, store.agent)
    chat = Chat(store)
    chat.say("I want to return my jacket, it doesn't fit")
    replies = chat.say("Yes, please")
    conversation = chat.conversation
    assert not conversation.held_by_bot and conversation.handed_off_at is not None
    contact = QueuedContact.objects.get(conversation=conversation)
    assert contact.queue.name == "Returns desk" and contact.assigned_to_id == store.agent.pk
    assert conversation.assignee_id == store.agent.pk
    events = list(Message.objects.filter(conversation=conversation, kind=MessageKind.EVENT)
                  .values_list("content_text", flat=True))
    assert "Handed to a person: the customer asked for a person" in events
    note = Message.objects.get(conversation=conversation, kind=MessageKind.NOTE)
    assert note.sender_type == SenderType.BOT
    assert note.content_text.startswith("Bot summary: handed to a person because the customer asked for a person.")
    assert "Intent: return_item" in note.content_text and "Verification: not verified" in note.content_text
    assert "The bot tried:" in note.content_text
    summary = note.metadata["bot_summary"]
    assert summary["intent"] == "return_item" and summary["skill"] == "Returns" and summary["reason"] == "customer_asked"
    assert [m.content_text for m in replies][-1].startswith("I'm passing you to a colleague who can help")
    assert "Ana acme will be with you in a moment." in replies[-1].content_text
    assert _session(chat).state == SessionState.HANDED_OFF


def test_with_nobody_online_the_customer_gets_the_away_message(store):
    chat = Chat(store)
    replies = chat.say("I want to talk to a person")
    assert replies[-1].content_text.startswith("Our team is away right now")
    assert QueuedContact.objects.get(conversation_id=chat.conversation_id).state == ContactState.WAITING


def test_the_expected_wait_is_told_when_the_router_knows_it(store):
    _online(store, store.agent2)  # online, but full
    routing.set_capacity(actor=store.admin_actor, membership=store.agent2, capacity={"chat": 0})
    general = Queue.objects.get(workspace_id=store.id, name="Chats")
    past = Chat(store, sender=("visitor", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")).say("hi")[0].conversation
    for minutes in (2, 3, 4, 5, 6):
        QueuedContact.objects.create(workspace_id=store.id, conversation=past, queue=general, work_kind="chat",
                                     state=ContactState.ASSIGNED, ended_at=past.created_at,
                                     waiting_since=past.created_at - timedelta(minutes=minutes))
    replies = Chat(store).say("talk to a human please")
    assert replies[-1].content_text.endswith("The expected wait is about 4 minutes.")


def test_the_first_response_and_sla_clocks_start_at_the_handoff(store, monkeypatch):
    routing.save_sla_policy(actor=store.supervisor_actor, name="Chats", first_response_s=300, business_hours=False)
    from django.utils import timezone

    start = timezone.now()
    clock = {"at": start}
    monkeypatch.setattr("django.utils.timezone.now", lambda: clock["at"])
    chat = Chat(store)
    chat.say("do you have tents?")
    assert not ConversationSla.objects.filter(conversation_id=chat.conversation_id).exists()
    clock["at"] = start + timedelta(minutes=20)  # four times the promise, talking to the bot
    chat.say("is it in stock?")
    clock["at"] = start + timedelta(minutes=25)
    chat.say("I want to talk to a person")
    handed = chat.conversation
    assert handed.handed_off_at == clock["at"]
    sla = ConversationSla.objects.get(conversation=handed)
    assert sla.first_response_due_at == clock["at"] + timedelta(minutes=5) and sla.state != "breached"
    assert handed.first_response_at is None  # the bot's answers were no response
    clock["at"] = start + timedelta(minutes=27)
    conversations.reply(actor=store.agent_actor, conversation=handed, content=Content(text="Hi, Ana here"))
    done = Conversation.objects.get(pk=handed.pk)
    assert first_response_time(done) == timedelta(minutes=2)
    assert ConversationSla.objects.get(conversation=handed).first_response_state == "met"


def test_an_agent_assigning_takes_over_and_the_bot_stops(store):
    chat = Chat(store)
    chat.say("hello")
    conversations.assign(actor=store.agent_actor, conversation=chat.conversation, assignee=store.agent)
    assert chat.say("where is my order?") == []
    session = _session(chat)
    assert session.state == SessionState.TAKEN_OVER and session.handed_off_at is not None


def test_a_verified_order_and_what_the_bot_said_are_in_the_summary(store):
    chat = signed_in_chat(store)
    chat.say("where is my order?")
    chat.say("talk to a person")
    note = Message.objects.get(conversation_id=chat.conversation_id, kind=MessageKind.NOTE)
    assert "Verification: signed-in customer (the site vouched for them), owns the order (order NW-100234)" in (
        note.content_text)
    assert "order_status: Order NW-100234" in note.content_text
    assert "Intent: order_status" in note.content_text


# ---- the conversation pane's bot summary ----------------------------------------------------------


def _agent(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_the_pane_shows_the_bot_summary_and_an_agent_can_retag_the_intent(store):
    chat = Chat(store)
    chat.say("I want to return my jacket")
    chat.say("Yes, please")
    agent = _agent(store.agent)
    page = agent.get(f"/conversations/{chat.conversation_id}/bot-summary/").content.decode()
    assert "Bot summary" in page and "return_item" in page and "the customer asked for a person" in page
    assert agent.get(f"/conversations/{chat.conversation_id}/").status_code == 200
    assert "bot-summary-slot" in agent.get(f"/conversations/{chat.conversation_id}/").content.decode()
    response = agent.post(f"/conversations/{chat.conversation_id}/bot-summary/intent/", {"intent": "warranty"})
    assert response.status_code == 302
    assert _session(chat).corrected_intent == "warranty"
    refused = agent.post(f"/conversations/{chat.conversation_id}/bot-summary/intent/", {"intent": "no_such"})
    assert refused.status_code == 422 and "is not one of this workspace" in refused.content.decode()
    assert _session(chat).corrected_intent == "warranty"


def test_another_workspace_cannot_read_or_retag_the_bot_summary(store, other_desk):
    chat = Chat(store)
    chat.say("talk to a person")
    outsider = _agent(other_desk.agent)
    assert outsider.get(f"/conversations/{chat.conversation_id}/bot-summary/").status_code == 404
    assert outsider.post(f"/conversations/{chat.conversation_id}/bot-summary/intent/",
                         {"intent": "warranty"}).status_code == 404
    assert _session(chat).corrected_intent == ""


def test_a_conversation_the_bot_never_answered_has_no_summary_block(store):
    conversation = conversations.open_conversation(actor=store.agent_actor, customer=Chat(store).say("hi")[0]
                                                   .conversation.customer, channel="email")
    page = _agent(store.agent).get(f"/conversations/{conversation.pk}/bot-summary/").content.decode()
    assert "Bot summary" not in page
