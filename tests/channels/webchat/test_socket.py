"""The widget socket: acks and idempotent resends, replay after a reconnect, typing, limits, identity
verification, pre-chat routing, and who receives what (never a note, never another visitor's)."""

import uuid

import pytest

from touchpoint.accounts import services as accounts
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Message
from touchpoint.conversations.services import Content
from touchpoint.customers import services as customers
from touchpoint.customers.models import Customer, Identity

from .conftest import Visitor, events, make_widget, open_socket, run, signed_user

pytestmark = pytest.mark.asyncio


def _message(pk: int) -> Message:
    return Message.objects.select_related("conversation", "customer").get(pk=pk)


def _count(**filters) -> int:
    return Message.objects.filter(**filters).count()


async def test_a_message_is_acked_with_its_id_and_a_resend_is_stored_once(widget, live_desk):
    visitor = Visitor(widget.address)
    assert await visitor.connect() == []  # a new visitor: no history, and no customer record yet
    assert await run(Customer.objects.filter(workspace_id=live_desk.id).count) == 0

    ack = await visitor.say("Hello, is my order on its way?")
    assert ack["type"] == "ack" and ack["created"] is True
    message = await run(_message, ack["message"]["id"])
    assert (message.channel, message.kind, message.content_text) == ("webchat", "incoming", "Hello, is my order on its way?")
    assert message.external_id == ack["client_id"]
    assert message.conversation.channel_account_id == widget.pk
    assert await run(lambda: message.customer.identities.get().value) == visitor.visitor_id

    # The ack was lost with the connection: the widget sends the same message again.
    again = await visitor.say("Hello, is my order on its way?", client_id=ack["client_id"])
    assert (again["created"], again["message"]["id"]) == (False, message.pk)
    assert await run(_count, external_id=ack["client_id"]) == 1
    assert await visitor.nothing()  # its own message is not echoed back to the socket that sent it
    await visitor.close()


async def test_agents_see_the_visitor_live_and_the_visitor_sees_only_public_replies(widget, live_desk):
    agent = await open_socket(live_desk.agent)
    visitor = Visitor(widget.address)
    await visitor.connect()
    other_visitor = Visitor(widget.address)
    await other_visitor.connect()
    await other_visitor.say("I am someone else")
    await events(agent, 2)

    ack = await visitor.say("Where is my parcel?")
    opened, created = await events(agent, 2)
    assert (opened["event"], created["event"]) == ("conversation.opened", "message.created")
    assert created["payload"]["message_id"] == ack["message"]["id"]
    conversation = await run(Conversation.objects.get, pk=ack["message"]["conversation_id"])

    await run(conversations.add_note, actor=live_desk.agent_actor, conversation=conversation,
              content=Content(text="internal: customer is grumpy"))
    await run(conversations.assign, actor=live_desk.agent_actor, conversation=conversation, assignee=live_desk.agent)
    await run(conversations.update_conversation, actor=live_desk.agent_actor, conversation=conversation,
              priority="high")
    await run(conversations.reply, actor=live_desk.agent_actor, conversation=conversation,
              content=Content(text="It ships <b>today</b>."))
    reply = await visitor.receive_type("message")
    assert (reply["from"], reply["author"], reply["text"]) == ("agent", "Ana acme", "It ships <b>today</b>.")
    assert reply["event_id"] > 0
    assert await visitor.nothing()  # no note, no assignment, no system event, no priority change
    assert await other_visitor.nothing()  # and nothing of someone else's chat
    for socket in (visitor, other_visitor):
        await socket.close()
    await agent.disconnect()


async def test_another_workspace_never_reaches_this_widget(widget, live_desk, live_other_desk):
    theirs = await run(make_widget, live_other_desk)
    ours = Visitor(widget.address)
    await ours.connect()
    await ours.say("hi")
    stranger = Visitor(theirs.address, visitor_id=ours.visitor_id)  # even with the same visitor id
    assert await stranger.connect() == []
    ack = await stranger.say("hello from globex")
    conversation = await run(Conversation.objects.get, pk=ack["message"]["conversation_id"])
    assert conversation.workspace_id == live_other_desk.id
    await run(conversations.reply, actor=live_other_desk.agent_actor, conversation=conversation,
              content=Content(text="globex answer"))
    assert (await stranger.receive_type("message"))["text"] == "globex answer"
    assert await ours.nothing()
    await ours.close()
    await stranger.close()


