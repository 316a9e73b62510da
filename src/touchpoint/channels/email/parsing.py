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
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from django.conf import settings

from touchpoint.conversations.services import IncomingFile
from touchpoint.core.text import clean_data, clean_text

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
    # Top-level headers as sent (lower-case name → first value, unfolded, not decoded): enough for
    # ids, tokens and the automatic-mail checks, and much cheaper than parsing each header.
    headers: dict[str, str] = field(default_factory=dict)
    message: Message | None = None  # the parsed mail; None when unparseable


def parse(raw: bytes) -> ParsedEmail:
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        # The classic (compat32) model: about seven times cheaper than the modern one, which builds a
        # parsed object for every header read. Headers are decoded here, where they are read.
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
    except Exception:  # RecursionError on absurd nesting, or a parser bug: keep the bytes as text
        return _storable(ParsedEmail(mail_id=digest, text=decode_text(raw[:200_000], None)))
    headers = _raw_headers(message)
    ids = message_ids(headers.get("message-id", ""))
    parsed = ParsedEmail(mail_id=short_id(ids[0]) if ids else digest, headers=headers, message=message)
    senders = _addresses([headers.get("from", "")])
    parsed.from_name, parsed.from_address = senders[0] if senders else ("", "")
    parsed.recipients = [a for _, a in _addresses([headers.get(n, "") for n in ("to", "cc", "delivered-to", "x-original-to")])]
    parsed.subject = clean_line(header(message, "Subject"))[:255] if "subject" in headers else ""
    parsed.date = _date(headers.get("date", ""))
    parsed.in_reply_to = message_ids(headers.get("in-reply-to", ""))
    parsed.references = message_ids(headers.get("references", ""))[-50:]
    _read_body(message, parsed)
    return _storable(parsed)


def _storable(parsed: ParsedEmail) -> ParsedEmail:
    """Every text read from the mail without NUL or lone surrogates (an undecodable header byte is
    kept by the parser as one), as the database can store it: a mail is never lost for them."""
    for name in ("mail_id", "from_address", "from_name", "subject", "date", "text", "html"):
        setattr(parsed, name, clean_text(getattr(parsed, name)))
    for name in ("recipients", "in_reply_to", "references", "dropped"):
        setattr(parsed, name, clean_data(getattr(parsed, name)))
    return parsed


def short_id(mail_id: str) -> str:
    """A Message-ID as we store it: ids over 255 characters (legal, rare) by their digest."""
    if len(mail_id) > 255:
        return "sha256:" + hashlib.sha256(mail_id.encode()).hexdigest()
    return mail_id


# ---- headers -------------------------------------------------------------------------------------


def _raw_headers(message: Message) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in message.raw_items():
        # Raw 8-bit bytes (SMTPUTF8 mail, or a broken client) arrive surrogate-escaped: read them as UTF-8.
        text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        headers.setdefault(name.lower(), " ".join(text.split()))
    return headers


def header(message: Message, name: str) -> str:
    """A header's decoded value (encoded words read, lines unfolded), or ""."""
    value = message.get(name)
    if value is None:
        return ""
    # Raw 8-bit bytes (SMTPUTF8 mail, or a broken client) arrive surrogate-escaped: read them as UTF-8.
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return decode_words(" ".join(text.split()))


def decode_words(value: str) -> str:
    """RFC 2047 encoded words (=?utf-8?q?...?=) as text; anything undecodable as it stands."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value.encode("ascii", "replace").decode()


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs of raw address headers; unusable entries are skipped."""
    pairs = []
    for display, address in getaddresses([v for v in values if v]):
        address = address.strip().lower()
        if "@" in address and " " not in address and len(address) <= 320:
            pairs.append((clean_line(decode_words(display))[:200], address))
    return pairs


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


@dataclass
class Part:
    """One non-multipart part, its MIME headers read once (each read of a header parses it anew)."""

    part: Message
    content_type: str = "text/plain"
    charset: str | None = None
    disposition: str | None = None
    filename: str = ""


def _describe(part: Message) -> Part:
    described = Part(part=part, content_type=part.get_default_type())
    try:
        described.content_type = part.get_content_type()
        charset = part.get_param("charset")
        described.charset = charset if isinstance(charset, str) else None
        described.disposition = part.get_content_disposition()
        name = decode_words(str(part.get_filename() or ""))  # filename=, else the type's name=
        described.filename = clean_line(name).replace("/", "_").replace("\\", "_")[:200]
    except Exception:
        described.content_type, described.disposition = "application/octet-stream", "attachment"
    return described


def leaf_parts(message: Message) -> list[Part]:
    """The mail's non-multipart parts in order, at most EMAIL_MAX_PARTS of them. An attached mail
    (message/rfc822) is one part: its own text is not the sender's message."""
    leaves: list[Part] = []
    stack: list = [message]
    seen = 0
    while stack and seen < settings.EMAIL_MAX_PARTS:
        part = stack.pop()
        seen += 1
        if not isinstance(part, Message):
            continue
        described = _describe(part)
        if described.content_type.startswith("multipart/") and part.is_multipart():
            stack.extend(reversed(part.get_payload()))
        else:
            leaves.append(described)
    return leaves


def _read_body(message: Message, parsed: ParsedEmail) -> None:
    texts, htmls = [], []
    kept_bytes = 0
    is_report = message.get_content_type() == "multipart/report"
    for number, leaf in enumerate(leaf_parts(message), start=1):
        content_type = leaf.content_type
        if content_type in ("text/plain", "text/html") and leaf.disposition != "attachment" and not leaf.filename:
            (texts if content_type == "text/plain" else htmls).append(part_text(leaf))
            continue
        if is_report and content_type.startswith(("message/", "text/rfc822")):
            continue  # a delivery report's machine-readable parts: read by the bounce check, not files
        file = _file(leaf, number)
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


def part_text(leaf: Part) -> str:
    try:
        data = leaf.part.get_payload(decode=True) or b""
    except Exception:
        data = str(leaf.part.get_payload()).encode("utf-8", "replace")
    if not isinstance(data, bytes):
        data = b""
    return decode_text(data, leaf.charset)


def _file(leaf: Part, number: int) -> IncomingFile | None:
    content_type, filename = leaf.content_type, leaf.filename
    try:
        if content_type.startswith("message/"):
            payload = leaf.part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else payload
            data = inner.as_bytes() if hasattr(inner, "as_bytes") else str(inner).encode("utf-8", "replace")
        else:
            data = leaf.part.get_payload(decode=True) or b""
    except Exception:
        return None
    if not data or not isinstance(data, bytes):
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
