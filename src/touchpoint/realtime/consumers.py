"""The agent socket: live events of the agent's own workspace, replay on reconnect, who is viewing."""

import asyncio
import hashlib
from collections import deque
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from touchpoint.accounts.events import session_fingerprint
from touchpoint.accounts.models import Membership
from touchpoint.accounts.selectors import actor_for, session_membership
from touchpoint.conversations.selectors import conversations_for
from touchpoint.core.api import SESSION_WORKSPACE_KEY
from touchpoint.core.permissions import Actor
from touchpoint.realtime import listeners, selectors
from touchpoint.realtime.groups import agents_group, conversation_group, member_group, visitor_group
from touchpoint.routing import services as routing

REFUSED = 4403  # close code for a socket without a signed-in member of a workspace
ACCESS_ENDED = 4401  # close code when the person's access changed: the page reloads to see what is left
SEEN_IDS = 2000  # event ids remembered per socket: an event sent to two of its groups goes out once


class LiveSocket(AsyncJsonWebsocketConsumer):
    """A socket that handles its frames and live events without Channels' per-message hop to the
    database thread (`aclose_old_connections` before every handler). There is one such thread for all
    sockets, so every frame and every live event waited behind whatever the database was storing. Our
    database calls go through database_sync_to_async, which closes stale connections itself."""

    async def dispatch(self, message: dict) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class AgentConsumer(LiveSocket):
    membership: Membership
    actor: Actor
    closed_for_access = False

    async def dispatch(self, message: dict) -> None:
        # Once access has ended nothing more is handled or sent, whatever was queued behind the close.
        if self.closed_for_access and message["type"] != "websocket.disconnect":
            return
        await super().dispatch(message)

    async def connect(self) -> None:
        listeners.remember_socket_loop(asyncio.get_running_loop())
        membership = await self._membership()
        if membership is None:
            await self.close(code=REFUSED)
            return
        # In the person's group first, then looked up again: access that changed while this socket
        # was connecting (deactivated, another role) refuses it, as the group would not have told it.
        own_group = member_group(membership.workspace_id, membership.pk)
        await self.channel_layer.group_add(own_group, self.channel_name)
        again = await self._membership()
        if again is None or (again.pk, again.role) != (membership.pk, membership.role):
            await self.channel_layer.group_discard(own_group, self.channel_name)
            await self.close(code=REFUSED)
            return
        self.membership = membership
        self.actor = actor_for(membership)
        self.viewing: int | None = None
        self.seen: set[int] = set()
        self.seen_order: deque[int] = deque()
        self.groups_joined: list[str] = [own_group]
        await self.accept()
        await database_sync_to_async(routing.socket_opened)(membership)
        # Join first, then replay: an event that lands in between arrives twice and is sent once.
        await self._join(agents_group(self.actor.workspace_id))
        await self._replay(self._last_event_id())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "membership"):
            await database_sync_to_async(routing.socket_closed)(self.membership)  # the last one: away
        if getattr(self, "viewing", None) is not None:
            await self._stop_viewing()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    # ---- from the browser -----------------------------------------------------------------

    async def receive_json(self, content, **kwargs) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "view":
            await self._view(content.get("conversation_id"))
        elif kind == "leave":
            await self._stop_viewing()
        elif kind == "typing":
            await self._typing(content.get("conversation_id"))
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "message": "Unknown message; send view, leave, typing or ping."})

    async def _view(self, conversation_id: object) -> None:
        if not isinstance(conversation_id, int) or not await self._may_view(conversation_id):
            await self.send_json({"type": "error", "message": f"No conversation {conversation_id!r} in this workspace."})
            return
        if self.viewing == conversation_id:
            return
        await self._stop_viewing()
        self.viewing = conversation_id
        group = conversation_group(self.actor.workspace_id, conversation_id)
        await self._join(group)
        await self.channel_layer.group_send(group, self._presence("presence.join", conversation_id))

    async def _stop_viewing(self) -> None:
        if self.viewing is None:
            return
        conversation_id, self.viewing = self.viewing, None
        group = conversation_group(self.actor.workspace_id, conversation_id)
        await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined.remove(group)
        await self.channel_layer.group_send(group, self._presence("presence.leave", conversation_id))

    async def _typing(self, conversation_id: object) -> None:
        """An agent writing a reply in the conversation they view: shown in the customer's chat widget."""
        if conversation_id is None or conversation_id != self.viewing:
            return
        customer_id = await self._customer_of(conversation_id)
        if customer_id is not None:
            await self.channel_layer.group_send(visitor_group(self.actor.workspace_id, customer_id), {
                "type": "typing.agent", "conversation_id": conversation_id, "name": self.membership.display_name,
            })

    # ---- from the channel layer -----------------------------------------------------------

    async def access_ended(self, message: dict) -> None:
        """Deactivated, another role, or signed out (this session, when the message names one)."""
        if message["session"] and message["session"] != session_fingerprint(self.scope["session"].session_key):
            return
        await self.send_json({"type": "access_ended", "reason": message["reason"]})
        self.closed_for_access = True
        await self.close(code=ACCESS_ENDED)

    async def live_events(self, message: dict) -> None:
        for event in message["events"]:
            await self._send_event(event)

    async def presence_join(self, message: dict) -> None:
        """Someone opened a conversation I view: show them, and tell them I am here (stateless
        across processes: nobody keeps a list, the viewers answer for themselves)."""
        if message["conn"] == self._conn() or message["conversation_id"] != self.viewing:
            return
        await self.send_json({**message["public"], "action": "join"})
        await self.channel_layer.send(message["reply_to"], self._presence("presence.here", self.viewing))

    async def typing_visitor(self, message: dict) -> None:
        if message["conversation_id"] == self.viewing:
            await self.send_json({"type": "typing", "conversation_id": self.viewing, "who": "customer",
                                  "name": message.get("name", "")})

    async def presence_here(self, message: dict) -> None:
        if message["conversation_id"] == self.viewing:
            await self.send_json({**message["public"], "action": "here"})

    async def presence_leave(self, message: dict) -> None:
        if message["conn"] != self._conn() and message["conversation_id"] == self.viewing:
            await self.send_json({**message["public"], "action": "leave"})

    # ---- helpers -------------------------------------------------------------------------

    def _presence(self, handler: str, conversation_id: int) -> dict:
        public = {
            "type": "presence", "conversation_id": conversation_id, "conn": self._conn(),
            "agent": {"id": self.membership.pk, "name": self.membership.display_name},
        }
        return {"type": handler, "conversation_id": conversation_id, "conn": self._conn(),
                "reply_to": self.channel_name, "public": public}

    def _conn(self) -> str:
        """A connection id to show the browser: stable per socket, reveals nothing about the layer."""
        return hashlib.sha256(self.channel_name.encode()).hexdigest()[:12]

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def _send_event(self, event: dict) -> None:
        if event["id"] in self.seen:
            return
        self.seen.add(event["id"])
        self.seen_order.append(event["id"])
        if len(self.seen_order) > SEEN_IDS:
            self.seen.discard(self.seen_order.popleft())
        await self.send_json(event)

    async def _replay(self, after_id: int | None) -> None:
        workspace_id = self.actor.workspace_id
        if after_id is None:
            latest = await database_sync_to_async(selectors.latest_event_id)(workspace_id)
            await self.send_json({"type": "hello", "last_event_id": latest, "replayed": 0})
            return
        missed = await database_sync_to_async(selectors.events_after)(workspace_id, after_id,
                                                                      limit=selectors.REPLAY_LIMIT)
        if len(missed) > selectors.REPLAY_LIMIT:
            latest = await database_sync_to_async(selectors.latest_event_id)(workspace_id)
            await self.send_json({"type": "resync", "last_event_id": latest})
            return
        for event in missed:
            await self._send_event(event.as_message())
        await self.send_json({"type": "hello", "last_event_id": missed[-1].pk if missed else after_id,
                              "replayed": len(missed)})

    def _last_event_id(self) -> int | None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        value = (query.get("last_event_id") or [""])[0]
        return int(value) if value.isdigit() else None

    @database_sync_to_async
    def _membership(self) -> Membership | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        return session_membership(user, self.scope["session"].get(SESSION_WORKSPACE_KEY))

    @database_sync_to_async
    def _may_view(self, conversation_id: int) -> bool:
        return conversations_for(self.actor).filter(pk=conversation_id).exists()

    @database_sync_to_async
    def _customer_of(self, conversation_id: int) -> int | None:
        return conversations_for(self.actor).filter(pk=conversation_id).values_list("customer_id", flat=True).first()
