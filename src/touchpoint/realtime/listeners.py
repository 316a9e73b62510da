"""The real-time fan-out: every conversation event is logged as a LiveEvent and sent to the sockets
that may see it. This module alone decides recipients (see groups.groups_for)."""

import asyncio
import dataclasses
import logging
import threading
from collections import deque

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from touchpoint.conversations.events import (
    ConversationAssigned,
    ConversationOpened,
    ConversationStatusChanged,
    ConversationUpdated,
    MessageCreated,
)
from touchpoint.conversations.models import MessageKind
from touchpoint.core.events import DomainEvent, subscribe
from touchpoint.realtime import services
from touchpoint.realtime.groups import groups_for
from touchpoint.realtime.models import Audience

log = logging.getLogger(__name__)
CONVERSATION_EVENTS = (ConversationOpened, MessageCreated, ConversationAssigned, ConversationStatusChanged,
                       ConversationUpdated)
PUBLIC_MESSAGE_KINDS = (MessageKind.INCOMING, MessageKind.OUTGOING)

# The event loop that runs this process's sockets. The in-memory channel layer is plain asyncio
# queues, so a send from another thread (the task worker, a periodic job) must run on that loop.
_socket_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def register() -> None:
    for event_type in CONVERSATION_EVENTS:
        subscribe(event_type, on_conversation_event)


def remember_socket_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _socket_loop
    with _loop_lock:
        _socket_loop = loop


def audience_of(event: DomainEvent) -> str:
    """Only a public message may one day reach the customer; notes and internal changes never."""
    if isinstance(event, MessageCreated) and event.kind in PUBLIC_MESSAGE_KINDS:
        return Audience.PUBLIC
    return Audience.AGENTS


def on_conversation_event(event: DomainEvent) -> None:
    payload = {k: v for k, v in dataclasses.asdict(event).items() if k != "workspace_id"}
    live = services.append_event(
        workspace_id=event.workspace_id, type=event.name, payload=payload,
        conversation_id=getattr(event, "conversation_id", None), audience=audience_of(event),
    )
    message = {"type": "live.event", "event": live.as_message()}
    for group in groups_for(live):
        send_to_group(group, message)


def send_to_group(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _socket_loop
    if loop is not None and loop.is_running() and not _running_in(loop):
        # Handed to the sockets' loop without waiting for it: the thread that committed (a socket's
        # database thread, the task worker) goes on with its next message at once. One sender on the
        # loop sends in order.
        loop.call_soon_threadsafe(_enqueue, layer, group, message)
        return
    async_to_sync(layer.group_send)(group, message)


_outgoing: deque = deque()  # touched on the sockets' loop only
_sender: asyncio.Future | None = None


def _enqueue(layer, group: str, message: dict) -> None:
    global _sender
    _outgoing.append((layer, group, message))
    if _sender is None or _sender.done():
        _sender = asyncio.ensure_future(_send_in_order())


async def _send_in_order() -> None:
    while _outgoing:
        layer, group, message = _outgoing.popleft()
        try:
            await layer.group_send(group, message)
        except Exception:  # the event is in the log: a socket that missed it gets it on resume
            log.exception("live event to %s not delivered", group)


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
