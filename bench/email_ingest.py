"""Email ingest benchmark: mail sent with smtplib over a few concurrent connections to a real
`touchpoint smtpd` process, end to end (every mail committed before its 250).

    python bench/email_ingest.py                     # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/email_ingest.py
                                                     # PostgreSQL: creates and drops the database
                                                     # `touchpoint_bench_email` on that server
    python bench/email_ingest.py --messages 500 --connections 2     # a quick run

The mail is a desk's usual mix: new threads from a few hundred customers, replies that thread by
In-Reply-To and quote the history, HTML alternatives, and one in ten with a PDF attached. It prints
messages per second (all stored), p50 / p95 of each mail's acceptance latency (DATA sent → 250), the
database and the machine. A measurement, not a test: the budget line says whether it was met.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

BENCH_DB = "touchpoint_bench_email"
BUDGET_PER_S = 100
ADDRESS = "support@bench.example"


@contextmanager
def bench_database() -> Iterator[str]:
    """A fresh database for this run, named to the smtpd process through the environment."""
    var = tempfile.mkdtemp(prefix="touchpoint-bench-email-")
    os.environ["TOUCHPOINT_VAR"] = var
    Path(var, "static").mkdir()
    url = os.environ.get("DATABASE_URL", "")
    admin_url = ""
    try:
        if not url:
            yield f"SQLite file {var}/touchpoint.sqlite3 (WAL)"
            return
        import psycopg

        parts = urlsplit(url)
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
        yield f"PostgreSQL database {BENCH_DB} on {parts.hostname}:{parts.port or 5432}"
    finally:
        if admin_url:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        shutil.rmtree(var, ignore_errors=True)


def touchpoint(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "touchpoint.cli", *args], env={**os.environ,
                            "PYTHONPATH": str(ROOT / "src")}, **popen)


def set_up_desk() -> None:
    if touchpoint("migrate", "--noinput", "-v", "0").wait() != 0:
        raise SystemExit("migrate failed")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "touchpoint.settings")
    import django

    django.setup()
    from touchpoint.accounts.services import create_workspace
    from touchpoint.channels.models import ChannelAccount

    workspace, _ = create_workspace(name="Bench Store", slug="bench", admin_email="admin@bench.example",
                                    admin_password="bench-admin-1")
    ChannelAccount.objects.create(workspace=workspace, kind="email", name="Support", address=ADDRESS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_smtpd(port: int, threads: int, processes: int) -> subprocess.Popen:
    server = touchpoint("smtpd", "--port", str(port), "--threads", str(threads), "--processes", str(processes))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as probe:
                probe.noop()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("touchpoint smtpd exited") from None
            time.sleep(0.2)
    server.kill()
    raise SystemExit("touchpoint smtpd did not start")


# ---- the mail ------------------------------------------------------------------------------------

WORDS = ("order", "parcel", "refund", "tracking", "size", "exchange", "invoice", "label", "delivery", "colour",
         "address", "payment", "broken", "missing", "discount", "return")


def compose(n: int, rng: random.Random, sent: list[tuple[str, str, str]]) -> tuple[str, bytes]:
    """The n-th mail: a reply to an earlier thread three times in ten, else a new thread."""
    message = EmailMessage()
    if sent and rng.random() < 0.3:
        sender, subject, parent = rng.choice(sent)
        message["Subject"] = f"Re: {subject}"
        message["In-Reply-To"] = parent
        message["References"] = parent
        body = f"{' '.join(rng.choices(WORDS, k=20))}\n\nOn Mon, 3 Mar 2025 at 10:00, Bench Store <{ADDRESS}> wrote:\n"
        body += "".join(f"> {' '.join(rng.choices(WORDS, k=12))}\n" for _ in range(15))
    else:
        sender = f"customer{rng.randrange(500)}@example.com"
        subject = f"{rng.choice(WORDS).title()} {rng.randrange(10_000, 99_999)}"
        message["Subject"] = subject
        body = "\n".join(" ".join(rng.choices(WORDS, k=14)) for _ in range(6)) + "\n\n-- \nA customer"
    mail_id = f"<bench{n}.{rng.randrange(10**9)}@example.com>"
    message["From"], message["To"], message["Message-ID"] = sender, ADDRESS, mail_id
    message.set_content(body)
    if n % 3 == 0:
        message.add_alternative("<p>" + body.replace("\n", "<br>") + "</p>", subtype="html")
    if n % 10 == 0:
        message.add_attachment(b"%PDF-1.4\n" + bytes(rng.randrange(256) for _ in range(40_000)), maintype="application",
                               subtype="pdf", filename=f"receipt-{n}.pdf")
    sent.append((sender, message["Subject"].removeprefix("Re: "), mail_id))
    return sender, message.as_bytes(policy=policy.SMTP)  # CRLF line ends, as SMTP wants


def send_all(port: int, mails: list[tuple[str, bytes]], connections: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def sender(share: list[tuple[str, bytes]]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
                for from_address, raw in share:
                    started = time.perf_counter()
                    client.sendmail(from_address, [ADDRESS], raw)
                    elapsed = (time.perf_counter() - started) * 1000
                    with lock:
                        latencies.append(elapsed)
        except BaseException as error:  # reported below: a failed mail must not pass unnoticed
            errors.append(error)

    workers = [threading.Thread(target=sender, args=(mails[i::connections],)) for i in range(connections)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} connection(s) failed, first: {errors[0]!r}")
    return wall, latencies


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    ram = "RAM unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        ram = f"{kib / 1024 / 1024:.1f} GB RAM"
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {ram}; Python {platform.python_version()}, {platform.system()}"


def process_cpu_s(pid: int) -> float:
    """CPU seconds a process and its children have used (user + system), from /proc; 0 without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return own + sum(process_cpu_s(int(child)) for child in children)
    except (OSError, IndexError, ValueError):
        return 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4, help="concurrent SMTP connections")
    parser.add_argument("--threads", type=int, default=4, help="smtpd database threads per process")
    parser.add_argument("--processes", type=int, default=1, help="smtpd processes sharing the port")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    sent: list[tuple[str, str, str]] = []
    mails = [compose(n, rng, sent) for n in range(args.messages)]
    with bench_database() as database:
        set_up_desk()
        port = free_port()
        server = start_smtpd(port, args.threads, args.processes)
        try:
            cpu_before = process_cpu_s(server.pid)
            wall, latencies = send_all(port, mails, args.connections)
            smtpd_cpu = process_cpu_s(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=30)
        from touchpoint.channels.email.models import InboundEmail
        from touchpoint.conversations.models import Conversation, Message

        stored = Message.objects.filter(channel="email", kind="incoming").count()
        conversations = Conversation.objects.count()
        recorded = InboundEmail.objects.count()
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    rate = args.messages / wall
    megabytes = sum(len(raw) for _, raw in mails) / 1048576
    print(f"email ingest: {args.messages} mails ({megabytes:.1f} MB) over {args.connections} SMTP connections, "
          f"smtpd: {args.processes} process(es) with {args.threads} database threads each")
    print(f"  stored     : {stored} messages in {conversations} conversations ({recorded} originals kept)"
          f"{'' if stored == args.messages else '  <-- NOT ALL STORED'}")
    print(f"  throughput : {rate:.0f} mails/s end to end ({wall:.1f} s)  budget >= {BUDGET_PER_S}/s: "
          f"{'met' if rate >= BUDGET_PER_S and stored == args.messages else 'MISSED'}")
    print(f"  acceptance : p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 95):.1f} ms "
          f"(MAIL FROM → 250 after DATA; each mail committed before its 250)")
    if smtpd_cpu:
        print(f"  smtpd CPU  : {smtpd_cpu / args.messages * 1000:.1f} ms per mail ({smtpd_cpu / wall * 100:.0f}% of one core; "
              f"{os.cpu_count()} cores here)")
    print(f"  database   : {database}")
    print(f"  machine    : {machine()}")
    print(f"  load avg   : {load} (1 / 5 / 15 min) at the end of the run")


if __name__ == "__main__":
    main()
