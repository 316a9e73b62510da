"""Sockets against the real ASGI application. Services run in worker threads and really commit
(transactional_db), so the after-commit fan-out runs as it does in production."""

from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from tests.conftest import Desk
from touchpoint.asgi import application
from touchpoint.core.api import SESSION_WORKSPACE_KEY


@pytest.fixture
def live_desk(transactional_db) -> Desk:
    return Desk("acme")


@pytest.fixture
def live_other_desk(transactional_db) -> Desk:
    return Desk("globex")


def session_cookie(membership) -> str:
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = membership.workspace_id
    session.save()
    return session.session_key


async def open_socket(membership=None, *, last_event_id: int | None = None, origin: bytes = b"http://testserver",
                      expect_hello: bool = True, session_key: str | None = None) -> WebsocketCommunicator:
    """A socket signed in as `membership` (a session of its own), or with the session `session_key`."""
    headers = [(b"origin", origin), (b"host", b"testserver")]
    if membership is not None and session_key is None:
        session_key = await sync_to_async(session_cookie)(membership)
    if session_key is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    query = "?" + urlencode({"last_event_id": last_event_id}) if last_event_id is not None else ""
    socket = WebsocketCommunicator(application, f"/ws/agent/{query}", headers=headers)
    connected, code = await socket.connect(timeout=3)
    socket.refused_with = None if connected else code
    if connected and expect_hello and last_event_id is None:
        hello = await socket.receive_json_from(timeout=3)
        assert hello["type"] == "hello"
    return socket


def run(fn, *args, **kwargs):
    """A service call from async test code: in a worker thread, committed when it returns."""
    return database_sync_to_async(fn)(*args, **kwargs)


async def events(socket: WebsocketCommunicator, n: int, *, timeout: float = 3) -> list[dict]:
    """The next n live events (presence messages are not events and are skipped)."""
    found = []
    while len(found) < n:
        message = await socket.receive_json_from(timeout=timeout)
        if message["type"] == "event":
            found.append(message)
    return found
