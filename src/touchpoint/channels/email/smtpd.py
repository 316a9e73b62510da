"""`touchpoint smtpd`: a real SMTP server for incoming mail (aiosmtpd).

Point the domain's MX (or a relay such as Postfix) at it. It answers for the addresses of active
email accounts only (no open relay), and answers 250 only once the mail is committed: a mail the
database cannot take now gets 451 and the sending server keeps it and retries, so nothing accepted
is ever lost. The database work runs on a small thread pool; the event loop only speaks SMTP.
"""

import asyncio
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import connections

from touchpoint.channels.email.inbound import TRANSIENT_ERRORS, account_for_recipient, ingest_mime

log = logging.getLogger(__name__)

TRY_LATER = "451 4.3.0 Temporary failure storing the message; try again later"
NO_SUCH_MAILBOX = "550 5.1.1 No such mailbox here"


def _in_own_connection(func, *args, **kwargs):
    # Each job opens and closes its database connection, so idle pool threads hold none (a database
    # restart never leaves a pool thread with a dead connection, and none is left open at shutdown).
    try:
        return func(*args, **kwargs)
    finally:
        connections.close_all()


class InboundHandler:
    def __init__(self, threads: int = 4) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="smtpd-db")

    async def _in_pool(self, func, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: _in_own_connection(func, *args, **kwargs))

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        try:
            account = await self._in_pool(account_for_recipient, address)
        except TRANSIENT_ERRORS:
            log.warning("database unavailable while checking recipient %s", address)
            return TRY_LATER
        if account is None:
            return NO_SUCH_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await self._in_pool(self.store, raw, list(envelope.rcpt_tos), envelope.mail_from or "")
        except TRANSIENT_ERRORS as error:
            log.warning("database unavailable, asked the sender to retry: %s", error)
            return TRY_LATER
        except Exception:
            # A fault of ours: the sending server keeps the mail and retries, we fix and it arrives.
            log.exception("could not store a mail from %s", envelope.mail_from)
            return TRY_LATER
        return "250 OK: message stored"

    @staticmethod
    def store(raw: bytes, recipients: list[str], envelope_sender: str) -> None:
        """Each recipient mailbox takes the mail; in one workspace the second one finds it taken."""
        for recipient in recipients:
            account = account_for_recipient(recipient)
            if account is not None:
                ingest_mime(raw, recipient, account, envelope_sender=envelope_sender)


def _tls_context() -> ssl.SSLContext | None:
    """STARTTLS when SMTPD_TLS_CERT and SMTPD_TLS_KEY name a certificate and its key."""
    if not (settings.SMTPD_TLS_CERT and settings.SMTPD_TLS_KEY):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.SMTPD_TLS_CERT, settings.SMTPD_TLS_KEY)
    return context


def make_controller(host: str, port: int, *, threads: int = 4, max_bytes: int | None = None) -> Controller:
    """An SMTP server on its own thread (start() / stop()), for the command and for tests."""
    return Controller(
        InboundHandler(threads=threads), hostname=host, port=port,
        data_size_limit=max_bytes or settings.EMAIL_MAX_MESSAGE_BYTES, enable_SMTPUTF8=True,
        tls_context=_tls_context(), ident="Touchpoint ESMTP",
    )
