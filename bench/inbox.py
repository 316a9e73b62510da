"""Inbox benchmark: a desk with 100,000 conversations and 1,000,000 messages, then the latency of
what an agent does all day, through the REST API with a real bearer token.

    python bench/inbox.py                      # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/inbox.py
                                               # PostgreSQL: creates and drops the database
                                               # `touchpoint_bench` on that server, nothing else
    python bench/inbox.py --conversations 10000 --messages 100000 --samples 50   # a quick run

It prints p50 / p95 in milliseconds for each request, the rows loaded, the load time, the database and
the machine. It is a measurement, not a test: nothing fails when a budget is missed, but the table
says so.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

BENCH_DB = "touchpoint_bench"
CHANNELS = ("email", "webchat", "whatsapp", "sms", "voice", "api")
CHANNEL_WEIGHTS = (34, 26, 12, 7, 11, 10)
STATUSES = ("resolved", "open", "pending", "snoozed")
STATUS_WEIGHTS = (85, 8, 4, 3)
TAGS = ("order-status", "return", "refund", "sizing", "damaged", "discount-code", "payment", "address-change",
        "cancellation", "vip", "pre-sale", "stock")
SEARCH_WORDS = ("refund", "parcel", "tracking", "exchange", "gilet", "invoice", "label")
BUDGET_MS = {"inbox": 50, "conversation": 50, "timeline": 50, "search": 200}


@dataclass
class Sample:
    name: str
    budget: str
    times_ms: list[float]  # the whole request, as the client sees it
    db_ms: list[float]  # of which waiting on the database
    queries: int

    def percentile(self, p: float, *, db: bool = False) -> float:
        ordered = sorted(self.db_ms if db else self.times_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---- a database of our own -------------------------------------------------------------------


@contextmanager
def bench_database(keep: bool) -> Iterator[str]:
    """Point Django at a fresh database: a temporary SQLite file, or `touchpoint_bench` on the
    PostgreSQL server named by DATABASE_URL (created here, dropped at the end)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        var = tempfile.mkdtemp(prefix="touchpoint-bench-")
        os.environ["TOUCHPOINT_VAR"] = var
        Path(var, "static").mkdir()  # static files are served from the app dirs; this keeps WhiteNoise quiet
        try:
            yield f"SQLite file {var}/touchpoint.sqlite3"
        finally:
            if keep:
                print(f"kept {var}")
            else:
                shutil.rmtree(var, ignore_errors=True)
        return
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    var = ""
    if "TOUCHPOINT_VAR" not in os.environ:  # settings keep a secret key there: a throwaway one
        var = os.environ["TOUCHPOINT_VAR"] = tempfile.mkdtemp(prefix="touchpoint-bench-")
        Path(var, "static").mkdir()
    try:
        yield f"PostgreSQL database {BENCH_DB} on {parts.hostname}:{parts.port or 5432}"
    finally:
        from django.db import connections

        connections.close_all()
        if keep:
            print(f"kept database {BENCH_DB}")
        else:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        if var:
            shutil.rmtree(var, ignore_errors=True)


# ---- loading -----------------------------------------------------------------------------------


@dataclass
class Desk:
    workspace_id: int
    token: str
    agent_ids: list[int]
    team_ids: list[int]
    customers: int
    conversations: int
    messages: int


