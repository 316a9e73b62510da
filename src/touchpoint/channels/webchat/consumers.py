"""The widget's socket: one visitor, their own chats and nothing else.

Protocol (JSON frames). The widget sends `hello` first ({user, last_event_id}), then `message`
({client_id, text, uploads, prechat}), `typing` and `ping`. It receives `welcome` (visitor id, session
token, settings), `history` or replayed `message`s, then `synced` (the resume point), and after that
live `message`s, `ack`s ({client_id, message}), `seen` (the event id of a message it has already),
`typing` and `error`s ({code, message, client_id}).

Nothing is lost or doubled across a dropped connection: a message is stored once per client id and
acked with its server id (the widget resends what was not acked), and a reconnecting widget names the
last event it saw and is sent the public messages it missed, each once."""

import asyncio
import json
import logging
import time
import weakref
from collections import deque
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.webchat import payloads, selectors, services
from touchpoint.channels.webchat.services import Prechat, SiteUser, VisitorSession
from touchpoint.core.errors import DomainError, ValidationFailed
from touchpoint.core.net import scope_address
from touchpoint.realtime import listeners
from touchpoint.realtime.consumers import LiveSocket
from touchpoint.realtime.groups import conversation_group, visitor_group
from touchpoint.realtime.selectors import latest_event_id

UNKNOWN_WIDGET = 4404  # close codes the widget does not retry after
ORIGIN_REFUSED = 4403
TOO_MANY = 4429  # too many new chats from this address or on this widget: the widget retries later
MAX_FRAME_CHARS = 64 * 1024
SEEN_IDS = 1000
TYPING_EVERY_S = 1.0
PUBLIC_KINDS = ("incoming", "outgoing")
log = logging.getLogger(__name__)


def origin_allowed(account: ChannelAccount, origin: str) -> bool:
    """Any site may embed a widget unless its settings list the sites allowed to."""
    allowed = (account.config or {}).get("allowed_origins") or []
    return not allowed or origin in allowed


