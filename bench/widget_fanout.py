"""Widget fan-out benchmark: many chat widgets on one desk, each visitor writing every few seconds,
a few agents watching the inbox live. Measures what a customer waits for: from the visitor's send to
the agent's socket being told of the message (customer-to-agent latency), and whether every message
reached every agent (delivered must equal sent).

    python bench/widget_fanout.py                      # 1,000 visitors, 3 agents, every 2 s for 60 s,
                                                       # one `touchpoint serve` on a fresh SQLite file
    python bench/widget_fanout.py --visitors 200 --duration 20      # a quick run
    python bench/widget_fanout.py --scale-out          # two processes sharing PostgreSQL and Redis
        (the PostgreSQL server of DATABASE_URL or postgres://postgres@127.0.0.1:5432, where the
         database touchpoint_bench_widget is created and dropped; REDIS_URL or redis://127.0.0.1:6379/14)

Each visitor connects, says hello and opens its chat with a first message (which makes its customer
record and conversation); once all have, and the server has settled for a few seconds, every visitor
writes every `--interval` seconds for `--duration` seconds, and that steady state is what is measured.
The report gives the p99 of each 10-second window too, so a transient shows as one.

The load generator (asyncio + websockets) runs in this process, on the same machine as the server:
it takes its share of the CPU, and the figures say so. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

TOUCHPOINT = str(Path(sys.executable).parent / "touchpoint")
BUDGET_P99_MS = 100
SETTLE_S = 3.0
BENCH_DB = "touchpoint_bench_widget"
# Every simulated visitor writes from this machine's one address: no widget limit may hold them back.
NO_WIDGET_LIMITS = {f"WIDGET_{what}_PER_MINUTE_PER_{scope}": "10000000"
                    for what in ("MESSAGES", "SESSIONS", "NEW_VISITORS", "UPLOADS") for scope in ("ADDRESS", "WIDGET")}

SETUP = """
import json
from django.test import Client
from touchpoint.accounts import services as accounts
from touchpoint.accounts.selectors import actor_for
from touchpoint.channels.webchat.services import create_widget
from touchpoint.core.api import SESSION_WORKSPACE_KEY
workspace, admin = accounts.create_workspace(name="Bench", slug="bench", admin_email="admin@bench.test",
                                             admin_password="admin-pass-1")
sessions = []
for i in range({agents}):
    agent = accounts.seed_member(workspace=workspace, email=f"agent{{i}}@bench.test", password="agent-pass-1",
                                 display_name=f"Agent {{i}}", role="agent")
    client = Client()
    client.force_login(agent.user)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = workspace.pk
    session.save()
    sessions.append(session.session_key)
