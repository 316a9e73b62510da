"""The desk's side of a bot: a conversation the bot holds is not queued and runs no SLA clock; its
messages are public and delivered but never a response; at the handoff it is queued for the needed
skill, the customer waits (and the first-response and SLA clocks run) from then on; an agent replying
or assigning takes it over. These go through conversations and routing alone, with a stand-in first
responder, so they hold whatever the bot decides."""

from datetime import UTC, datetime, timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from touchpoint.accounts import services as accounts
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Message, MessageKind, SenderType
from touchpoint.conversations.selectors import first_response_time
from touchpoint.conversations.services import Content
from touchpoint.realtime.models import Audience, LiveEvent
from touchpoint.routing import selectors as routing_selectors
from touchpoint.routing import services as routing
from touchpoint.routing.models import ContactState, ConversationSla, QueuedContact

pytestmark = pytest.mark.django_db(transaction=True)  # routing and SLAs run on commit

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(MONDAY_9)
    monkeypatch.setattr("django.utils.timezone.now", frozen)
    return frozen


@pytest.fixture
def bot_answers(desk):
    """A first responder that takes every new chat and SMS of the desk's workspace."""
    def takes(workspace_id: int, channel: str, metadata: dict) -> bool:
        return workspace_id == desk.id and channel in ("webchat", "sms") and not metadata.get("offline")

    conversations.register_first_responder(takes)
    yield takes
    conversations._first_responders.remove(takes)


@pytest.fixture
def queues(desk):
    """A general chat queue first, then a returns queue that needs the returns skill; Ana is online
    with returns, Ben online without."""
    returns = accounts.create_skill(actor=desk.admin_actor, name="returns")
    general = routing.save_queue(actor=desk.admin_actor, name="Chats", channels=["webchat", "sms"], position=0)
    skilled = routing.save_queue(actor=desk.admin_actor, name="Returns", channels=["webchat", "sms"], position=1,
                                 required_skills={"returns": 1})
    accounts.set_agent_skills(actor=desk.admin_actor, membership=desk.agent, levels=[(returns, 3)])
    return general, skilled


def _online(desk, membership):
    routing.set_presence(actor=desk.admin_actor, membership=membership, presence="online")


def _chat(desk, text="Where is my order?", who="amy@example.com", channel="webchat") -> Conversation:
    message, _ = conversations.receive_message(workspace_id=desk.id, channel=channel, sender=("email", who),
                                               content=Content(text=text))
    return Conversation.objects.get(pk=message.conversation_id)


def _hand_off(conversation: Conversation, *, skill: str = "", reason: str = "the customer asked for a person"):
    conversations.hand_off_from_bot(conversation=conversation, reason=reason, skill=skill,
                                    note=Content(text="Bot summary: order_status"),
                                    note_metadata={"bot_summary": {"intent": "order_status"}})
    return Conversation.objects.get(pk=conversation.pk)


def test_a_conversation_the_bot_holds_is_not_queued_even_with_an_agent_free(desk, queues, bot_answers):
    _online(desk, desk.agent2)
    conversation = _chat(desk)
    assert conversation.held_by_bot and conversation.waiting_since is not None
    assert not QueuedContact.objects.filter(conversation=conversation).exists()
    conversations.transfer_to_team(actor=desk.agent_actor, conversation=conversation,
                                   team=accounts.create_team(actor=desk.admin_actor, name="Orders"))
    assert not QueuedContact.objects.filter(conversation=conversation).exists()  # a topic's team: still the bot's
    assert conversation.assignee_id is None


def test_without_a_first_responder_nothing_changes(desk, queues):
    _online(desk, desk.agent2)
    conversation = _chat(desk)
    assert not conversation.held_by_bot
    assert Conversation.objects.get(pk=conversation.pk).assignee_id == desk.agent2.pk


def test_the_away_form_and_agent_opened_conversations_are_never_the_bots(desk, bot_answers):
    message, _ = conversations.receive_message(workspace_id=desk.id, channel="webchat", sender=("email", "x@e.com"),
                                               content=Content(text="Call me"), metadata={"offline": True})
    assert not message.conversation.held_by_bot
    outbound = conversations.open_conversation(actor=desk.agent_actor, customer=message.conversation.customer,
                                               channel="webchat")
    assert not outbound.held_by_bot


def test_a_failing_first_responder_leaves_the_conversation_to_people(desk, queues):
    def broken(workspace_id, channel, metadata):
        raise RuntimeError("model file missing")

    conversations.register_first_responder(broken)
    try:
        _online(desk, desk.agent2)
        conversation = _chat(desk)
    finally:
        conversations._first_responders.remove(broken)
    assert not conversation.held_by_bot
    assert Conversation.objects.get(pk=conversation.pk).assignee_id == desk.agent2.pk