def load(*, conversations: int, messages: int, customers: int, seed: int) -> Desk:
    """Staff and token through the services; the history by bulk insert (COPY on PostgreSQL), like
    any import of a desk's past. Secondary indexes are dropped for the load and built again after,
    which is how a large import is done on either database."""
    from django.db import connection, transaction

    from touchpoint.accounts import services as accounts
    from touchpoint.accounts.selectors import actor_for
    from touchpoint.core.permissions import Role

    workspace, admin = accounts.create_workspace(name="Bench Store", slug="bench", admin_email="admin@bench.example",
                                                 admin_password="bench-admin-1")
    admin_actor = actor_for(admin)
    agents = [accounts.seed_member(workspace=workspace, email=f"agent{i}@bench.example", password="bench-agent-1",
                                   display_name=f"Agent {i}") for i in range(8)]
    teams = [accounts.create_team(actor=admin_actor, name=name) for name in ("Orders", "Returns", "Billing", "VIP")]
    for i, team in enumerate(teams):
        accounts.set_team_members(actor=admin_actor, team=team, members=agents[i * 2:i * 2 + 3])
    _, key = accounts.issue_token(actor=admin_actor, name="bench", role=Role.AGENT)
    desk = Desk(workspace.pk, key, [a.pk for a in agents], [t.pk for t in teams], customers, conversations, messages)

    rng = random.Random(seed)
    writer = _writer(connection)
    # The indexes come back after the commit: PostgreSQL will not build one over rows whose deferred
    # foreign-key checks are still pending.
    with _without_secondary_indexes(connection, ["conversations_message", "conversations_conversation"]), \
            transaction.atomic():
        writer.insert("customers_customer", _customer_rows(desk))
        writer.insert("customers_identity", _identity_rows(desk))
        writer.insert("conversations_tag", [(i + 1, desk.workspace_id, name) for i, name in enumerate(TAGS)],
                      columns=("id", "workspace_id", "name"))
        history = _History(rng, desk)
        writer.insert("conversations_conversation", history.conversation_rows())
        writer.insert("conversations_conversation_tags", history.tag_rows, columns=("conversation_id", "tag_id"))
        writer.insert("conversations_message", history.message_rows(), columns=MESSAGE_COLUMNS)
    desk.messages = sum(history.counts)
    _reset_sequences(connection)
    with connection.cursor() as cursor:
        # PostgreSQL's autovacuum would analyze such a load within a minute; do it now so the first
        # samples see the plans production sees. SQLite is left as an embedded install has it.
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    return desk


class _Writer:
    def __init__(self, connection) -> None:
        self.connection = connection

    def insert(self, table: str, rows: Iterable[dict | tuple], columns: tuple[str, ...] | None = None) -> None:
        """Rows are dicts (their keys name the columns; columns left out take their defaults) or
        tuples in the order of `columns`."""
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            return
        self.write(table, columns or tuple(first), itertools.chain([first], rows))

    def write(self, table: str, columns: tuple[str, ...], rows: Iterator[dict | tuple]) -> None:
        raise NotImplementedError


class _SQLiteWriter(_Writer):
    def write(self, table, columns, rows):
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        raw = self.connection.connection
        for chunk in _chunks(rows, 20_000):
            raw.executemany(sql, [self._row(r, columns) for r in chunk])

    @staticmethod
    def _row(row, columns):
        values = [row[c] for c in columns] if isinstance(row, dict) else row
        return [_sqlite_value(v) for v in values]


class _PostgresWriter(_Writer):
    def write(self, table, columns, rows):
        with self.connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    values = [row[c] for c in columns] if isinstance(row, dict) else row
                    copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in values])


def _writer(connection) -> _Writer:
    connection.ensure_connection()
    return _PostgresWriter(connection) if connection.vendor == "postgresql" else _SQLiteWriter(connection)


