"""Reading an incoming mail as it arrives, whatever its state.

Mail from the open internet is often broken: wrong or unknown charsets, cut boundaries, malformed
headers, parts nested without end. Nothing here raises on bad input: what can be read is kept, the
rest is noted. Archives are never opened (a zip bomb is just a small file), files outside the
accepted types or sizes are dropped with a note instead of refusing the whole mail.
"""

import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from django.conf import settings

from touchpoint.conversations.services import IncomingFile

_MSGID_RE = re.compile(r"<([^<>\s]{1,900})>")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass
class ParsedEmail:
    mail_id: str  # the Message-ID without <>, or a digest of the raw mail when it has none
    from_address: str = ""  # lower case, "" when no usable address was found
    from_name: str = ""
    recipients: list[str] = field(default_factory=list)  # To, Cc, Delivered-To, X-Original-To
    subject: str = ""
    date: str = ""  # as the sender's clock says, ISO 8601; informative only
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str = ""  # the text/plain body as written, quotes included
    html: str = ""  # the text/html body as written, unsanitized
    files: list[IncomingFile] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)  # files not kept: {"filename", "reason"}
    message: EmailMessage | None = None  # the parsed mail, for header checks; None when unparseable


def parse(raw: bytes) -> ParsedEmail:
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception:  # RecursionError on absurd nesting, or a parser bug: keep the bytes as text
        return ParsedEmail(mail_id=digest, text=decode_text(raw[:200_000], None))
    ids = message_ids(header(message, "Message-ID"))
    parsed = ParsedEmail(mail_id=short_id(ids[0]) if ids else digest, message=message)
    parsed.from_name, parsed.from_address = _first_address(message, "From")
    parsed.recipients = [a for name in ("To", "Cc", "Delivered-To", "X-Original-To") for _, a in addresses(message, name)]
    parsed.subject = clean_line(header(message, "Subject"))[:255]
    parsed.date = _date(header(message, "Date"))
    parsed.in_reply_to = message_ids(header(message, "In-Reply-To"))
    parsed.references = message_ids(header(message, "References"))[-50:]
    _read_body(message, parsed)
    return parsed


def short_id(mail_id: str) -> str:
    """A Message-ID as we store it: ids over 255 characters (legal, rare) by their digest."""
    if len(mail_id) > 255:
        return "sha256:" + hashlib.sha256(mail_id.encode()).hexdigest()
    return mail_id


# ---- headers -------------------------------------------------------------------------------------


def header(message: EmailMessage, name: str) -> str:
    """A header's decoded value, or "" ; a header the parser cannot read is decoded by hand."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:
        pass
    for key, raw_value in message.raw_items():
        if key.lower() == name.lower():
            try:
                return str(make_header(decode_header(str(raw_value))))
            except Exception:
                return str(raw_value).encode("ascii", "replace").decode()
    return ""


def addresses(message: EmailMessage, name: str) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs of an address header; unusable entries are skipped."""
    values = []
    try:
        values = [str(v) for v in message.get_all(name) or []]
    except Exception:
        values = [header(message, name)]
    pairs = []
    for display, address in getaddresses(values):
        address = address.strip().lower()
        if "@" in address and " " not in address and len(address) <= 320:
            pairs.append((clean_line(display)[:200], address))
    return pairs


def _first_address(message: EmailMessage, name: str) -> tuple[str, str]:
    pairs = addresses(message, name)
    return pairs[0] if pairs else ("", "")


def message_ids(value: str) -> list[str]:
    """The ids in a Message-ID, In-Reply-To or References header, without <>."""
    ids = _MSGID_RE.findall(value or "")
    if not ids and value and value.strip() and " " not in value.strip():
        ids = [value.strip()[:900]]  # a bare id some clients write without brackets
    return ids


def clean_line(value: str) -> str:
    """One line of text: CR, LF and other control characters become one space."""
    return _CONTROL_RE.sub(" ", value or "").strip()