async def test_a_reconnect_replays_exactly_the_missed_public_messages(widget, live_desk):
    visitor = Visitor(widget.address)
    await visitor.connect()
    ack = await visitor.say("Can I change my size?")
    conversation = await run(Conversation.objects.get, pk=ack["message"]["conversation_id"])
    await visitor.close()

    # While the visitor's connection is down: two replies, a note, and another visitor's chat.
    first = await run(conversations.reply, actor=live_desk.agent_actor, conversation=conversation,
                      content=Content(text="Yes, which size?"))
    await run(conversations.add_note, actor=live_desk.agent_actor, conversation=conversation,
              content=Content(text="check stock"))
    someone = Visitor(widget.address)
    await someone.connect()
    await someone.say("unrelated")
    second = await run(conversations.reply, actor=live_desk.agent2_actor, conversation=conversation,
                       content=Content(text="We have M and L."))

    replayed = await visitor.connect()
    assert [(m["type"], m["id"]) for m in replayed] == [("message", first.pk), ("message", second.pk)]
    assert [m["author"] for m in replayed] == ["Ana acme", "Ben acme"]
    assert await visitor.nothing()
    await visitor.close()

    # From the last event seen, nothing more.
    assert await visitor.connect() == []
    await visitor.close()
    await someone.close()


async def test_a_returning_visitor_gets_their_history_and_a_new_one_does_not(widget, live_desk):
    visitor = Visitor(widget.address)
    await visitor.connect()
    ack = await visitor.say("First question")
    conversation = await run(Conversation.objects.get, pk=ack["message"]["conversation_id"])
    await run(conversations.add_note, actor=live_desk.agent_actor, conversation=conversation,
              content=Content(text="private"))
    await run(conversations.reply, actor=live_desk.agent_actor, conversation=conversation, content=Content(text="Answer"))
    await visitor.close()

    returning = Visitor(widget.address, visitor_id=visitor.visitor_id)  # a new page: no last event id
    (history,) = await returning.connect()
    assert history["type"] == "history"
    assert [(m["from"], m["text"]) for m in history["messages"]] == [("visitor", "First question"), ("agent", "Answer")]
    assert history["messages"][0]["client_id"] == ack["client_id"]
    stranger = Visitor(widget.address)
    assert await stranger.connect() == []
    await returning.close()
    await stranger.close()


async def test_typing_goes_both_ways_only_to_the_conversation(widget, live_desk):
    visitor = Visitor(widget.address)
    await visitor.connect()
    ack = await visitor.say("hello")
    conversation_id = ack["message"]["conversation_id"]
    ana = await open_socket(live_desk.agent)
    ben = await open_socket(live_desk.agent2)
    await ana.send_json_to({"type": "view", "conversation_id": conversation_id})
    await ana.receive_nothing(timeout=0.2)

    await visitor.send({"type": "typing"})
    typing = await ana.receive_json_from(timeout=3)
    assert typing == {"type": "typing", "conversation_id": conversation_id, "who": "customer", "name": ""}
    assert await ben.receive_nothing(timeout=0.3)  # not viewing it

    await ana.send_json_to({"type": "typing", "conversation_id": conversation_id})
    assert await visitor.receive_type("typing") == {"type": "typing", "from": "agent", "name": "Ana acme",
                                                    "conversation_id": conversation_id}
    # Typing into a conversation one does not view reaches nobody.
    await ben.send_json_to({"type": "typing", "conversation_id": conversation_id})
    assert await visitor.nothing()
    await visitor.close()
    await ana.disconnect()
    await ben.disconnect()


