"""Every incoming mail, however it came (SMTP server, IMAP poll, provider webhook), goes through
`ingest_mime`: one code path, one transaction, idempotent by Message-ID."""

import logging
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction

from touchpoint.channels.email.loops import automatic_reason, failed_delivery
from touchpoint.channels.email.models import InboundEmail, Outcome
from touchpoint.channels.email.parsing import ParsedEmail, parse, short_id
from touchpoint.channels.email.quotes import strip_quoted_html, strip_quotes
from touchpoint.channels.email.threading import base_address, conversation_for
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel, Message, MessageKind
from touchpoint.conversations.services import Content, receive_message, record_delivery
from touchpoint.core.clock import now
from touchpoint.core.errors import ValidationFailed
from touchpoint.customers.identities import normalize
from touchpoint.customers.services import resolve_customer

log = logging.getLogger(__name__)

# The database is busy or away: the mail was not stored and the sender should try again
# (SMTP 451, webhook 503, the next IMAP poll).
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
_REPLY_SUBJECT_RE = re.compile(r"^\s*(re|aw|sv|vs|antw|réf)\s*:", re.I)


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # an Outcome, or "duplicate" for a mail taken before
    reason: str = ""
    message: Message | None = None

    @property
    def conversation_id(self) -> int | None:
        return self.message.conversation_id if self.message else None


def account_for_recipient(address: str) -> ChannelAccount | None:
    """The active email account an address reaches: its own address, plus-addressed variants
    (support+billing@) and reply-token addresses (support+t42.<signature>@)."""
    if "@" not in address:
        return None
    return ChannelAccount.objects.filter(kind=Channel.EMAIL, is_active=True,
                                         address__iexact=base_address(address)).first()


def ingest_mime(raw: bytes, recipient: str | None, account: ChannelAccount, *,
                envelope_sender: str | None = None) -> IngestResult:
    """Store one mail as it arrived at `account` (addressed to `recipient`, when known).

    Returns once the outcome is committed. Raises one of TRANSIENT_ERRORS when the database cannot
    take it now; any other outcome, a refusal included, is final and recorded.
    """
    if len(raw) > settings.EMAIL_MAX_MESSAGE_BYTES:
        limit_mb = settings.EMAIL_MAX_MESSAGE_BYTES // (1024 * 1024)
        return IngestResult(Outcome.REJECTED, f"The mail is {len(raw) / 1048576:.1f} MB; the limit is {limit_mb} MB.")
    parsed = parse(raw)
    # A mail taken before (a replayed webhook, a mailbox polled again) fails on the unique index of
    # the originals, so the usual case, a new mail, costs no lookup first.
    try:
        with transaction.atomic():
            _bound_lock_waits()
            outcome, reason, message = _dispose(parsed, recipient, account, envelope_sender)
            _keep_original(raw, parsed, account, outcome, reason, message)
    except IntegrityError:
        taken = _taken_before(account, parsed.mail_id)
        if taken is None:
            raise
        return taken
    return IngestResult(outcome, reason, message)


def _taken_before(account: ChannelAccount, mail_id: str) -> IngestResult | None:
    earlier = (InboundEmail.objects.filter(workspace_id=account.workspace_id, mail_id=mail_id).order_by()
               .values_list("outcome", "message_id").first())
    if earlier is None:
        return None
    outcome, message_id = earlier
    message = Message.objects.filter(pk=message_id).first() if message_id else None
    return IngestResult("duplicate", f"taken before ({outcome})", message)


def _bound_lock_waits() -> None:
    # A mail waiting on a lock holds an SMTP session open; past this the sender is asked to retry.
    # SQLite's own busy timeout bounds its waits already.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)",
                           [f"{int(settings.EMAIL_INGEST_LOCK_TIMEOUT_S * 1000)}ms"])


