"""Who receives each live event, resume after a reconnect, and who is viewing."""

import threading
from datetime import timedelta

import pytest

from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content
from touchpoint.core.clock import now
from touchpoint.realtime.models import Audience, LiveEvent
from touchpoint.realtime.selectors import latest_event_id

from .conftest import events, open_socket, run

pytestmark = pytest.mark.asyncio


def customer_writes(desk, text="Where is my order?", email="maria@example.com", **kwargs):
    message, _ = conversations.receive_message(workspace_id=desk.id, channel="email", sender=("email", email),
                                               content=Content(text=text), **kwargs)
    return message.conversation


async def test_anonymous_socket_is_refused(live_desk):
    socket = await open_socket(None)
    assert socket.refused_with == 4403


async def test_socket_from_a_foreign_origin_is_refused(live_desk):
    socket = await open_socket(live_desk.agent, origin=b"https://evil.example")
    assert socket.refused_with is not None


async def test_agent_receives_new_message_assignment_and_status_change(live_desk):
    socket = await open_socket(live_desk.agent)
    conversation = await run(customer_writes, live_desk)
    opened, created = await events(socket, 2)
    assert (opened["event"], opened["conversation_id"]) == ("conversation.opened", conversation.pk)
    assert created["event"] == "message.created" and created["payload"]["kind"] == "incoming"
    assert "Where is my order" not in str(created)  # ids only: content is fetched through the views

    await run(conversations.assign, actor=live_desk.agent_actor, conversation=conversation, assignee=live_desk.agent2)
    names = [e["event"] for e in await events(socket, 2)]
    assert sorted(names) == ["conversation.assigned", "message.created"]  # + the system event in the thread

    await run(conversations.change_status, actor=live_desk.agent_actor, conversation=conversation, status="resolved")
    received = await events(socket, 2)
    status = next(e for e in received if e["event"] == "conversation.status_changed")
    assert status["payload"] == {"conversation_id": conversation.pk, "status": "resolved", "previous_status": "open"}
    ids = [opened["id"], created["id"]] + [e["id"] for e in received]
    assert ids == sorted(ids)
    await socket.disconnect()


async def test_a_workspace_never_receives_another_workspaces_events(live_desk, live_other_desk):
    ours = await open_socket(live_desk.agent)
    theirs = await open_socket(live_other_desk.agent)
    their_conversation = await run(customer_writes, live_other_desk, "Globex only")
    await run(conversations.add_note, actor=live_other_desk.agent_actor, conversation=their_conversation,
              content=Content(text="internal"))
    assert len(await events(theirs, 3)) == 3
    assert await ours.receive_nothing(timeout=0.3)
    # Even asking to view their conversation does not let us in.
    await ours.send_json_to({"type": "view", "conversation_id": their_conversation.pk})
    refusal = await ours.receive_json_from()
    assert refusal["type"] == "error" and "No conversation" in refusal["message"]
    await run(conversations.reply, actor=live_other_desk.agent_actor, conversation=their_conversation,
              content=Content(text="reply"))
    assert await ours.receive_nothing(timeout=0.3)
    await ours.disconnect()
    await theirs.disconnect()


async def test_resume_replays_exactly_the_missed_events(live_desk, live_other_desk):
    conversation = await run(customer_writes, live_desk)
    resume_point = await run(latest_event_id, live_desk.id)
    # While the agent is away: three changes here, and some in another workspace.
    await run(conversations.assign, actor=live_desk.agent_actor, conversation=conversation, assignee=live_desk.agent)
    await run(conversations.reply, actor=live_desk.agent_actor, conversation=conversation, content=Content(text="hi"))
    await run(customer_writes, live_other_desk)
    missed = await run(lambda: list(LiveEvent.objects.filter(workspace_id=live_desk.id, id__gt=resume_point)
                                    .order_by("id").values_list("id", flat=True)))
    assert len(missed) == 3  # assigned, its system message, the reply

    socket = await open_socket(live_desk.agent, last_event_id=resume_point)
    replayed = await events(socket, len(missed))
    assert [e["id"] for e in replayed] == missed
    hello = await socket.receive_json_from()
    assert hello == {"type": "hello", "last_event_id": missed[-1], "replayed": 3}
    assert await socket.receive_nothing(timeout=0.3)

    # Reconnecting from the last id seen replays nothing.
    await socket.disconnect()
    again = await open_socket(live_desk.agent, last_event_id=missed[-1])
    assert (await again.receive_json_from())["replayed"] == 0
    await again.disconnect()