widget = create_widget(actor=actor_for(admin), name="Bench shop", config={{"always_online": True}})
print(json.dumps({{"key": widget.address, "sessions": sessions}}))
"""


# ---- the servers --------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Desk:
    """A fresh var dir (and database), migrated, with a workspace; then N `touchpoint serve` processes."""

    def __init__(self, *, scale_out: bool, agents: int, processes: int) -> None:
        self.var = tempfile.mkdtemp(prefix="touchpoint-widget-bench-")
        self.scale_out = scale_out
        self.env = {**os.environ, "TOUCHPOINT_VAR": self.var, "SECRET_KEY": uuid.uuid4().hex * 2,
                    "LOG_LEVEL": "WARNING", "WIDGET_MESSAGES_PER_MINUTE": "100000", **NO_WIDGET_LIMITS,
                    "DJANGO_SETTINGS_MODULE": "touchpoint.settings"}
        self.pg_server = ""
        if scale_out:
            url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
            self.pg_server = url.rsplit("/", 1)[0]
            self._admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)', f'CREATE DATABASE "{BENCH_DB}"')
            self.env["DATABASE_URL"] = f"{self.pg_server}/{BENCH_DB}"
            self.env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
        else:
            self.env.pop("DATABASE_URL", None)
            self.env.pop("REDIS_URL", None)
        subprocess.run([TOUCHPOINT, "migrate", "--noinput", "-v", "0"], env=self.env, check=True)
        made = subprocess.run([TOUCHPOINT, "shell", "-c", SETUP.format(agents=agents)], env=self.env, check=True,
                              capture_output=True, text=True)
        setup = json.loads(made.stdout.strip().splitlines()[-1])
        self.key, self.sessions = setup["key"], setup["sessions"]
        self.ports = [free_port() for _ in range(processes)]
        self.servers = [subprocess.Popen([TOUCHPOINT, "serve", "--port", str(port)], env=self.env,
                                         stdout=subprocess.DEVNULL) for port in self.ports]
        for port in self.ports:
            self._wait(port)

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg_server}/postgres", autocommit=True) as admin:
            for statement in statements:
                admin.execute(statement)

    def _wait(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"touchpoint serve did not start on port {port}")

    def close(self) -> None:
        for server in self.servers:
            server.terminate()
        for server in self.servers:
            server.wait(15)
        if self.scale_out:
            self._admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        shutil.rmtree(self.var, ignore_errors=True)


# ---- the load ------------------------------------------------------------------------------------


@dataclass
class Tally:
    sent_at: dict[str, float] = field(default_factory=dict)  # client id -> when the visitor sent it
    acked: dict[str, int] = field(default_factory=dict)  # client id -> message id
    ack_ms: list[float] = field(default_factory=list)
    seen_by: list[dict[int, float]] = field(default_factory=list)  # per agent: message id -> when told
    errors: list[str] = field(default_factory=list)
    connect_s: float = 0.0  # until every visitor had said hello and been caught up
    go_at: float = 0.0  # when the visitors started writing


async def agent(url: str, origin: str, session: str, received: dict[int, float], ready: asyncio.Event,
                stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, origin=origin, additional_headers={"Cookie": f"sessionid={session}"},
                       max_queue=None) as socket:
        ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(socket.recv(), timeout=0.5)
            except TimeoutError:
                continue
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("event") == "message.created" and frame["payload"]["kind"] == "incoming":
                received.setdefault(frame["payload"]["message_id"], now)


async def visitor(url: str, tally: Tally, *, interval: float, count: int, connected: asyncio.Semaphore,
                  arrived: list, go: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connected:  # a few hundred handshakes at a time, as page views arrive
        socket = await connect(url, origin="https://shop.example", max_queue=None, open_timeout=60)
        await socket.send(json.dumps({"type": "hello"}))
        while json.loads(await socket.recv())["type"] != "synced":
            pass
        # The chat opens: the first message makes the visitor's customer record and conversation.
        await socket.send(json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "text": "Hello!"}))
        while json.loads(await socket.recv())["type"] != "ack":
            pass
    arrived.append(1)
    await go.wait()  # everyone is connected: the steady state is measured, not the arrival

    async def read() -> None:
        async for raw in socket:
            frame = json.loads(raw)
            if frame["type"] == "ack":
                tally.acked[frame["client_id"]] = frame["message"]["id"]
                tally.ack_ms.append((time.perf_counter() - tally.sent_at[frame["client_id"]]) * 1000)
            elif frame["type"] == "error":
                tally.errors.append(frame.get("code", "?"))

    reader = asyncio.create_task(read())
    await asyncio.sleep(random.uniform(0, interval))  # visitors do not all write on the same tick
    for _ in range(count):
        client_id = str(uuid.uuid4())
        tally.sent_at[client_id] = time.perf_counter()
        await socket.send(json.dumps({"type": "message", "client_id": client_id, "text": f"Where is order {client_id[:8]}?"}))
        await asyncio.sleep(interval)
    await asyncio.sleep(min(10.0, interval * 3))  # the last acks and deliveries
    reader.cancel()
    await socket.close()


async def run_load(desk: Desk, *, visitors: int, interval: float, duration: float) -> tuple[Tally, float]:
    hosts = [f"127.0.0.1:{port}" for port in desk.ports]
    tally = Tally(seen_by=[{} for _ in desk.sessions])
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in desk.sessions]
    # Agents on the last process, visitors spread over all of them (as a load balancer would): with two
    # processes, half the messages cross from one process to the other through Redis.
    agents = [asyncio.create_task(agent(f"ws://{hosts[-1]}/ws/agent/", f"http://{hosts[-1]}", session, seen,
                                        ready, stop))
              for session, seen, ready in zip(desk.sessions, tally.seen_by, readies, strict=True)]
    for ready in readies:
        await asyncio.wait_for(ready.wait(), 30)
    started = time.perf_counter()
    connecting = asyncio.Semaphore(200)
    count = max(1, round(duration / interval))  # each visitor writes this many
    arrived: list = []
    go = asyncio.Event()
    tasks = [asyncio.create_task(visitor(f"ws://{hosts[i % len(hosts)]}/widget/v1/ws?key={desk.key}&visitor={uuid.uuid4()}",
                                         tally, interval=interval, count=count, connected=connecting,
                                         arrived=arrived, go=go))
             for i in range(visitors)]
    while len(arrived) < visitors and not any(t.done() for t in tasks):
        await asyncio.sleep(0.1)
    tally.connect_s = time.perf_counter() - started
    await asyncio.sleep(SETTLE_S)  # the arrival's last catch-ups and fan-out finish before the clock starts
    tally.go_at = time.perf_counter()
    go.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    tally.errors += [f"visitor: {type(f).__name__}: {f}" for f in failures[:5]]
    await asyncio.sleep(2)
    stop.set()
    await asyncio.gather(*agents, return_exceptions=True)
    return tally, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def report(tally: Tally, elapsed: float, *, label: str, visitors: int, agents: int, interval: float,
           duration: float) -> dict:
    sent = len(tally.sent_at)
    timed = [(at, (seen[tally.acked[c]] - at) * 1000) for c, at in tally.sent_at.items() if c in tally.acked
             for seen in tally.seen_by if tally.acked[c] in seen]
    latencies = [ms for _, ms in timed]
    windows: dict[int, list[float]] = {}
    for at, ms in timed:
        windows.setdefault(int((at - tally.go_at) // 10), []).append(ms)
    delivered = [sum(1 for c in tally.sent_at if c in tally.acked and tally.acked[c] in seen) for seen in tally.seen_by]
    figures = {
        "setup": label, "visitors": visitors, "agents": agents, "interval_s": interval, "duration_s": duration,
        "sent": sent, "acked": len(tally.acked), "delivered_per_agent": delivered,
        "all_delivered": all(d == sent for d in delivered) and len(tally.acked) == sent,
        "offered_messages_per_s": round(visitors / interval, 1),
        "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p99": round(percentile(latencies, 99), 1),
                       "max": round(max(latencies, default=float("nan")), 1)},
        "p99_ms_per_10_s": [round(percentile(windows[w], 99), 1) for w in sorted(windows)],
        "ack_ms": {"p50": round(percentile(tally.ack_ms, 50), 1), "p99": round(percentile(tally.ack_ms, 99), 1)},
        "errors": sorted(set(tally.errors))[:5], "elapsed_s": round(elapsed, 1),
        "all_connected_after_s": round(tally.connect_s, 1),
    }
    p99 = figures["latency_ms"]["p99"]
    figures["budget"] = f"p99 {p99} ms {'<' if p99 < BUDGET_P99_MS else '>='} {BUDGET_P99_MS} ms"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between one visitor's messages")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds each visitor keeps writing")
    parser.add_argument("--scale-out", action="store_true", help="two processes on PostgreSQL and Redis")
    parser.add_argument("--profile", metavar="DIR",
                        help="record each server with py-spy (speedscope files) into DIR; needs py-spy on PATH")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.visitors * 2 + 256)), hard))
    processes = 2 if args.scale_out else 1
    label = ("2 × touchpoint serve, PostgreSQL + Redis" if args.scale_out
             else "1 × touchpoint serve, SQLite (WAL), in-memory channel layer")
    desk = Desk(scale_out=args.scale_out, agents=args.agents, processes=processes)
    profilers = [subprocess.Popen(["py-spy", "record", "--pid", str(server.pid), "--rate", "200", "--nonblocking",
                                   "--format", "speedscope", "-o", f"{args.profile}/serve-{port}.json"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for server, port in zip(desk.servers, desk.ports, strict=True)] if args.profile else []
    try:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        tally, elapsed = asyncio.run(run_load(desk, visitors=args.visitors, interval=args.interval,
                                              duration=args.duration))
    finally:
        for profiler in profilers:
            profiler.send_signal(2)  # py-spy writes its file on Ctrl+C
            profiler.wait(30)
        desk.close()
    figures = report(tally, elapsed, label=label, visitors=args.visitors, agents=args.agents, interval=args.interval,
                     duration=args.duration)
    figures["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    figures["load_average"] = os.getloadavg()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
