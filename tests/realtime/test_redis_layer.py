"""The same fan-out and presence through channels-redis, as N serving processes use it."""

import uuid

import pytest

from tests.conftest import skip_or_fail
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content

from .conftest import events, open_socket, run

REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = [pytest.mark.redis, pytest.mark.asyncio]


@pytest.fixture
def redis_layer(settings):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}")
    # A prefix of our own, so parallel runs against one Redis never see each other's groups.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [REDIS_URL], "prefix": f"test-{uuid.uuid4().hex[:8]}"}}}


async def test_events_and_presence_through_redis(redis_layer, live_desk, live_other_desk):
    from channels.layers import get_channel_layer

    assert type(get_channel_layer()).__name__ == "RedisChannelLayer"
    ana = await open_socket(live_desk.agent)
    ben = await open_socket(live_desk.agent2)
    stranger = await open_socket(live_other_desk.agent)

    message, _ = await run(conversations.receive_message, workspace_id=live_desk.id, channel="webchat",
                           sender=("visitor", "v-1"), content=Content(text="hello"))
    conversation = message.conversation
    for socket in (ana, ben):
        assert [e["event"] for e in await events(socket, 2)] == ["conversation.opened", "message.created"]
    assert await stranger.receive_nothing(timeout=0.3)

    await ana.send_json_to({"type": "view", "conversation_id": conversation.pk})
    await ben.send_json_to({"type": "view", "conversation_id": conversation.pk})
    assert (await ana.receive_json_from(timeout=3))["agent"]["name"] == "Ben acme"
    assert (await ben.receive_json_from(timeout=3))["agent"]["name"] == "Ana acme"

    await run(conversations.reply, actor=live_desk.agent_actor, conversation=conversation, content=Content(text="hi"))
    (reply,) = await events(ana, 1)
    assert reply["payload"]["kind"] == "outgoing"
    assert await ana.receive_nothing(timeout=0.3)  # in two groups, delivered once
    for socket in (ana, ben, stranger):
        await socket.disconnect()