def _dispose(parsed: ParsedEmail, recipient: str | None, account: ChannelAccount,
             envelope_sender: str | None) -> tuple[str, str, Message | None]:
    reason = automatic_reason(parsed, envelope_sender)
    if reason:
        failed = failed_delivery(parsed.message) if parsed.message is not None else None
        if failed is not None:
            marked = _mark_bounced(account, failed.mail_ids, failed.reason)
            return Outcome.BOUNCE, f"{reason}: {marked} of our messages marked failed", None
        return Outcome.IGNORED, reason, None
    try:
        sender = normalize("email", parsed.from_address)
    except ValidationFailed:
        return Outcome.REJECTED, f"no sender address to answer ({parsed.from_address or 'none'})", None
    recipients = [r for r in [recipient or "", *parsed.recipients] if r]
    # A reply joins its thread's customer; any other mail, the customer who owns the address (a claim
    # typed into the chat widget is nobody's: this mail takes it over, see resolve_customer).
    conversation = conversation_for(account, parsed, recipients, sender)
    customer = conversation.customer if conversation is not None else resolve_customer(
        workspace_id=account.workspace_id, kind="email", value=sender, name=parsed.from_name)
    message, created = receive_message(
        workspace_id=account.workspace_id, channel=Channel.EMAIL, customer=customer, content=_content(parsed),
        external_id=parsed.mail_id, conversation=conversation, new_conversation=conversation is None,
        subject=parsed.subject, attachments=parsed.files, metadata=_metadata(parsed, recipient),
        channel_account_id=account.pk,
    )
    if not created:  # the id of a message we hold already: our own reply came back, or a replay
        return Outcome.IGNORED, "a message with this Message-ID is stored already", message
    return Outcome.STORED, "", message


def _content(parsed: ParsedEmail) -> Content:
    """The part the customer wrote this time. History is cut only from replies: a forwarded mail's
    quoted part is what the customer wants us to read."""
    is_reply = bool(parsed.in_reply_to or parsed.references or _REPLY_SUBJECT_RE.match(parsed.subject))
    text = strip_quotes(parsed.text, history=is_reply) if parsed.text else ""
    html = strip_quoted_html(parsed.html) if parsed.html and is_reply else parsed.html
    if not (text.strip() or html.strip() or parsed.files):
        text = parsed.subject  # a mail with only a subject line says it there
    return Content(text=text, html=html)


def _metadata(parsed: ParsedEmail, recipient: str | None) -> dict:
    email = {
        "from": parsed.from_address, "to": parsed.recipients[:20], "recipient": recipient or "",
        "subject": parsed.subject, "date": parsed.date, "in_reply_to": parsed.in_reply_to[:5],
        "references": parsed.references,
    }
    if parsed.dropped:
        email["dropped_files"] = parsed.dropped
    return {"email": email}


def _mark_bounced(account: ChannelAccount, mail_ids: list[str], reason: str) -> int:
    ours = Message.objects.filter(workspace_id=account.workspace_id, channel=Channel.EMAIL, kind=MessageKind.OUTGOING,
                                  external_id__in=[short_id(i) for i in mail_ids])
    for message in ours:
        record_delivery(message=message, status="failed", error=reason)
    return len(ours)


def _keep_original(raw: bytes, parsed: ParsedEmail, account: ChannelAccount, outcome: str, reason: str,
                   message: Message | None) -> InboundEmail:
    record = InboundEmail(
        workspace_id=account.workspace_id, account=account, message=message, mail_id=parsed.mail_id,
        sender=parsed.from_address[:320], subject=parsed.subject[:255], size=len(raw), outcome=outcome,
        reason=reason[:255], received_at=now(),
    )
    record.raw.save(f"{uuid.uuid4().hex}.eml", ContentFile(raw), save=False)
    try:
        record.save()  # a duplicate (the same mail, taken before) fails the caller's whole transaction
    except IntegrityError:
        record.raw.delete(save=False)
        raise
    return record
