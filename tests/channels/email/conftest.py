"""Real mail servers for the email tests: Touchpoint's own SMTP server on a free port, and an SMTP
sink (aiosmtpd) standing in for the relay our replies go out through."""

import socket
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller

from touchpoint.channels.email.smtpd import make_controller
from touchpoint.channels.models import ChannelAccount


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mail(*, sender: str = "Maria Lopez <maria@example.com>", to: str = "support@acme.test", subject: str = "Order 1042",
         text: str = "Where is my order?", html: str = "", message_id: str | None = "<m1@example.com>",
         headers: dict[str, str] | None = None, files: list[tuple[str, str, bytes]] = ()) -> bytes:
    """A mail as a mail client writes it."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=policy.SMTP)


@pytest.fixture
def account(desk) -> ChannelAccount:
    return ChannelAccount.objects.create(workspace_id=desk.id, kind="email", name="Support", address="support@acme.test")


@pytest.fixture
def other_account(other_desk) -> ChannelAccount:
    return ChannelAccount.objects.create(workspace_id=other_desk.id, kind="email", name="Support",
                                         address="help@globex.test")


@dataclass
class Sink:
    """What the relay received; `refuse` makes it answer RCPT with that reply instead."""

    port: int
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refuse: str = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK: queued"


@pytest.fixture
def sink(settings):
    """An SMTP relay on a free port, with EMAIL_HOST/EMAIL_PORT pointed at it."""
    box = Sink(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", box.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield box
    controller.stop()


@pytest.fixture
def smtpd(transactional_db):
    """Touchpoint's SMTP server (the one `touchpoint smtpd` runs) on a free port; yields the port."""
    port = free_port()
    controller = make_controller("127.0.0.1", port, threads=2, max_bytes=40 * 1024 * 1024)
    controller.start()
    yield port
    controller.stop()
    controller.handler.workers.shutdown()