class Inbox:
    """The visitors' messages of this process's sockets, stored a lot at a time: what arrives while
    one lot is being stored waits for the next (group commit). Under load a lot costs a few queries
    instead of several per message; alone, a message is stored at once."""

    MAX_LOT = 200

    def __init__(self) -> None:
        self.waiting: list[tuple[ChannelAccount, services.VisitorMessage, asyncio.Future]] = []
        self.storing = False

    async def store(self, account: ChannelAccount, item: services.VisitorMessage) -> tuple[services.Received, dict]:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((account, item, future))
        if not self.storing:
            self.storing = True
            asyncio.ensure_future(self._store_all())
        return await future

    async def _store_all(self) -> None:
        try:
            while self.waiting:
                lot, self.waiting = self.waiting[:self.MAX_LOT], self.waiting[self.MAX_LOT:]
                outcomes = await self._store_isolated([(a, i) for a, i, _ in lot])
                for (_, _, future), outcome in zip(lot, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self.storing = False

    @staticmethod
    async def _store_isolated(lot: list[tuple[ChannelAccount, services.VisitorMessage]]) -> list:
        """Each message's outcome: its ack, or a DomainError for its own sender. A lot that fails for
        an unexpected reason is stored again one message at a time, so that the failure stays with
        the message that caused it (and what was stored already is answered as a resend)."""
        try:
            return await database_sync_to_async(_store_lot)(lot)
        except Exception:
            if len(lot) == 1:
                log.exception("a widget message could not be stored")
                return [services.NotStored()]
            log.exception("a lot of %s widget messages could not be stored; storing them one at a time", len(lot))
        return [(await Inbox._store_isolated([item]))[0] for item in lot]


def _store_lot(lot: list[tuple[ChannelAccount, services.VisitorMessage]]) -> list:
    """Each widget's share of the lot in one call; the live events of all of it in one write."""
    by_account: dict[int, list[int]] = {}
    for index, (account, _) in enumerate(lot):
        by_account.setdefault(account.pk, []).append(index)
    outcomes: list = [None] * len(lot)
    with listeners.batched():
        for indexes in by_account.values():
            received = services.receive_visitor_messages(account=lot[indexes[0]][0],
                                                         messages=[lot[i][1] for i in indexes])
            for index, outcome in zip(indexes, received, strict=True):
                outcomes[index] = outcome if isinstance(outcome, DomainError) else (outcome, _ack(outcome, lot[index][1]))
    return outcomes


def _ack(received: services.Received, item: services.VisitorMessage) -> dict:
    message = received.message
    known = [] if received.created and not item.uploads else None  # a new message without files has none
    return {"type": "ack", "client_id": message.external_id, "created": received.created,
            "message": payloads.widget_message(message, attachments=known)}


_inboxes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _inbox() -> Inbox:
    loop = asyncio.get_running_loop()
    inbox = _inboxes.get(loop)
    if inbox is None:
        inbox = _inboxes[loop] = Inbox()
    return inbox


class WidgetConsumer(LiveSocket):
    account: ChannelAccount
    session: VisitorSession | None

    async def connect(self) -> None:
        listeners.remember_socket_loop(asyncio.get_running_loop())
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.visitor_hint = (query.get("visitor") or [""])[0]
        self.address = scope_address(self.scope)
        self.session = None
        self.group: str | None = None
        self.seen: set[int] = set()
        self.seen_order: deque[int] = deque()
        self.synced_to = 0
        self.conversation_id: int | None = None
        self.last_typing = 0.0
        account = await database_sync_to_async(selectors.widget_account)((query.get("key") or [""])[0])
        # Accept, then close with a code: a refused handshake reaches the page as a bare 1006 it would retry.
        await self.accept()
        if account is None:
            await self._refuse(UNKNOWN_WIDGET, "unknown_widget", "No active widget has this key; check the snippet.")
            return
        if not origin_allowed(account, self._header(b"origin")):
            await self._refuse(ORIGIN_REFUSED, "origin_refused", "This widget is not enabled on this website.")
            return
        self.account = account

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    # ---- from the widget -----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self.send_json({"type": "error", "code": "bad_frame",
                                  "message": f"Send JSON text frames of at most {MAX_FRAME_CHARS:,} characters."})
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            content = None
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if not hasattr(self, "account"):
            return  # refused: closing
        try:
            if kind == "ping":
                await self.send_json({"type": "pong"})
            elif kind == "hello":
                await self._hello(content)
            elif kind not in ("message", "typing"):
                raise ValidationFailed("Unknown message; send hello, message, typing or ping.", code="unknown_type")
            elif self.session is None:
                raise ValidationFailed("Send hello first.", code="hello_first")
            elif kind == "message":
                await self._message(content)
            else:
                await self._typing()
        except DomainError as error:
            client_id = content.get("client_id") if isinstance(content, dict) else None
            await self.send_json({
                "type": "error", "code": error.code, "message": error.message, "field": error.field,
                "client_id": client_id if isinstance(client_id, str) else None,
                "retry_after": getattr(error, "retry_after", None),
            })

    async def _hello(self, content: dict) -> None:
        if self.session is not None:
            raise ValidationFailed("This socket said hello already.", code="hello_twice")
        last = content.get("last_event_id")
        try:
            session, config = await database_sync_to_async(self._start)(content.get("user"))
        except services.RateLimited as error:
            await self.send_json({"type": "error", "code": error.code, "message": error.message,
                                  "retry_after": error.retry_after})
            await self.close(code=TOO_MANY)
            return
        self.session = session
        if session.customer_id is not None:
            await self._follow(session.customer_id)  # join first, then read: nothing falls in between
        upto = await database_sync_to_async(latest_event_id)(session.workspace_id)
        await self.send_json({
            "type": "welcome", "visitor_id": session.visitor_id, "token": session.token(),
            "verified": session.verified, "name": session.name, "config": config,
            "warnings": list(session.warnings),
        })
        await self._catch_up(last if isinstance(last, int) and last >= 0 else None, upto)

    def _start(self, user: object) -> tuple[VisitorSession, dict]:
        """Who the visitor is, and what the widget shows them (other apps may add to it: the bot), in
        one trip to the database thread."""
        session = services.start_session(account=self.account, visitor_id=self.visitor_hint, user=SiteUser.parse(user),
                                         address=self.address)
        return session, selectors.public_config(self.account)

    async def _message(self, content: dict) -> None:
        session = self.session
        received, ack = await _inbox().store(self.account, services.VisitorMessage(
            session=session, client_id=content.get("client_id"), text=content.get("text"),
            uploads=content.get("uploads") or [], prechat=Prechat.parse(content.get("prechat"))))
        self._remember(received.message.pk)
        self.conversation_id = received.message.conversation_id
        await self.send_json(ack)
        if session.customer_id is None and received.customer_id is not None:
            # Their first message made their record: from now on its events are theirs.
            self.session = session.with_customer(received.customer_id)
            await self._follow(received.customer_id)
            upto = await database_sync_to_async(latest_event_id)(session.workspace_id)
            await self._catch_up(self.synced_to, upto, announce=False)

    async def _typing(self) -> None:
        now = time.monotonic()
        if self.conversation_id is None or now - self.last_typing < TYPING_EVERY_S:
            return
        self.last_typing = now
        await self.channel_layer.group_send(
            conversation_group(self.session.workspace_id, self.conversation_id),
            {"type": "typing.visitor", "conversation_id": self.conversation_id, "name": self.session.name},
        )

    # ---- from the channel layer ------------------------------------------------------------------

    async def live_events(self, message: dict) -> None:
        for event in message["events"]:
            await self._live_event(event)

    async def _live_event(self, event: dict) -> None:
        """Only public messages reach this group (realtime.groups); checked again here all the same."""
        payload = event.get("payload") or {}
        if event.get("event") != "message.created" or payload.get("kind") not in PUBLIC_KINDS:
            return
        if self.session is None or self.session.customer_id is None:
            return
        if payload.get("message_id") in self.seen:
            # Its own message, acked already: only the resume point moves, so a reconnect does not replay it.
            await self.send_json({"type": "seen", "event_id": event["id"]})
            return
        shown = await database_sync_to_async(self._payload)(self.session.customer_id, payload["message_id"], event["id"])
        if shown is not None:
            await self._send_message(shown)

    async def typing_agent(self, message: dict) -> None:
        await self.send_json({"type": "typing", "from": "agent", "name": message.get("name", ""),
                              "conversation_id": message.get("conversation_id")})

    # ---- helpers ---------------------------------------------------------------------------------

    async def _catch_up(self, after: int | None, upto: int, *, announce: bool = True) -> None:
        """Replay what a reconnecting widget missed, or send the history to a fresh page; then `synced`
        (the widget resends its unacked messages on it)."""
        customer_id = self.session.customer_id
        if customer_id is not None:
            missed = await database_sync_to_async(self._missed)(customer_id, after, upto)
            if missed is None:
                history = await database_sync_to_async(self._history)(customer_id)
                for shown in history:
                    self._remember(shown["id"])
                    self.conversation_id = shown["conversation_id"]
                await self.send_json({"type": "history", "messages": history})
            else:
                for shown in missed:
                    await self._send_message(shown)
        self.synced_to = max(self.synced_to, upto)
        if announce:
            await self.send_json({"type": "synced", "last_event_id": self.synced_to})

    def _missed(self, customer_id: int, after: int | None, upto: int) -> list[dict] | None:
        if after is None:
            return None  # a fresh page (or a widget away longer than the event log keeps): the history
        found = selectors.missed_messages(self.session.workspace_id, customer_id, after, upto)
        if found is None:
            return None
        return [payloads.widget_message(message, event_id=event_id) for event_id, message in found]

    def _history(self, customer_id: int) -> list[dict]:
        return [payloads.widget_message(m) for m in selectors.widget_history(customer_id)]

    def _payload(self, customer_id: int, message_id: int, event_id: int) -> dict | None:
        message = selectors.widget_message(customer_id, message_id)
        return payloads.widget_message(message, event_id=event_id) if message else None

    async def _send_message(self, shown: dict) -> None:
        if shown["id"] in self.seen:
            if shown.get("event_id"):
                await self.send_json({"type": "seen", "event_id": shown["event_id"]})
            return
        self._remember(shown["id"])
        self.conversation_id = shown["conversation_id"]
        await self.send_json(shown)

    def _remember(self, message_id: int) -> None:
        self.seen.add(message_id)
        self.seen_order.append(message_id)
        if len(self.seen_order) > SEEN_IDS:
            self.seen.discard(self.seen_order.popleft())

    async def _follow(self, customer_id: int) -> None:
        group = visitor_group(self.session.workspace_id, customer_id)
        if group == self.group:
            return
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.channel_layer.group_add(group, self.channel_name)
        self.group = group

    async def _refuse(self, code: int, error: str, message: str) -> None:
        await self.send_json({"type": "error", "code": error, "message": message})
        await self.close(code=code)

    def _header(self, name: bytes) -> str:
        for key, value in self.scope.get("headers", []):
            if key == name:
                return value.decode("latin-1")
        return ""