def test_a_bot_message_is_public_and_delivered_but_never_a_response(desk, bot_answers, clock):
    conversation = _chat(desk)
    waiting = conversation.waiting_since
    clock.advance(seconds=2)
    message = conversations.bot_reply(conversation=conversation, content=Content(text="Your order <b>ships</b>"),
                                      metadata={"bot": {"name": "Nora"}})
    assert (message.kind, message.sender_type, message.author_id) == (MessageKind.OUTGOING, SenderType.BOT, None)
    assert "&lt;b&gt;" in message.content_html  # text, escaped
    fresh = Conversation.objects.get(pk=conversation.pk)
    assert fresh.first_response_at is None and fresh.waiting_since == waiting
    assert fresh.last_message_preview == "Your order <b>ships</b>" and fresh.last_message_at == clock.at
    live = LiveEvent.objects.filter(type="message.created", payload__message_id=message.pk).get()
    assert live.audience == Audience.PUBLIC  # the widget's socket gets it


def test_a_bot_sms_goes_out_through_the_delivery_task(desk, bot_answers):
    ChannelAccount.objects.create(workspace_id=desk.id, kind="sms", name="Line", address="+15005550006",
                                  config={"account_sid": "AC" + "0" * 32}, secret="f" * 32)
    message, _ = conversations.receive_message(workspace_id=desk.id, channel="sms", sender=("phone", "+14155550100"),
                                               content=Content(text="Is my order on its way?"),
                                               metadata={"from": "+14155550100"})
    reply = conversations.bot_reply(conversation=message.conversation, content=Content(text="Which order?"))
    assert Message.objects.get(pk=reply.pk).delivery_status == "queued"
    assert DBTaskResult.objects.filter(task_path__endswith="deliver_message", args_kwargs__args=[reply.pk]).exists()


def test_an_empty_bot_message_is_refused(desk, bot_answers):
    from touchpoint.core.errors import ValidationFailed

    conversation = _chat(desk)
    with pytest.raises(ValidationFailed):
        conversations.bot_reply(conversation=conversation, content=Content(text="  "))
    assert not Message.objects.filter(conversation=conversation, sender_type=SenderType.BOT).exists()


def test_the_handoff_queues_for_the_intents_skill_and_the_customer_waits_from_then(desk, queues, bot_answers,
                                                                                    clock):
    general, skilled = queues
    conversation = _chat(desk)
    clock.advance(minutes=4)
    conversations.bot_reply(conversation=conversation, content=Content(text="Which order?"))
    clock.advance(minutes=1)
    handed = _hand_off(conversation, skill="returns")
    assert not handed.held_by_bot and handed.handed_off_at == clock.at and handed.waiting_since == clock.at
    contact = QueuedContact.objects.get(conversation=conversation)
    assert contact.queue == skilled and contact.waiting_since == clock.at
    assert contact.state == ContactState.WAITING  # nobody online yet
    _online(desk, desk.agent2)  # no returns skill: not theirs
    assert QueuedContact.objects.get(pk=contact.pk).state == ContactState.WAITING
    _online(desk, desk.agent)
    assert QueuedContact.objects.get(pk=contact.pk).assigned_to_id == desk.agent.pk
    thread = list(Message.objects.filter(conversation=conversation).values_list("kind", "sender_type",
                                                                                  "content_text"))
    assert (MessageKind.EVENT, SenderType.SYSTEM, "Handed to a person: the customer asked for a person") in thread
    note = Message.objects.get(conversation=conversation, kind=MessageKind.NOTE)
    assert note.sender_type == SenderType.BOT and note.metadata["bot_summary"]["intent"] == "order_status"
    assert LiveEvent.objects.get(type="message.created", payload__message_id=note.pk).audience == Audience.AGENTS


def test_a_skill_no_queue_requires_falls_back_to_the_usual_queue(desk, queues, bot_answers):
    general, _ = queues
    accounts.create_skill(actor=desk.admin_actor, name="billing")
    _hand_off(_chat(desk), skill="billing")
    assert QueuedContact.objects.get().queue == general
    _hand_off(_chat(desk, who="bob@example.com"))
    assert QueuedContact.objects.filter(queue=general).count() == 2


def test_handing_off_twice_changes_nothing_the_second_time(desk, queues, bot_answers):
    conversation = _hand_off(_chat(desk))
    again = _hand_off(conversation)
    assert again.handed_off_at == conversation.handed_off_at
    assert Message.objects.filter(conversation=conversation, kind=MessageKind.EVENT).count() == 1
    assert QueuedContact.objects.filter(conversation=conversation).count() == 1


