"""A local outbox for one workspace: its email, SMS and WhatsApp replies leave through the real
delivery path, to a mail sink and a Twilio-format fake on this machine, and are kept in a folder
its admins can read (Settings → Channels → Outbox) instead of reaching anyone. The demo store uses
it, so replies in the demo succeed without real accounts and never reach a real inbox or phone."""

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import close_old_connections, transaction

from touchpoint.channels.email.sink import start_mail_sink
from touchpoint.channels.messaging.fake_twilio import FakeTwilio
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel

log = logging.getLogger(__name__)
MAX_ITEMS = 200


def outbox_dir(workspace_id: int) -> Path:
    return Path(settings.VAR_DIR) / "outbox" / str(workspace_id)


@dataclass
class LocalOutbox:
    workspace_id: int
    directory: Path
    mail: Controller
    texts: FakeTwilio

    @property
    def smtp_port(self) -> int:
        return self.mail.port

    def stop(self) -> None:
        self.mail.stop()
        self.texts.stop()


def start_local_outbox(*, workspace_id: int, email_address: str, sms_number: str, whatsapp_number: str) -> LocalOutbox:
    """Start the sink and the fake, and point every email, SMS and WhatsApp account of the workspace
    at them (one of each is connected first when it has none)."""
    directory = outbox_dir(workspace_id)
    mail = start_mail_sink(directory)
    texts = FakeTwilio(lambda sid: _auth_tokens(workspace_id, sid), directory).start()
    route_to_local_outbox(workspace_id=workspace_id, smtp_port=mail.port, twilio_base=texts.base_url,
                          email_address=email_address, sms_number=sms_number, whatsapp_number=whatsapp_number)
    log.info("Local outbox for workspace %s: SMTP on 127.0.0.1:%s, Twilio-format API on %s, kept in %s",
             workspace_id, mail.port, texts.base_url, directory)
    return LocalOutbox(workspace_id, directory, mail, texts)


@transaction.atomic
def route_to_local_outbox(*, workspace_id: int, smtp_port: int, twilio_base: str, email_address: str, sms_number: str,
                          whatsapp_number: str) -> None:
    accounts = ChannelAccount.objects.filter(workspace_id=workspace_id, is_active=True)
    wanted = {Channel.EMAIL: ("Support", email_address), Channel.SMS: ("Support line", sms_number),
              Channel.WHATSAPP: ("WhatsApp", whatsapp_number)}
    for kind, (name, address) in wanted.items():
        if not accounts.filter(kind=kind).exists():
            ChannelAccount.objects.create(workspace_id=workspace_id, kind=kind, name=name, address=address,
                                          secret=secrets.token_hex(16))
    for account in accounts.filter(kind=Channel.EMAIL):
        account.config = {**account.config, "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none"}}
        account.save(update_fields=["config"])
    for account in accounts.filter(kind__in=(Channel.SMS, Channel.WHATSAPP)):
        sid = account.config.get("account_sid") or "AC" + secrets.token_hex(16)
        account.config = {**account.config, "account_sid": sid, "api_base": twilio_base}
        account.save(update_fields=["config"])


def _auth_tokens(workspace_id: int, account_sid: str) -> list[str]:
    """Called on the fake's own threads: each closes its database connection when done."""
    try:
        return [a.secret for a in ChannelAccount.objects.filter(
            workspace_id=workspace_id, kind__in=(Channel.SMS, Channel.WHATSAPP), is_active=True)
            if a.config.get("account_sid") == account_sid]
    finally:
        close_old_connections()


# ---- reading it ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxItem:
    id: str  # the file's name
    channel: str
    at: datetime
    sender: str
    to: str
    subject: str
    body: str


def outbox_items(workspace_id: int, *, limit: int = MAX_ITEMS) -> list[OutboxItem] | None:
    """What the workspace's local outbox kept, newest first; None when it has none."""
    directory = outbox_dir(workspace_id)
    if not directory.is_dir():
        return None
    files = sorted((p for p in directory.iterdir() if p.suffix in (".eml", ".json")), reverse=True)[:limit]
    return [item for item in map(_read, files) if item is not None]


def _read(path: Path) -> OutboxItem | None:
    try:
        if path.suffix == ".json":
            text = json.loads(path.read_text())
            return OutboxItem(path.name, text["channel"], datetime.fromisoformat(text["at"]), text["from"], text["to"],
                              "", text["body"])
        mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = mail.get_body(preferencelist=("plain", "html"))
        return OutboxItem(path.name, Channel.EMAIL, _mail_date(mail, path), str(mail["From"] or ""),
                          str(mail["To"] or ""), str(mail["Subject"] or ""), body.get_content() if body else "")
    except (OSError, ValueError, KeyError, LookupError) as problem:
        log.warning("Outbox item %s cannot be read: %s", path.name, problem)
        return None


def _mail_date(mail, path: Path) -> datetime:
    """The mail's Date; "-0000" (a time in UTC, zone unknown) reads as UTC."""
    try:
        at = parsedate_to_datetime(str(mail["Date"]))
    except (TypeError, ValueError):
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)
