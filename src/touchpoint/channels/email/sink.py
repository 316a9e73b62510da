"""A mail sink: an SMTP server on this machine that accepts every mail and keeps it in a folder
instead of passing it on. A workspace whose mail must reach nobody (the demo) sends through it, and
its admins read what was sent in the Outbox (`channels.outbox`)."""

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)
MAX_MAIL_BYTES = 30 * 1024 * 1024


def write_private(directory: Path, name: str, data: bytes) -> Path:
    """A file only this user can read (replies carry customers' data), in a folder only it can list."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return path


def stamped_name(suffix: str) -> str:
    """Names sort in the order the items arrived."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}{suffix}"


class MailSink:
    """aiosmtpd handler: every recipient is accepted and every mail kept as a .eml file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        data = envelope.original_content or b""
        path = await asyncio.to_thread(write_private, self.directory, stamped_name(".eml"), data)
        log.info("Outbox: mail from %s to %s kept as %s", envelope.mail_from, ", ".join(envelope.rcpt_tos), path.name)
        return "250 OK: kept in the outbox, not delivered"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start_mail_sink(directory: Path, *, host: str = "127.0.0.1", port: int = 0) -> Controller:
    """The sink on its own thread (port 0: a free one); `controller.port` says where, `.stop()` ends it."""
    controller = Controller(MailSink(directory), hostname=host, port=port or free_port(host),
                            data_size_limit=MAX_MAIL_BYTES)
    controller.start()
    return controller