def test_first_response_time_counts_from_the_handoff(desk, queues, bot_answers, clock):
    conversation = _chat(desk)
    clock.advance(minutes=30)
    conversations.bot_reply(conversation=conversation, content=Content(text="Here is your order status."))
    clock.advance(minutes=10)
    handed = _hand_off(conversation)
    clock.advance(minutes=3)
    conversations.reply(actor=desk.agent_actor, conversation=handed, content=Content(text="Hi, Ana here."))
    done = Conversation.objects.get(pk=conversation.pk)
    assert done.first_response_at == clock.at
    assert first_response_time(done) == timedelta(minutes=3)  # not 43: the bot's 40 minutes are not waiting
    plain = _chat(desk, who="bob@example.com", channel="email")
    clock.advance(minutes=5)
    conversations.reply(actor=desk.agent_actor, conversation=plain, content=Content(text="Hello"))
    assert first_response_time(Conversation.objects.get(pk=plain.pk)) == timedelta(minutes=5)


def test_no_sla_clock_runs_while_the_bot_holds_it_and_the_first_response_is_due_from_the_handoff(
        desk, bot_answers, clock):
    routing.save_sla_policy(actor=desk.supervisor_actor, name="Chats", first_response_s=600, business_hours=False)
    conversation = _chat(desk)
    assert not ConversationSla.objects.filter(conversation=conversation).exists()
    assert routing_selectors.live_sla_report(conversation) is None
    clock.advance(minutes=20)  # past the 10-minute promise, but the customer is talking to the bot
    conversations.bot_reply(conversation=conversation, content=Content(text="Let me check."))
    _chat(desk)  # another line to the bot
    assert not ConversationSla.objects.filter(conversation=conversation).exists()
    handoff_at = clock.advance(minutes=5)
    _hand_off(conversation)
    sla = ConversationSla.objects.get(conversation=conversation)
    assert sla.first_response_due_at == handoff_at + timedelta(minutes=10)
    assert sla.state == "on_track" and sla.breached_at is None
    clock.advance(minutes=11)
    routing.check_slas()
    assert ConversationSla.objects.get(conversation=conversation).first_response_state == "breached"


def test_an_agent_replying_takes_the_conversation_from_the_bot(desk, queues, bot_answers, clock):
    conversation = _chat(desk)
    clock.advance(minutes=2)
    conversations.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="I'll take this"))
    fresh = Conversation.objects.get(pk=conversation.pk)
    assert not fresh.held_by_bot and fresh.handed_off_at == clock.at == fresh.first_response_at
    assert first_response_time(fresh) == timedelta(0)
    updates = LiveEvent.objects.filter(type="conversation.updated", conversation_id=conversation.pk)
    assert any("held_by_bot" in event.payload["fields"] for event in updates)  # the bot hears of it


def test_an_agent_assigning_takes_the_conversation_from_the_bot(desk, queues, bot_answers, clock):
    routing.save_sla_policy(actor=desk.supervisor_actor, name="Chats", first_response_s=600, business_hours=False)
    conversation = _chat(desk)
    clock.advance(minutes=7)
    conversations.assign(actor=desk.agent_actor, conversation=conversation, assignee=desk.agent)
    fresh = Conversation.objects.get(pk=conversation.pk)
    assert not fresh.held_by_bot and fresh.handed_off_at == clock.at
    assert ConversationSla.objects.get(conversation=conversation).first_response_due_at == clock.at + timedelta(
        minutes=10)
    conversations.assign(actor=desk.agent_actor, conversation=fresh, assignee=None)  # unassigned: now routed
    assert QueuedContact.objects.filter(conversation=conversation, state=ContactState.WAITING).exists()


def test_the_expected_wait_is_the_median_of_recent_waits_in_the_queue(desk, queues, clock):
    general, _ = queues
    assert routing_selectors.expected_wait(general) is None  # nothing to go by
    for minutes in (1, 2, 3, 4, 20):
        conversation = _chat(desk, who=f"c{minutes}@example.com")
        QueuedContact.objects.create(workspace_id=desk.id, conversation=conversation, queue=general, work_kind="chat",
                                     state=ContactState.ASSIGNED, waiting_since=clock.at - timedelta(minutes=minutes),
                                     ended_at=clock.at)
    assert routing_selectors.expected_wait(general) == timedelta(minutes=3)
    clock.advance(hours=3)
    assert routing_selectors.expected_wait(general) is None  # too old to promise anything


def test_a_queue_requiring_the_skill_is_chosen_even_when_it_belongs_to_a_team(desk, bot_answers):
    orders_skill = accounts.create_skill(actor=desk.admin_actor, name="orders")
    orders_team = accounts.create_team(actor=desk.admin_actor, name="Orders")
    routing.save_queue(actor=desk.admin_actor, name="General", channels=["webchat"], position=0)
    team_queue = routing.save_queue(actor=desk.admin_actor, name="Orders chat", channels=["webchat"], position=1,
                                    team=orders_team, required_skills={"orders": 2})
    assert orders_skill.name == "orders"
    _hand_off(_chat(desk), skill="orders")
    assert QueuedContact.objects.get().queue == team_queue
