"""The real-time fan-out: every conversation event is logged as a LiveEvent and sent to the sockets
that may see it. This module alone decides recipients (see groups.groups_for)."""

import asyncio
import dataclasses
import logging
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from channels.layers import InMemoryChannelLayer, get_channel_layer

from touchpoint.accounts.events import AccessChanged
from touchpoint.conversations.events import (
    ConversationAssigned,
    ConversationOpened,
    ConversationStatusChanged,
    ConversationUpdated,
    MessageCreated,
    MessageDeliveryChanged,
)
from touchpoint.conversations.models import MessageKind
from touchpoint.core.events import DomainEvent, subscribe
from touchpoint.realtime import services
from touchpoint.realtime.groups import groups_for, member_group
from touchpoint.realtime.models import Audience, LiveEvent
from touchpoint.routing.events import NotificationCreated, SlaChanged

log = logging.getLogger(__name__)
CONVERSATION_EVENTS = (ConversationOpened, MessageCreated, ConversationAssigned, ConversationStatusChanged,
                       ConversationUpdated, MessageDeliveryChanged, SlaChanged, NotificationCreated)
PUBLIC_MESSAGE_KINDS = (MessageKind.INCOMING, MessageKind.OUTGOING)

# The event loop that runs this process's sockets. The in-memory channel layer is plain asyncio
# queues, so a send from another thread (the task worker, a periodic job) must run on that loop.
_socket_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def register() -> None:
    for event_type in CONVERSATION_EVENTS:
        subscribe(event_type, on_conversation_event)
    subscribe(AccessChanged, on_access_changed)


def on_access_changed(event: AccessChanged) -> None:
    """Deactivated, another role, signed out: that person's sockets close now (a signed-out session's
    only). Not logged for replay: a socket that reconnects is checked afresh."""
    send_to_group(member_group(event.workspace_id, event.membership_id),
                  {"type": "access.ended", "reason": event.reason, "session": event.session})


def remember_socket_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _socket_loop
    with _loop_lock:
        _socket_loop = loop


def audience_of(event: DomainEvent) -> str:
    """Only a public message may one day reach the customer; notes and internal changes never."""
    if isinstance(event, MessageCreated) and event.kind in PUBLIC_MESSAGE_KINDS:
        return Audience.PUBLIC
    return Audience.AGENTS


_batch = threading.local()


@contextmanager
def batched() -> Iterator[None]:
    """The live events of what commits inside this block are logged with one write and sent at its
    end, instead of one write each: for a caller that stores a lot at once (a busy chat widget)."""
    if getattr(_batch, "events", None) is not None:
        yield
        return
    _batch.events = []
    try:
        yield
    finally:
        events, _batch.events = _batch.events, None
        if events:
            _log_and_send(events)


def on_conversation_event(event: DomainEvent) -> None:
    pending = getattr(_batch, "events", None)
    if pending is not None:
        pending.append(event)
    else:
        _log_and_send([event])


def _log_and_send(events: list[DomainEvent]) -> None:
    logged = services.append_events([
        LiveEvent(workspace_id=event.workspace_id, type=event.name, audience=audience_of(event),
                  conversation_id=getattr(event, "conversation_id", None),
                  payload={k: v for k, v in dataclasses.asdict(event).items() if k != "workspace_id"})
        for event in events
    ])
    # One channel-layer message per group with all of its events: a socket wakes once for a lot.
    by_group: dict[str, list[dict]] = {}
    for live in logged:
        shown = live.as_message()
        for group in groups_for(live):
            by_group.setdefault(group, []).append(shown)
    for group, shown_events in by_group.items():
        send_to_group(group, {"type": "live.events", "events": shown_events})


def send_to_group(group: str, message: dict) -> None:
    """Handed to a loop without waiting for it: the thread that committed (a socket's database thread,
    the task worker, the SMTP server) goes on with its next message at once. One sender per loop
    sends in order."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _socket_loop
    if loop is None or not loop.is_running():
        if isinstance(layer, InMemoryChannelLayer):
            return  # no socket in this process to tell: sockets elsewhere resume from the event log
        loop = _own_loop()
    if _running_in(loop):
        _enqueue(layer, group, message)
    else:
        loop.call_soon_threadsafe(_enqueue, layer, group, message)


_own: asyncio.AbstractEventLoop | None = None


def _own_loop() -> asyncio.AbstractEventLoop:
    """A process without sockets (a worker, the SMTP server) sends through a loop of its own."""
    global _own
    with _loop_lock:
        if _own is None:
            _own = asyncio.new_event_loop()
            threading.Thread(target=_own.run_forever, name="touchpoint-live-sender", daemon=True).start()
        return _own


class _Sender:
    """One loop's outgoing live events, sent one after the other. Touched on its own loop only."""

    def __init__(self) -> None:
        self.queue: deque = deque()
        self.task: asyncio.Future | None = None

    def add(self, layer, group: str, message: dict) -> None:
        self.queue.append((layer, group, message))
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._send_in_order())

    async def _send_in_order(self) -> None:
        while self.queue:
            layer, group, message = self.queue.popleft()
            try:
                await layer.group_send(group, message)
            except Exception:  # the event is in the log: a socket that missed it gets it on resume
                log.exception("live event to %s not delivered", group)


_senders: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _enqueue(layer, group: str, message: dict) -> None:
    loop = asyncio.get_running_loop()
    sender = _senders.get(loop)
    if sender is None:
        sender = _senders[loop] = _Sender()
    sender.add(layer, group, message)


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
