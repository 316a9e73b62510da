"""The widget against the real ASGI application: services really commit (transactional_db), so the
after-commit fan-out runs as in production."""

import asyncio
import json
import uuid
from urllib.parse import urlencode

import pytest
from channels.testing import WebsocketCommunicator

from tests.conftest import Desk
from tests.realtime.conftest import events, open_socket, run  # noqa: F401  (shared with these tests)
from tests.web.test_browser import browser, server  # noqa: F401  (the browser tests' fixtures)
from touchpoint.accounts import services as accounts
from touchpoint.asgi import application
from touchpoint.channels.webchat.services import create_widget, user_hash

ALWAYS = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NEVER: dict = {}


def make_widget(desk: Desk, **config):
    return create_widget(actor=desk.admin_actor, name=f"{desk.workspace.name} site",
                         config={"business_hours": ALWAYS, **config})


@pytest.fixture
def live_desk(transactional_db) -> Desk:
    return Desk("acme")


@pytest.fixture
def live_other_desk(transactional_db) -> Desk:
    return Desk("globex")


@pytest.fixture
def widget(live_desk):
    return make_widget(live_desk)


class Visitor:
    """One browser tab with the widget: its socket and what it keeps between connections."""

    def __init__(self, key: str, visitor_id: str | None = None, user: dict | None = None,
                 origin: str = "https://shop.example", address: str | None = None,
                 headers: list[tuple[bytes, bytes]] = ()) -> None:
        self.key, self.visitor_id, self.user, self.origin = key, visitor_id or str(uuid.uuid4()), user, origin
        self.address, self.headers = address, list(headers)  # the peer the server sees, extra headers
        self.last_event_id: int | None = None  # known once synced: a reconnect then replays what it missed
        self.socket: WebsocketCommunicator | None = None
        self.welcome: dict = {}

    async def connect(self, *, hello: bool = True) -> list[dict]:
        """Open the socket and say hello; returns what came before `synced` (history or replay)."""
        query = urlencode({"key": self.key, "visitor": self.visitor_id})
        self.socket = WebsocketCommunicator(application, f"/widget/v1/ws?{query}",
                                            headers=[(b"origin", self.origin.encode()), (b"host", b"desk.example"),
                                                     *self.headers])
        if self.address:  # as an ASGI server fills it in (the application has not read the scope yet)
            self.socket.scope["client"] = (self.address, 50000)
        connected, _ = await self.socket.connect(timeout=3)
        assert connected
        if not hello:
            return []
        await self.send({"type": "hello", "user": self.user, "last_event_id": self.last_event_id})
        self.welcome = await self.receive()
        assert self.welcome["type"] == "welcome", self.welcome
        self.visitor_id = self.welcome["visitor_id"]
        before = []
        while True:
            frame = await self.receive()
            if frame["type"] == "synced":
                self.last_event_id = max(self.last_event_id or 0, frame["last_event_id"])
                return before
            before.append(frame)

    async def send(self, frame: dict) -> None:
        await self.socket.send_to(text_data=json.dumps(frame))

    async def receive(self, timeout: float = 3) -> dict:
        while True:
            frame = await self.socket.receive_json_from(timeout=timeout)
            if frame.get("event_id"):
                self.last_event_id = max(self.last_event_id or 0, frame["event_id"])
            if frame["type"] != "seen":  # only moves the resume point
                return frame

    async def receive_type(self, kind: str, timeout: float = 3) -> dict:
        """The next frame of this type (others in between are skipped)."""
        while True:
            frame = await self.receive(timeout)
            if frame["type"] == kind:
                return frame

    async def say(self, text: str, *, client_id: str | None = None, **extra) -> dict:
        client_id = client_id or str(uuid.uuid4())
        await self.send({"type": "message", "client_id": client_id, "text": text, **extra})
        while True:
            frame = await self.receive()
            if frame["type"] in ("ack", "error") and frame.get("client_id") == client_id:
                return frame

    async def nothing(self, timeout: float = 0.3) -> bool:
        """Nothing but `seen` frames arrives within the timeout."""
        await asyncio.sleep(timeout)
        while not self.socket.output_queue.empty():
            frame = json.loads(self.socket.output_queue.get_nowait()["text"])
            if frame["type"] != "seen":
                return False
            self.last_event_id = max(self.last_event_id or 0, frame["event_id"])
        return True

    async def close(self) -> None:
        """Leave as a browser does: having read what had arrived (a `seen` moves the resume point)."""
        await self.nothing(0.1)
        await self.socket.disconnect()


def signed_user(widget, user_id: str = "shop-42", email: str = "maria@example.com", name: str = "Maria Garcia",
                valid: bool = True, sign_email: bool = False) -> dict:
    """TouchpointSettings as the site's page passes them: `user_hash` signs the user id, and the email
    too with `sign_email`."""
    digest = user_hash(widget.secret, user_id, email if sign_email else None) if valid else "0" * 64
    return {"user_id": user_id, "email": email, "name": name, "user_hash": digest}


def query(params: dict) -> str:
    return urlencode(params)


__all__ = ["Visitor", "make_widget", "signed_user", "accounts", "open_socket", "events", "run"]
