"""Outside finding 6: a deactivated person's open socket kept receiving the workspace's events. Now
deactivation, a role change and signing out close that person's sockets at once (a signed-out
session's sockets only), and nothing more reaches them; everyone else's sockets stay open."""

import pytest
from django.conf import settings
from django.test import Client

from tests.realtime.conftest import events, live_desk, live_other_desk, open_socket, run  # noqa: F401
from tests.realtime.test_redis_layer import redis_layer  # noqa: F401
from touchpoint.accounts import services as accounts
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content
from touchpoint.core.api import SESSION_WORKSPACE_KEY
from touchpoint.core.permissions import Role

pytestmark = pytest.mark.asyncio
ACCESS_ENDED = 4401


def customer_writes(desk, email="maria@example.com"):
    message, _ = conversations.receive_message(workspace_id=desk.id, channel="email", sender=("email", email),
                                               content=Content(text="Where is my order?"))
    return message.conversation


async def ended(socket) -> tuple[dict, int]:
    """The last frame a socket is sent when its access ends, and the close code that follows it."""
    frame = await socket.receive_json_from(timeout=3)
    while frame["type"] != "access_ended":
        frame = await socket.receive_json_from(timeout=3)
    close = await socket.receive_output(timeout=3)
    assert close["type"] == "websocket.close", close
    return frame, close["code"]


async def still_live(socket, desk, email) -> None:
    await run(customer_writes, desk, email)
    assert [e["event"] for e in await events(socket, 2)] == ["conversation.opened", "message.created"]


async def test_deactivation_closes_the_persons_sockets_and_nothing_more_reaches_them(live_desk, live_other_desk):  # noqa: F811
    ana_tab1 = await open_socket(live_desk.agent)
    ana_tab2 = await open_socket(live_desk.agent)
    ben = await open_socket(live_desk.agent2)
    stranger = await open_socket(live_other_desk.agent)
    await run(accounts.update_member, actor=live_desk.admin_actor, membership=live_desk.agent, is_active=False)
    for socket in (ana_tab1, ana_tab2):
        frame, code = await ended(socket)
        assert (frame["reason"], code) == ("deactivated", ACCESS_ENDED)
    await still_live(ben, live_desk, "after@example.com")
    assert await ana_tab1.receive_nothing(timeout=0.3) and await ana_tab2.receive_nothing(timeout=0.3)
    assert await stranger.receive_nothing(timeout=0.2)
    # Reconnecting is refused: the deactivated membership opens nothing.
    again = await open_socket(live_desk.agent)
    assert again.refused_with == 4403
    for socket in (ben, stranger):
        await socket.disconnect()


async def test_a_role_change_closes_the_sockets_so_they_reconnect_with_the_new_role(live_desk):  # noqa: F811
    ana = await open_socket(live_desk.agent)
    ben = await open_socket(live_desk.agent2)
    await run(accounts.set_role, actor=live_desk.admin_actor, membership=live_desk.agent, role=Role.SUPERVISOR)
    frame, code = await ended(ana)
    assert (frame["reason"], code) == ("role_changed", ACCESS_ENDED)
    await still_live(ben, live_desk, "after@example.com")
    assert await ana.receive_nothing(timeout=0.3)
    reconnected = await open_socket(live_desk.agent)
    assert reconnected.refused_with is None
    await still_live(reconnected, live_desk, "later@example.com")
    # Saving the same role again changes nothing, and closes nothing.
    await run(accounts.set_role, actor=live_desk.admin_actor, membership=live_desk.agent, role=Role.SUPERVISOR)
    assert await reconnected.receive_nothing(timeout=0.3)
    for socket in (ben, reconnected):
        await socket.disconnect()


def signed_in_session(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = membership.workspace_id
    session.save()
    return client


async def test_signing_out_closes_that_sessions_sockets_only(live_desk):  # noqa: F811
    laptop = await run(signed_in_session, live_desk.agent)
    phone = await run(signed_in_session, live_desk.agent)
    on_laptop = await open_socket(session_key=laptop.cookies[settings.SESSION_COOKIE_NAME].value)
    on_phone = await open_socket(session_key=phone.cookies[settings.SESSION_COOKIE_NAME].value)
    ben = await open_socket(live_desk.agent2)
    response = await run(laptop.post, "/logout/")
    assert response.status_code == 302
    frame, code = await ended(on_laptop)
    assert (frame["reason"], code) == ("signed_out", ACCESS_ENDED)
    await still_live(on_phone, live_desk, "after@example.com")  # her other session was not signed out
    await events(ben, 2)
    assert await on_laptop.receive_nothing(timeout=0.3)
    for socket in (on_phone, ben):
        await socket.disconnect()


async def test_deactivation_in_one_workspace_leaves_her_other_workspace_live(live_desk, live_other_desk):  # noqa: F811
    from tests.conftest import join

    elsewhere = await run(join, live_other_desk.admin_actor, email=live_desk.agent.user.email, display_name="Ana")
    here = await open_socket(live_desk.agent)
    there = await open_socket(elsewhere)
    await run(accounts.update_member, actor=live_desk.admin_actor, membership=live_desk.agent, is_active=False)
    assert (await ended(here))[0]["reason"] == "deactivated"
    await still_live(there, live_other_desk, "globex@example.com")
    await there.disconnect()


@pytest.mark.redis
async def test_the_same_through_redis_as_several_serving_processes_use_it(redis_layer, live_desk):  # noqa: F811
    ana = await open_socket(live_desk.agent)
    ben = await open_socket(live_desk.agent2)
    await run(accounts.update_member, actor=live_desk.admin_actor, membership=live_desk.agent, is_active=False)
    frame, code = await ended(ana)
    assert (frame["reason"], code) == ("deactivated", ACCESS_ENDED)
    await still_live(ben, live_desk, "after@example.com")
    assert await ana.receive_nothing(timeout=0.3)
    await ben.disconnect()