def _sqlite_value(value):
    if isinstance(value, datetime):
        return str(value.astimezone(UTC).replace(tzinfo=None))  # how Django stores an aware datetime
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def _without_secondary_indexes(connection, tables: list[str]) -> Iterator[None]:
    """Drop the plain indexes of the big tables for the load and create them again after. Unique
    constraints and primary keys stay; on SQLite the full-text triggers stay too."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename = ANY(%s) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", [tables])
        else:
            cursor.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE "
                f"'CREATE UNIQUE%%' AND tbl_name IN ({', '.join(['%s'] * len(tables))})", tables)
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)


def _reset_sequences(connection) -> None:
    from django.apps import apps
    from django.core.management.color import no_style

    models = [apps.get_model(label) for label in ("customers.Customer", "customers.Identity", "conversations.Tag",
                                                   "conversations.Conversation", "conversations.Message")]
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def _customer_rows(desk: Desk) -> Iterator[dict]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(1, desk.customers + 1):
        yield {"id": i, "workspace_id": desk.workspace_id, "name": f"Customer {i}", "language": "en",
               "custom_attributes": {"plan": "standard"}, "consent": {}, "merged_into_id": None,
               "created_at": start, "updated_at": start}


def _identity_rows(desk: Desk) -> Iterator[dict]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(1, desk.customers + 1):
        yield {"id": i, "workspace_id": desk.workspace_id, "customer_id": i, "kind": "email",
               "value": f"customer{i}@bench.example", "verified": True, "created_at": start}


class _History:
    """Conversations over the last 180 days with about ten messages each, texts from the demo store."""

    def __init__(self, rng: random.Random, desk: Desk) -> None:
        self.rng, self.desk = rng, desk
        self.texts = _text_pool(rng)
        self.now = datetime.now(UTC).replace(microsecond=0)
        counts = [rng.randint(2, 2 * desk.messages // desk.conversations - 2) for _ in range(desk.conversations)]
        spare = desk.messages - sum(counts)  # make the total exact
        for i in range(abs(spare)):
            counts[i % len(counts)] += 1 if spare > 0 else -1 if counts[i % len(counts)] > 2 else 0
        self.counts = counts
        self.tag_rows: list[tuple[int, int]] = []
        # per conversation: customer, channel, start, minutes between messages
        self.facts: list[tuple[int, str, datetime, int]] = []

    def conversation_rows(self) -> Iterator[dict]:
        rng, desk = self.rng, self.desk
        for cid, count in enumerate(self.counts, start=1):
            status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
            age = timedelta(days=180) * (rng.random() if status == "resolved" else rng.random() * 0.04)
            start = self.now - age - timedelta(hours=count)
            step = rng.randint(1, 50)
            customer, channel = rng.randint(1, desk.customers), rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
            self.facts.append((customer, channel, start, step))
            last = start + timedelta(minutes=step * (count - 1))
            customer_waits = status == "open" and count % 2 == 1  # the last message is the customer's
            for tag in rng.sample(range(1, len(TAGS) + 1), rng.randint(1, 2)):
                self.tag_rows.append((cid, tag))
            yield {
                "id": cid, "workspace_id": desk.workspace_id, "customer_id": customer, "channel": channel,
                "subject": rng.choice(self.texts)[0][:60],
                "status": status, "snoozed_until": self.now + timedelta(days=2) if status == "snoozed" else None,
                "priority": rng.choice(("low", "normal", "normal", "normal", "high", "urgent")),
                "team_id": rng.choice([*desk.team_ids, None]),
                "assignee_id": rng.choice([*desk.agent_ids, None]) if status == "open" else rng.choice(desk.agent_ids),
                "custom_fields": {}, "waiting_since": last if customer_waits else None,
                "first_response_at": start + timedelta(minutes=step) if count > 1 else None,
                "first_resolved_at": last if status == "resolved" else None,
                "resolved_at": last if status == "resolved" else None,
                "last_message_at": last, "last_message_preview": "…", "created_at": start, "updated_at": last,
            }

    def message_rows(self) -> Iterator[tuple]:
        """Customer and agent take turns; every seventh message is an internal note."""
        rng, ws = self.rng, self.desk.workspace_id
        mid = 0
        for cid, count in enumerate(self.counts, start=1):
            customer, channel, start, step = self.facts[cid - 1]
            for n in range(count):
                mid += 1
                kind = "note" if n % 7 == 6 else ("incoming" if n % 2 == 0 else "outgoing")
                text, html = rng.choice(self.texts)
                author = None if kind == "incoming" else rng.choice(self.desk.agent_ids)
                yield (mid, ws, cid, customer, kind, "customer" if kind == "incoming" else "agent", author, channel,
                       html, text, "", "", {}, start + timedelta(minutes=step * n))


MESSAGE_COLUMNS = ("id", "workspace_id", "conversation_id", "customer_id", "kind", "sender_type", "author_id",
                   "channel", "content_html", "content_text", "external_id", "delivery_status", "metadata", "created_at")


def _text_pool(rng: random.Random, size: int = 4000) -> list[tuple[str, str]]:
    """Realistic store messages: the demo's threads with their blanks filled in."""
    from touchpoint import demo
    from touchpoint.core.html import text_to_html

    pool = []
    for _ in range(size):
        topic = rng.choice(demo.TOPICS)
        opener, answer = rng.choice(topic.threads)
        question, reply = rng.choice(topic.followups)
        template = rng.choice((opener, answer, question, reply, *topic.notes, *topic.asks))
        ctx = {"first": "Sam", "agent": "Ana", "order": f"NW-{rng.randint(100000, 999999)}", "item": rng.choice(demo.ITEMS),
               "size": "M", "size2": "L", "carrier": rng.choice(("DHL", "UPS", "Royal Mail", "Colissimo")),
               "tracking": str(rng.randint(10**11, 10**12 - 1)), "amount": f"€{rng.randint(10, 300)}.00",
               "code": rng.choice(demo.CODES), "city": rng.choice(("Leeds", "Lyon", "Berlin", "Madrid")),
               "street": "12 Mill Lane", "date": "3 May", "day": "Friday", "week": "23"}
        text = template.format(**ctx)
        pool.append((text, text_to_html(text)))
    return pool


