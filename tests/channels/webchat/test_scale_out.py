"""Scale-out: two `touchpoint serve` processes sharing PostgreSQL and Redis. A visitor's message sent
through process A's widget socket reaches an agent whose socket is on process B, and the agent's
typing on B reaches the visitor on A."""

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
PG_SERVER = os.environ.get("SCALE_OUT_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("SCALE_OUT_REDIS", "redis://127.0.0.1:6379")
TOUCHPOINT = str(Path(sys.executable).parent / "touchpoint")

SETUP = """
import json
from django.test import Client
from touchpoint.accounts import services as accounts
from touchpoint.accounts.selectors import actor_for
from touchpoint.channels.webchat.services import create_widget
from touchpoint.core.api import SESSION_WORKSPACE_KEY
workspace, admin = accounts.create_workspace(name="Scale", slug="scale", admin_email="admin@scale.test",
                                             admin_password="admin-pass-1")
agent = accounts.seed_member(workspace=workspace, email="ana@scale.test", password="agent-pass-1",
                             display_name="Ana", role="agent")
widget = create_widget(actor=actor_for(admin), name="Shop", config={"always_online": True})
client = Client()
client.force_login(agent.user)
session = client.session
session[SESSION_WORKSPACE_KEY] = workspace.pk
session.save()
print(json.dumps({"key": widget.address, "session": session.session_key}))
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    """A database and a Redis db of their own, migrated, with a workspace; then two serving processes."""
    import psycopg
    import redis

    try:
        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except (psycopg.OperationalError, redis.exceptions.ConnectionError) as error:
        skip_or_fail(f"PostgreSQL ({PG_SERVER}) and Redis ({REDIS}) are needed: {error}")
    name = f"touchpoint_scaleout_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": f"{PG_SERVER}/{name}", "REDIS_URL": f"{REDIS}/{random.randint(1, 15)}",
           "TOUCHPOINT_VAR": str(tmp_path), "SECRET_KEY": uuid.uuid4().hex * 2, "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "touchpoint.settings"}
    processes = []
    try:
        subprocess.run([TOUCHPOINT, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=300)
        made = subprocess.run([TOUCHPOINT, "shell", "-c", SETUP], env=env, check=True, timeout=120,
                              capture_output=True, text=True)
        setup = json.loads(made.stdout.strip().splitlines()[-1])
        ports = [_free_port(), _free_port()]
        for port in ports:
            processes.append(subprocess.Popen([TOUCHPOINT, "serve", "--port", str(port), "--no-worker"], env=env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for port in ports:
            _wait_until_serving(port, processes)
        yield {**setup, "a": f"127.0.0.1:{ports[0]}", "b": f"127.0.0.1:{ports[1]}"}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_until_serving(port: int, processes: list) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"touchpoint serve exited: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    raise AssertionError(f"touchpoint serve did not answer on port {port}")


async def _frame(socket, kind: str, timeout: float = 10) -> dict:
    """The next frame of this type (others in between are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=max(0.1, deadline - time.monotonic())))
        if frame["type"] == kind:
            return frame


@pytest.mark.asyncio
async def test_a_visitor_on_one_process_reaches_an_agent_on_another(cluster):
    from websockets.asyncio.client import connect

    a, b = cluster["a"], cluster["b"]
    agent_headers = {"Cookie": f"sessionid={cluster['session']}"}
    async with connect(f"ws://{b}/ws/agent/", origin=f"http://{b}", additional_headers=agent_headers) as agent, \
            connect(f"ws://{a}/widget/v1/ws?key={cluster['key']}&visitor={uuid.uuid4()}",
                    origin="https://shop.example") as visitor:
        assert (await _frame(agent, "hello"))["type"] == "hello"
        await visitor.send(json.dumps({"type": "hello"}))
        await _frame(visitor, "synced")
        client_id = str(uuid.uuid4())
        await visitor.send(json.dumps({"type": "message", "client_id": client_id, "text": "Hello from process A"}))
        ack = await _frame(visitor, "ack")
        assert ack["client_id"] == client_id

        created = await _frame(agent, "event")
        while created["event"] != "message.created":
            created = await _frame(agent, "event")
        assert created["payload"] == {"conversation_id": ack["message"]["conversation_id"],
                                      "customer_id": created["payload"]["customer_id"],
                                      "message_id": ack["message"]["id"], "kind": "incoming"}
        assert isinstance(created["payload"]["customer_id"], int)

        # And back: the agent on B views the conversation and types; the visitor on A sees it.
        await agent.send(json.dumps({"type": "view", "conversation_id": created["conversation_id"]}))
        await asyncio.sleep(0.3)
        await agent.send(json.dumps({"type": "typing", "conversation_id": created["conversation_id"]}))
        typing = await _frame(visitor, "typing")
        assert (typing["from"], typing["name"]) == ("agent", "Ana")
