"""The widget's group commit: many visitors' messages stored as one lot, each with its own outcome,
and the same result as storing them one at a time."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from touchpoint.channels.webchat import services
from touchpoint.channels.webchat.consumers import _store_lot
from touchpoint.channels.webchat.services import SiteUser, VisitorMessage, create_widget
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Message, MessageKind, Status
from touchpoint.core.errors import DomainError
from touchpoint.realtime.models import LiveEvent


@pytest.fixture
def widget(desk):
    return create_widget(actor=desk.admin_actor, name="Shop", config={"always_online": True})


def _visitor(widget, text="Hello"):
    session = services.start_session(account=widget, visitor_id="", user=SiteUser.parse(None))
    first = services.receive_visitor_message(account=widget, session=session, client_id=str(uuid.uuid4()), text=text)
    return session.with_customer(first.customer_id)


def _said(session, text, client_id=None):
    return VisitorMessage(session=session, client_id=client_id or str(uuid.uuid4()), text=text)


def test_a_lot_stores_each_message_in_its_own_conversation(desk, widget):
    sessions = [_visitor(widget) for _ in range(5)]
    outcomes = services.receive_visitor_messages(account=widget, messages=[_said(s, f"Order {i}?") for i, s in
                                                                           enumerate(sessions)])
    assert [o.created for o in outcomes] == [True] * 5
    for i, (session, outcome) in enumerate(zip(sessions, outcomes, strict=True)):
        conversation = Conversation.objects.get(customer_id=session.customer_id)
        assert outcome.message.conversation_id == conversation.pk
        assert conversation.last_message_preview == f"Order {i}?"
        assert list(conversation.messages.filter(kind=MessageKind.INCOMING).values_list("content_text", flat=True)
                    .order_by("id")) == ["Hello", f"Order {i}?"]


def test_a_lot_costs_a_few_queries_however_many_visitors(desk, widget):
    sessions = [_visitor(widget) for _ in range(40)]
    with CaptureQueriesContext(connection) as queries:
        services.receive_visitor_messages(account=widget, messages=[_said(s, "Where is it?") for s in sessions])
    assert len(queries) <= 12, [q["sql"][:80] for q in queries]


def test_a_resend_in_the_same_lot_or_a_later_one_is_stored_once(desk, widget):
    session = _visitor(widget)
    client_id = str(uuid.uuid4())
    first, again = services.receive_visitor_messages(account=widget, messages=[
        _said(session, "Twice?", client_id), _said(session, "Twice?", client_id)])
    later, = services.receive_visitor_messages(account=widget, messages=[_said(session, "Twice?", client_id)])
    assert (first.created, again.created, later.created) == (True, False, False)
    assert first.message.pk == again.message.pk == later.message.pk
    assert Message.objects.filter(external_id=client_id).count() == 1


def test_one_visitors_bad_message_is_not_anothers(desk, widget):
    good, bad = _visitor(widget), _visitor(widget)
    ok, refused, empty = services.receive_visitor_messages(account=widget, messages=[
        _said(good, "Fine"), _said(bad, "x" * 100_000), _said(bad, "   ")])
    assert ok.created and ok.message.content_text == "Fine"
    assert isinstance(refused, DomainError) and refused.code == "message_too_long"
    assert isinstance(empty, DomainError) and empty.field == "text"


def test_someone_elses_client_id_is_refused_and_shows_nothing(desk, widget):
    mine, theirs = _visitor(widget), _visitor(widget)
    client_id = str(uuid.uuid4())
    services.receive_visitor_messages(account=widget, messages=[_said(theirs, "Private", client_id)])
    taken, = services.receive_visitor_messages(account=widget, messages=[_said(mine, "Mine", client_id)])
    assert isinstance(taken, DomainError) and taken.code == "client_id_taken"


def test_a_resolved_conversation_reopens_as_it_would_one_at_a_time(desk, widget):
    session = _visitor(widget)
    conversation = Conversation.objects.get(customer_id=session.customer_id)
    conversations.change_status(actor=desk.agent_actor, conversation=conversation, status=Status.RESOLVED)
    outcome, = services.receive_visitor_messages(account=widget, messages=[_said(session, "Still broken")])
    conversation.refresh_from_db()
    assert outcome.message.conversation_id == conversation.pk and conversation.status == Status.OPEN
    assert conversation.messages.filter(kind=MessageKind.EVENT, content_text__startswith="Reopened").exists()


def test_first_messages_and_the_rest_in_one_lot(desk, widget):
    known = _visitor(widget)
    new = services.start_session(account=widget, visitor_id="", user=SiteUser.parse(None))
    old, first = services.receive_visitor_messages(account=widget, messages=[_said(known, "Again"), _said(new, "Hi")])
    assert old.created and first.created and first.customer_id is not None
    assert first.message.conversation.customer_id == first.customer_id != known.customer_id


def test_the_lots_live_events_are_logged_with_one_write(live_desk):
    widget = create_widget(actor=live_desk.admin_actor, name="Shop", config={"always_online": True})
    sessions = [_visitor(widget) for _ in range(3)]
    before = LiveEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        outcomes = _store_lot([(widget, _said(s, "Hello again")) for s in sessions])
    assert sum('INSERT INTO "realtime_liveevent"' in q["sql"] for q in queries) == 1
    created = LiveEvent.objects.order_by("-id")[:3]
    assert LiveEvent.objects.count() == before + 3
    assert {e.payload["message_id"] for e in created} == {received.message.pk for received, _ in outcomes}
    assert {e.payload["customer_id"] for e in created} == {s.customer_id for s in sessions}
    assert all(ack["type"] == "ack" and ack["created"] for _, ack in outcomes)