def _date(value: str) -> str:
    try:
        return parsedate_to_datetime(value).isoformat() if value else ""
    except Exception:
        return ""


# ---- body and files ------------------------------------------------------------------------------


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes as text: the declared charset, else UTF-8, else Windows-1252 (which reads any byte)."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("cp1252", errors="replace")


def leaf_parts(message: EmailMessage) -> list[EmailMessage]:
    """The mail's non-multipart parts in order, at most EMAIL_MAX_PARTS of them. An attached mail
    (message/rfc822) is one part: its own text is not the sender's message."""
    leaves: list[EmailMessage] = []
    stack: list = [message]
    seen = 0
    while stack and seen < settings.EMAIL_MAX_PARTS:
        part = stack.pop()
        seen += 1
        if not isinstance(part, EmailMessage):
            continue
        try:
            is_container = part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), list)
        except Exception:
            is_container = False
        if is_container:
            stack.extend(reversed(part.get_payload()))
        else:
            leaves.append(part)
    return leaves


def _read_body(message: EmailMessage, parsed: ParsedEmail) -> None:
    texts, htmls = [], []
    kept_bytes = 0
    for number, part in enumerate(leaf_parts(message), start=1):
        try:
            content_type = part.get_content_type()
            disposition = part.get_content_disposition()
            filename = _filename(part)
        except Exception:
            content_type, disposition, filename = "application/octet-stream", "attachment", ""
        if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            (texts if content_type == "text/plain" else htmls).append(_part_text(part))
            continue
        if message.get_content_type() == "multipart/report" and content_type.startswith(("message/", "text/rfc822")):
            continue  # a delivery report's machine-readable parts: read by the bounce check, not files
        file = _file(part, number, filename, content_type)
        if file is None:
            continue
        reason = _refusal(file, kept_bytes)
        if reason:
            parsed.dropped.append({"filename": file.filename, "size": len(file.data), "reason": reason})
            continue
        kept_bytes += len(file.data)
        parsed.files.append(file)
    parsed.text = "\n\n".join(t for t in texts if t.strip())
    parsed.html = "\n".join(h for h in htmls if h.strip())


def _part_text(part: EmailMessage) -> str:
    try:
        data = part.get_payload(decode=True) or b""
    except Exception:
        data = str(part.get_payload()).encode("utf-8", "replace")
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_text(data, charset if isinstance(charset, str) else None)


def _filename(part: EmailMessage) -> str:
    name = part.get_filename() or ""
    return clean_line(str(name)).replace("/", "_").replace("\\", "_")[:200]


def _file(part: EmailMessage, number: int, filename: str, content_type: str) -> IncomingFile | None:
    try:
        if part.get_content_maintype() == "message":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else payload
            data = inner.as_bytes() if hasattr(inner, "as_bytes") else str(inner).encode("utf-8", "replace")
        else:
            data = part.get_payload(decode=True) or b""
    except Exception:
        return None
    if not data:
        return None
    if content_type in ("application/octet-stream", "") or content_type not in settings.ATTACHMENT_CONTENT_TYPES:
        guessed = mimetypes.guess_type(filename)[0] if filename else None
        content_type = guessed or content_type
    if not filename:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        filename = f"{'image' if content_type.startswith('image/') else 'attachment'}-{number}{extension}"
    return IncomingFile(filename=filename, content_type=content_type, data=data)


def _refusal(file: IncomingFile, kept_bytes: int) -> str:
    """Why a file cannot be kept, or "". The mail itself is still stored; the note tells the agent."""
    size = len(file.data)
    if size > settings.ATTACHMENT_MAX_BYTES:
        limit_mb = settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
        return f"{size / 1048576:.1f} MB is over the {limit_mb} MB limit for a file"
    if file.content_type not in settings.ATTACHMENT_CONTENT_TYPES:
        return f"files of type {file.content_type} are not accepted"
    if kept_bytes + size > settings.EMAIL_MAX_MESSAGE_BYTES:
        return "the mail's files together are over the size limit"
    return ""