async def test_rate_limit_and_size_limit_answer_with_a_clear_error(widget, live_desk, settings):
    settings.WIDGET_MESSAGES_PER_MINUTE = 3
    settings.WIDGET_MAX_MESSAGE_CHARS = 50
    visitor = Visitor(widget.address)
    await visitor.connect()
    for i in range(3):
        assert (await visitor.say(f"message {i}"))["type"] == "ack"
    refused = await visitor.say("one too many")
    assert (refused["type"], refused["code"]) == ("error", "rate_limited")
    assert 0 < refused["retry_after"] <= 60 and "at most 3 messages a minute" in refused["message"]
    too_long = await visitor.say("x" * 51)
    assert (too_long["code"], too_long["field"]) == ("message_too_long", "text")
    assert "limit is 50" in too_long["message"]
    assert await run(_count, workspace_id=live_desk.id) == 3
    # A resend of a stored message is answered even when over the limit (it is not a new message).
    first = await run(Message.objects.order_by("id").first)
    assert (await visitor.say("message 0", client_id=first.external_id))["type"] == "ack"
    await visitor.close()


async def test_a_valid_user_hash_signs_the_visitor_in_and_shows_their_history(widget, live_desk):
    known = await run(customers.create_customer, workspace_id=live_desk.id, name="Maria Garcia",
                      identities=[("email", "maria@example.com")])
    earlier, _ = await run(conversations.receive_message, workspace_id=live_desk.id, channel="webchat",
                           customer=known, content=Content(text="my earlier chat"))

    # The site signs the email too (user_id + "\n" + email): a customer known by email is found by it.
    visitor = Visitor(widget.address, user=signed_user(widget, sign_email=True))
    (history,) = await visitor.connect()
    assert visitor.welcome["verified"] is True and visitor.welcome["name"] == "Maria Garcia"
    assert [m["text"] for m in history["messages"]] == ["my earlier chat"]
    ack = await visitor.say("signed in now")
    assert (await run(_message, ack["message"]["id"])).customer_id == known.pk
    identities = await run(lambda: {(i.kind, i.value, i.verified) for i in known.identities.all()})
    assert {("external", "shop-42", True), ("email", "maria@example.com", True)} <= identities
    await visitor.close()


async def test_a_wrong_or_missing_hash_leaves_the_visitor_anonymous(widget, live_desk):
    known = await run(customers.create_customer, workspace_id=live_desk.id, name="Maria Garcia",
                      identities=[("email", "maria@example.com"), ("external", "shop-42")])
    await run(conversations.receive_message, workspace_id=live_desk.id, channel="webchat", customer=known,
              content=Content(text="Maria's private chat"))
    for user in (signed_user(widget, valid=False), {**signed_user(widget), "user_hash": ""}):
        impostor = Visitor(widget.address, user=user)
        assert await impostor.connect() == []  # nothing of Maria's
        assert impostor.welcome["verified"] is False and impostor.welcome["name"] == ""
        ack = await impostor.say("I am Maria, honest")
        message = await run(_message, ack["message"]["id"])
        assert message.customer_id != known.pk
        kinds = await run(lambda m=message: list(m.customer.identities.values_list("kind", flat=True)))
        assert kinds == ["visitor"]
        await impostor.close()
    assert not await run(Identity.objects.filter(customer=known, verified=True).exists)


async def test_a_visitor_id_used_while_signed_in_starts_afresh_when_signed_out(widget, live_desk):
    signed_in = Visitor(widget.address, user=signed_user(widget))
    await signed_in.connect()
    await signed_in.say("order 1234 for my home address")
    await signed_in.close()
    # Same browser, the site no longer vouches for anyone (signed out, or someone else at the keyboard).
    later = Visitor(widget.address, visitor_id=signed_in.visitor_id)
    assert await later.connect() == []
    assert later.welcome["visitor_id"] != signed_in.visitor_id and later.welcome["verified"] is False
    await later.close()


async def test_what_an_anonymous_visitor_wrote_joins_their_record_when_they_sign_in(widget, live_desk):
    known = await run(customers.create_customer, workspace_id=live_desk.id, name="Maria Garcia",
                      identities=[("external", "shop-42")])
    visitor = Visitor(widget.address)
    await visitor.connect()
    await visitor.say("question before signing in")
    await visitor.close()
    signed_in = Visitor(widget.address, visitor_id=visitor.visitor_id, user=signed_user(widget))
    (history,) = await signed_in.connect()
    assert [m["text"] for m in history["messages"]] == ["question before signing in"]
    assert signed_in.welcome["verified"] is True
    assert await run(lambda: Message.objects.get(content_text="question before signing in").customer_id) == known.pk
    await signed_in.close()


