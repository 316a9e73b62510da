"""Mail sent by machines: out-of-office replies, bounces, mailing lists.

Answering them (or opening a conversation an automation might answer) is how two systems end up
mailing each other forever, so they open nothing. A bounce of one of our own replies is still useful:
it marks that reply's delivery failed, so the agent sees the customer never got it.
"""

import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import HeaderParser

from touchpoint.channels.email.parsing import (
    ParsedEmail,
    decode_text,
    header,
    leaf_parts,
    message_ids,
    part_text,
)

_PRECEDENCE_AUTOMATIC = {"bulk", "junk", "list", "auto_reply"}
_AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder")
_LIST_HEADERS = ("list-id", "list-unsubscribe")
_SYSTEM_SENDERS = {"mailer-daemon", "postmaster"}
_MESSAGE_ID_LINE_RE = re.compile(r"^message-id:\s*(<[^<>\s]+>)", re.I | re.M)
_ACTION_RE = re.compile(r"^action:\s*(\w+)", re.I | re.M)
_DIAGNOSTIC_RE = re.compile(r"^(diagnostic-code|status):\s*(.+)$", re.I | re.M)


def automatic_reason(parsed: ParsedEmail, envelope_sender: str | None = None) -> str:
    """Why this mail was sent by a machine, or "" for a person's mail. `envelope_sender` is SMTP's
    MAIL FROM when known ("" or "<>" for the null sender that bounces use)."""
    headers = parsed.headers
    if envelope_sender is not None and envelope_sender.strip() in ("", "<>"):
        return "empty envelope sender (a bounce)"
    local_part = parsed.from_address.split("@")[0]
    if local_part in _SYSTEM_SENDERS:
        return f"sent by {local_part}"
    if headers.get("content-type", "").lower().startswith("multipart/report"):
        return "delivery report"
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted[:40]}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in _PRECEDENCE_AUTOMATIC:
        return f"Precedence: {precedence}"
    for name in _LIST_HEADERS:
        if headers.get(name):
            return f"mailing list ({name.title()})"
    for name in _AUTOREPLY_HEADERS:
        if headers.get(name, "").strip().lower() not in ("", "no"):
            return f"automatic reply ({name.title()})"
    if "return-path" in headers and headers["return-path"].replace(" ", "") in ("", "<>"):
        return "empty Return-Path (a bounce)"
    return ""


@dataclass(frozen=True)
class FailedDelivery:
    mail_ids: list[str]  # the Message-IDs of the mail that could not be delivered
    reason: str


def failed_delivery(message: Message) -> FailedDelivery | None:
    """What a bounce says failed: a delivery report (RFC 3464) or an older plain-text bounce that
    quotes the original headers. None for a report of a delay or a success."""
    actions: list[str] = []
    reasons: list[str] = []
    mail_ids: list[str] = []
    for leaf in leaf_parts(message):
        if leaf.content_type == "message/delivery-status":
            fields = _status_text(leaf.part)
            actions += [a.lower() for a in _ACTION_RE.findall(fields)]
            reasons += [f"{name}: {value.strip()}" for name, value in _DIAGNOSTIC_RE.findall(fields)]
        elif leaf.content_type in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            mail_ids += message_ids(header(_original_headers(leaf.part), "Message-ID"))
        elif leaf.content_type == "text/plain":
            text = part_text(leaf)
            mail_ids += [i for found in _MESSAGE_ID_LINE_RE.findall(text) for i in message_ids(found)]
    if actions and "failed" not in actions:
        return None
    if not mail_ids:
        return None
    reason = "; ".join(dict.fromkeys(reasons)) or "the receiving server returned the mail"
    return FailedDelivery(mail_ids=list(dict.fromkeys(mail_ids)), reason=f"Bounced: {reason}"[:500])


def _status_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # the parser reads each block of fields as a small message
        return "\n\n".join(str(block) for block in payload)
    return decode_text(part.get_payload(decode=True) or b"", None)


def _original_headers(part: Message) -> Message:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    text = decode_text(part.get_payload(decode=True) or b"", None) if not isinstance(payload, list) else ""
    return HeaderParser(policy=policy.compat32).parsestr(text)