async def test_a_socket_away_too_long_is_told_to_reload_instead_of_replaying(live_desk, monkeypatch):
    from touchpoint.realtime import selectors

    monkeypatch.setattr(selectors, "REPLAY_LIMIT", 2)
    await run(customer_writes, live_desk, email="a@example.com")
    await run(customer_writes, live_desk, email="b@example.com")  # four events in all
    latest = await run(latest_event_id, live_desk.id)
    socket = await open_socket(live_desk.agent, last_event_id=latest - 4)
    assert await socket.receive_json_from() == {"type": "resync", "last_event_id": latest}
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_an_event_sent_to_two_of_a_sockets_groups_arrives_once(live_desk):
    conversation = await run(customer_writes, live_desk)
    socket = await open_socket(live_desk.agent)
    await socket.send_json_to({"type": "view", "conversation_id": conversation.pk})
    await run(conversations.add_note, actor=live_desk.agent_actor, conversation=conversation, content=Content(text="n"))
    (note,) = await events(socket, 1)
    assert note["payload"]["kind"] == "note"
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_events_from_a_background_thread_reach_the_socket(live_desk):
    """The task worker and periodic jobs run on threads of the serving process, outside any event loop."""
    conversation = await run(customer_writes, live_desk)
    await run(conversations.change_status, actor=live_desk.agent_actor, conversation=conversation, status="snoozed",
              snoozed_until=now() + timedelta(minutes=5))
    socket = await open_socket(live_desk.agent)
    worker = threading.Thread(target=conversations.wake_snoozed, kwargs={"at": now() + timedelta(minutes=10)})
    worker.start()
    received = await events(socket, 2)
    worker.join()
    assert any(e["event"] == "conversation.status_changed" and e["payload"]["status"] == "open" for e in received)
    await socket.disconnect()


async def test_who_is_viewing_join_here_and_leave(live_desk):
    conversation = await run(customer_writes, live_desk)
    ana = await open_socket(live_desk.agent)
    ben = await open_socket(live_desk.agent2)
    await ana.send_json_to({"type": "view", "conversation_id": conversation.pk})
    assert await ana.receive_nothing(timeout=0.2)  # alone: nobody answers

    await ben.send_json_to({"type": "view", "conversation_id": conversation.pk})
    joined = await ana.receive_json_from()
    assert (joined["type"], joined["action"], joined["agent"]["name"]) == ("presence", "join", "Ben acme")
    here = await ben.receive_json_from()
    assert (here["action"], here["agent"]["name"], here["conversation_id"]) == ("here", "Ana acme", conversation.pk)

    await ben.send_json_to({"type": "leave"})
    left = await ana.receive_json_from()
    assert (left["action"], left["agent"]["name"]) == ("leave", "Ben acme")

    await ben.send_json_to({"type": "view", "conversation_id": conversation.pk})
    assert (await ana.receive_json_from())["action"] == "join"
    assert (await ben.receive_json_from())["action"] == "here"
    await ben.disconnect()  # closing the tab announces departure too
    assert (await ana.receive_json_from())["action"] == "leave"
    await ana.disconnect()


async def test_presence_does_not_cross_conversations(live_desk):
    first = await run(customer_writes, live_desk, email="a@example.com")
    second = await run(customer_writes, live_desk, email="b@example.com")
    ana = await open_socket(live_desk.agent)
    ben = await open_socket(live_desk.agent2)
    await ana.send_json_to({"type": "view", "conversation_id": first.pk})
    await ben.send_json_to({"type": "view", "conversation_id": second.pk})
    assert await ana.receive_nothing(timeout=0.2)
    assert await ben.receive_nothing(timeout=0.2)
    await ana.disconnect()
    await ben.disconnect()


async def test_unknown_messages_get_an_error_not_a_crash(live_desk):
    socket = await open_socket(live_desk.agent)
    await socket.send_json_to({"type": "shout"})
    assert (await socket.receive_json_from())["type"] == "error"
    await socket.send_json_to({"type": "view", "conversation_id": "1; drop table"})
    assert (await socket.receive_json_from())["type"] == "error"
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from()) == {"type": "pong"}
    await socket.disconnect()


def test_notes_are_marked_for_agents_only(transactional_db):
    from tests.conftest import Desk

    desk = Desk("acme")
    conversation = customer_writes(desk)
    conversations.add_note(actor=desk.agent_actor, conversation=conversation, content=Content(text="internal"))
    conversations.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="public"))
    audience = {(e.payload.get("kind")): e.audience for e in LiveEvent.objects.filter(type="message.created")}
    assert audience == {"incoming": Audience.PUBLIC, "note": Audience.AGENTS, "outgoing": Audience.PUBLIC}
    from touchpoint.realtime.groups import groups_for

    for event in LiveEvent.objects.all():
        assert all(group.startswith(f"ws.{desk.id}.") for group in groups_for(event))


def test_old_live_events_are_pruned(transactional_db):
    from tests.conftest import Desk
    from touchpoint.realtime.services import RETENTION, prune_live_events

    desk = Desk("acme")
    customer_writes(desk)
    LiveEvent.objects.update(created_at=now() - RETENTION - timedelta(minutes=1))
    customer_writes(desk, email="new@example.com")
    assert prune_live_events() == 2
    assert LiveEvent.objects.count() == 2