async def test_the_pre_chat_topic_picks_the_team(live_desk):
    team = await run(accounts.create_team, actor=live_desk.admin_actor, name="Orders")
    widget = await run(make_widget, live_desk, prechat=True, topics={"Orders": team.pk})
    visitor = Visitor(widget.address)
    await visitor.connect()
    assert visitor.welcome["config"]["prechat"] == {"enabled": True, "topics": ["Orders"]}
    ack = await visitor.say("Where is order 1234?", prechat={"name": "Lena Park", "email": "lena@example.com",
                                                            "topic": "Orders"})
    conversation = await run(Conversation.objects.select_related("customer").get,
                             pk=ack["message"]["conversation_id"])
    assert (conversation.team_id, conversation.subject, conversation.customer.name) == (team.pk, "Orders", "Lena Park")
    email = await run(Identity.objects.get, customer=conversation.customer, kind="email")
    assert (email.value, email.verified) == ("lena@example.com", False)

    # An unknown topic routes nowhere; a pre-chat email someone else owns is noted, not linked.
    owner = await run(customers.create_customer, workspace_id=live_desk.id, identities=[("email", "vip@example.com")])
    other = Visitor(widget.address)
    await other.connect()
    ack = await other.say("hi", prechat={"name": "X", "email": "vip@example.com", "topic": "Nope"})
    conversation = await run(Conversation.objects.get, pk=ack["message"]["conversation_id"])
    assert conversation.team_id is None and conversation.customer_id != owner.pk
    assert conversation.custom_fields == {"prechat_email": "vip@example.com"}
    await visitor.close()
    await other.close()


async def test_an_unknown_key_or_a_foreign_site_is_closed_and_not_retried(widget, live_desk):
    lost = Visitor("wk_nope")
    await lost.connect(hello=False)
    assert (await lost.receive())["code"] == "unknown_widget"
    assert (await lost.socket.receive_output(timeout=1))["code"] == 4404

    locked = await run(make_widget, live_desk, allowed_origins=["https://shop.example"])
    elsewhere = Visitor(locked.address, origin="https://evil.example")
    await elsewhere.connect(hello=False)
    assert (await elsewhere.receive())["code"] == "origin_refused"
    assert (await elsewhere.socket.receive_output(timeout=1))["code"] == 4403
    at_home = Visitor(locked.address, origin="https://shop.example")
    await at_home.connect()
    await at_home.close()


async def test_bad_frames_get_errors_not_crashes(widget, live_desk):
    visitor = Visitor(widget.address)
    await visitor.connect(hello=False)
    await visitor.send({"type": "message", "client_id": str(uuid.uuid4()), "text": "too early"})
    assert (await visitor.receive())["code"] == "hello_first"
    await visitor.socket.send_to(text_data="not json")
    assert (await visitor.receive())["code"] == "unknown_type"
    await visitor.socket.send_to(bytes_data=b"\x00\x01")
    assert (await visitor.receive())["code"] == "bad_frame"
    await visitor.send({"type": "hello"})
    await visitor.receive_type("synced")
    await visitor.send({"type": "hello"})
    assert (await visitor.receive())["code"] == "hello_twice"
    assert (await visitor.say("no id", client_id="1"))["field"] == "client_id"
    assert (await visitor.say("   "))["code"] == "validation_failed"
    await visitor.send({"type": "ping"})
    assert await visitor.receive() == {"type": "pong"}
    assert await run(_count, workspace_id=live_desk.id) == 0
    await visitor.close()


async def test_another_visitors_client_id_is_refused_and_reveals_nothing(widget, live_desk):
    first = Visitor(widget.address)
    await first.connect()
    ack = await first.say("my secret order")
    second = Visitor(widget.address)
    await second.connect()
    refused = await second.say("guessing", client_id=ack["client_id"])
    assert (refused["type"], refused["code"]) == ("error", "client_id_taken")
    assert "my secret order" not in str(refused)
    await first.close()
    await second.close()