# ---- measuring -------------------------------------------------------------------------------


def measure(desk: Desk, *, samples: int, seed: int) -> list[Sample]:
    from django.db import connection
    from django.test import Client

    rng = random.Random(seed + 1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {desk.token}")
    tag_names = list(TAGS)

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])

    def conversation(cid: int) -> None:
        get(f"/api/v1/conversations/{cid}")
        get(f"/api/v1/conversations/{cid}/messages")

    cases: list[tuple[str, str, Callable[[], None]]] = [
        ("GET /conversations?view=open&channel=…&limit=50", "inbox",
         lambda: get(f"/api/v1/conversations?view=open&limit=50&channel={rng.choice(CHANNELS)}")),
        ("GET /conversations?view=open&team_id=…&limit=50", "inbox",
         lambda: get(f"/api/v1/conversations?view=open&limit=50&team_id={rng.choice(desk.team_ids)}")),
        ("GET /conversations?view=open&tag=…&limit=50", "inbox",
         lambda: get(f"/api/v1/conversations?view=open&limit=50&tag={rng.choice(tag_names)}")),
        ("GET /conversations/{id} + /messages", "conversation",
         lambda: conversation(rng.randint(1, desk.conversations))),
        ("GET /customers/{id}/timeline", "timeline",
         lambda: get(f"/api/v1/customers/{rng.randint(1, desk.customers)}/timeline")),
        ("GET /search/messages?q=…", "search",
         lambda: get(f"/api/v1/search/messages?q={rng.choice(SEARCH_WORDS)}")),
    ]
    results = []
    for name, budget, run in cases:
        for _ in range(10):  # warm up caches and connections
            run()
        times, db_times = [], []
        for _ in range(samples):
            queries: list[float] = []
            with connection.execute_wrapper(_timing(queries)):
                started = time.perf_counter()
                run()
                times.append((time.perf_counter() - started) * 1000)
            db_times.append(sum(queries))
        results.append(Sample(name, budget, times, db_times, len(queries)))
    return results


def _timing(queries: list[float]) -> Callable:
    """Records how long each query of a request takes, in ms."""

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((time.perf_counter() - started) * 1000)

    return wrapper


# ---- reporting -------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        ram = f"{kib / 1024 / 1024:.1f} GB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    return f"{cpu}, {os.cpu_count()} cores, {ram}; Python {platform.python_version()}, {platform.system()}"


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]} (WAL)"


def report(results: list[Sample], *, desk: Desk, load_s: float, where: str, samples: int) -> str:
    lines = [
        "Touchpoint inbox benchmark",
        f"database : {database_version()} — {where}",
        f"machine  : {machine()}",
        f"loaded   : {desk.conversations:,} conversations, {desk.messages:,} messages, {desk.customers:,} customers "
        f"in {load_s:.1f} s",
        f"load avg : {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1 / 5 / 15 min) at the end of the run",
        f"samples  : {samples} per request, after 10 warm-up requests; p50 / p95 of the whole Django request,",
        "           and of the part spent waiting on the database",
        "",
        "| request | p50 ms | p95 ms | budget p95 | db p50 ms | db p95 ms | queries |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        budget = BUDGET_MS[r.budget]
        verdict = "ok" if r.percentile(95) < budget else "MISSED"
        lines.append(f"| {r.name} | {r.percentile(50):.1f} | {r.percentile(95):.1f} | < {budget} ({verdict}) | "
                     f"{r.percentile(50, db=True):.1f} | {r.percentile(95, db=True):.1f} | {r.queries} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards, to EXPLAIN by hand")
    args = parser.parse_args()
    if args.messages < 2 * args.conversations:
        parser.error("give at least two messages per conversation")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "touchpoint.settings")
    with bench_database(args.keep) as where:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        print(f"loading {args.conversations:,} conversations and {args.messages:,} messages into {where} …", flush=True)
        started = time.monotonic()
        desk = load(conversations=args.conversations, messages=args.messages, customers=args.customers, seed=args.seed)
        load_s = time.monotonic() - started
        print(f"loaded in {load_s:.1f} s; measuring …", flush=True)
        results = measure(desk, samples=args.samples, seed=args.seed)
        print()
        print(report(results, desk=desk, load_s=load_s, where=where, samples=args.samples))
        print(f"\n(all samples: {statistics.fmean(t for r in results for t in r.times_ms):.1f} ms mean)")


if __name__ == "__main__":
    main()
