"""`touchpoint smtpd`: a real SMTP server for incoming mail (aiosmtpd).

Point the domain's MX (or a relay such as Postfix) at it. It answers for the addresses of active
email accounts only (no open relay), and answers 250 only once the mail is committed: a mail the
database cannot take now gets 451 and the sending server keeps it and retries, so nothing accepted
is ever lost. The event loop only speaks SMTP; the database work runs on a few threads, each with
its own connection. Storing a mail is CPU-bound Python, so one process uses about one core: more
processes share the port (SO_REUSEPORT) to use more.
"""

import asyncio
import functools
import logging
import queue
import signal
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import connections

from touchpoint.channels.email.inbound import TRANSIENT_ERRORS, account_for_recipient, ingest_mime
from touchpoint.channels.email.threading import base_address
from touchpoint.channels.models import ChannelAccount
from touchpoint.realtime import listeners

log = logging.getLogger(__name__)

TRY_LATER = "451 4.3.0 Temporary failure storing the message; try again later"
NO_SUCH_MAILBOX = "550 5.1.1 No such mailbox here"
SHUTDOWN_GRACE_S = 30
ACCOUNT_CACHE_S = 30.0  # how long a stopping server lets mail being stored finish


class DatabaseWorkers:
    """A few threads that run the database work, each keeping one connection between mails and
    closing it when the server stops."""

    def __init__(self, threads: int) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.threads = [threading.Thread(target=self._work, name=f"smtpd-db-{n}", daemon=True) for n in range(threads)]
        for thread in self.threads:
            thread.start()

    def submit(self, func: Callable, *args) -> Future:
        future: Future = Future()
        self.jobs.put((future, func, args))
        return future

    def _work(self) -> None:
        while (job := self.jobs.get()) is not None:
            future, func, args = job
            if not future.set_running_or_notify_cancel():
                continue
            _replace_broken_connections()
            try:
                future.set_result(func(*args))
            except BaseException as error:
                future.set_exception(error)
        connections.close_all()

    def shutdown(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()


def _replace_broken_connections() -> None:
    """Keep each thread's connection from mail to mail (opening one costs about as much as storing a
    mail), but drop one that failed, so a database restart costs one 451 and no more."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and connection.errors_occurred and not connection.is_usable():
            connection.close()


class InboundHandler:
    def __init__(self, threads: int = 4) -> None:
        self.workers = DatabaseWorkers(threads)
        self.in_flight = 0
        # Recipient address → (account, until when it is trusted). A desk's mail goes to a handful of
        # addresses, and asking the database for each RCPT cost a round trip per mail; an account
        # switched off stops taking mail within ACCOUNT_CACHE_S.
        self.accounts: dict[str, tuple[ChannelAccount, float]] = {}

    async def _account(self, address: str) -> ChannelAccount | None:
        key = base_address(address)  # reply-token variants share their account's entry
        cached = self.accounts.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        account = await self._run(account_for_recipient, address)
        if account is not None:
            self.accounts[key] = (account, time.monotonic() + ACCOUNT_CACHE_S)
        return account

    async def _run(self, func: Callable, *args):
        return await asyncio.wrap_future(self.workers.submit(func, *args))

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        try:
            account = await self._account(address)
        except TRANSIENT_ERRORS:
            log.warning("database unavailable while checking recipient %s", address)
            return TRY_LATER
        if account is None:
            return NO_SUCH_MAILBOX
        envelope.rcpt_tos.append(address)
        envelope.accounts = [*getattr(envelope, "accounts", []), (address, account)]
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.in_flight += 1
        try:
            await self._run(self.store, raw, getattr(envelope, "accounts", []), envelope.mail_from or "")
        except TRANSIENT_ERRORS as error:
            log.warning("database unavailable, asked the sender to retry: %s", error)
            return TRY_LATER
        except Exception:
            # A fault of ours: the sending server keeps the mail and retries, we fix and it arrives.
            log.exception("could not store a mail from %s", envelope.mail_from)
            return TRY_LATER
        finally:
            self.in_flight -= 1
        return "250 OK: message stored"

    @staticmethod
    def store(raw: bytes, recipients: list[tuple[str, ChannelAccount]], envelope_sender: str) -> None:
        """Each recipient mailbox takes the mail; in one workspace the second one finds it taken."""
        with listeners.batched():  # a new thread's opening and its message: one write to the live log
            for recipient, account in recipients:
                ingest_mime(raw, recipient, account, envelope_sender=envelope_sender)


def _smtp_options(max_bytes: int | None = None) -> dict:
    options = {"data_size_limit": max_bytes or settings.EMAIL_MAX_MESSAGE_BYTES, "enable_SMTPUTF8": True,
               "ident": "Touchpoint ESMTP"}
    if settings.SMTPD_TLS_CERT and settings.SMTPD_TLS_KEY:  # offer STARTTLS
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.SMTPD_TLS_CERT, settings.SMTPD_TLS_KEY)
        options["tls_context"] = context
    return options


def make_controller(host: str, port: int, *, threads: int = 4, max_bytes: int | None = None) -> Controller:
    """The server on a thread of its own (start() / stop(), then handler.workers.shutdown()): for tests
    and for embedding in another process."""
    return Controller(InboundHandler(threads=threads), hostname=host, port=port, **_smtp_options(max_bytes))


async def serve(host: str, port: int, *, threads: int = 4, reuse_port: bool = False,
                on_ready: Callable[[], None] = lambda: None) -> None:
    """Run the server in this process's event loop until SIGINT or SIGTERM. On the way out it stops
    taking connections and lets mail being stored finish, so a deploy answers every DATA it took."""
    from touchpoint.realtime.listeners import remember_socket_loop

    loop = asyncio.get_running_loop()
    # Live events of stored mail go out through this loop (to Redis when REDIS_URL is set) instead
    # of through a new event loop per event.
    remember_socket_loop(loop)
    handler = InboundHandler(threads=threads)
    server = await loop.create_server(functools.partial(SMTP, handler, **_smtp_options()), host, port,
                                      reuse_port=reuse_port or None)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    on_ready()
    await stop.wait()
    server.close()
    for _ in range(SHUTDOWN_GRACE_S * 10):
        if not handler.in_flight:
            break
        await asyncio.sleep(0.1)
    await asyncio.to_thread(handler.workers.shutdown)
