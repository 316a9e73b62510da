"""Cutting a reply down to what the customer wrote this time.

Mail clients append the whole history under every reply ("On ... wrote:", "> " lines, Outlook's
"-----Original Message-----" or "From: ... Sent: ..." block) and a signature. The conversation already
holds the history, so the stored message keeps only the new part; the original mail is kept whole
(InboundEmail.raw). When cutting would leave nothing, the text is kept as it came.
"""

import re
from html.parser import HTMLParser

_WROTE = r"(wrote|a écrit|schrieb|escribió|ha scritto|schreef|escreveu|skrev|napisał)\s*:\s*$"
_ATTRIBUTION_RE = re.compile(r"^(on|le|am|el|il|op|em|den|w dniu)\s.{0,300}" + _WROTE, re.I)
_ORIGINAL_RE = re.compile(r"^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine)",
                          re.I)
_OUTLOOK_FROM_RE = re.compile(r"^\*?(from|von|de)\s*:\*?\s", re.I)
_OUTLOOK_NEXT_RE = re.compile(r"^\*?(sent|date|to|subject|gesendet|envoyé|an|objet|betreff)\s*:", re.I)
_UNDERSCORES_RE = re.compile(r"^_{20,}\s*$")
_SIGNATURE_RE = re.compile(r"^(-- ?|—)$")
_MOBILE_RE = re.compile(
    r"^(sent from my \w[\w ]{0,30}|sent from (mail|outlook|yahoo mail|gmail)\b.*|get outlook for \w+.*"
    r"|envoyé de mon \w+|von meinem \w+ gesendet)$", re.I)


def strip_quotes(text: str, *, history: bool = True) -> str:
    """The text without its signature and, when `history`, without the quoted history."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if (history and _starts_history(lines, index)) or _starts_signature(line):
            break
        if history and line.lstrip().startswith(">"):
            continue  # quoted lines, also between inline answers
        kept.append(line)
    result = "\n".join(kept).strip()
    return result or text.strip()


def _starts_history(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if not line:
        return False
    if _ORIGINAL_RE.match(line):
        return True
    if _ATTRIBUTION_RE.match(line):
        return True
    # "On Tue, 3 Jan 2025 at 10:00, Ana <ana@example.com> wrote:" is often wrapped over two lines;
    # a date (digits) and an address tell it from a sentence that happens to start with "On".
    if index + 1 < len(lines):
        pair = f"{line} {lines[index + 1].strip()}"
        if _ATTRIBUTION_RE.match(pair) and re.search(r"\d", line) and "@" in pair:
            return True
    if _UNDERSCORES_RE.match(line):
        following = [p.strip() for p in lines[index + 1:index + 4] if p.strip()]
        return bool(following) and bool(_OUTLOOK_FROM_RE.match(following[0]))
    if _OUTLOOK_FROM_RE.match(line):
        following = [p.strip() for p in lines[index + 1:index + 4] if p.strip()]
        return any(_OUTLOOK_NEXT_RE.match(p) for p in following)
    return False


def _starts_signature(line: str) -> bool:
    return bool(_SIGNATURE_RE.match(line.rstrip("\n")) or _MOBILE_RE.match(line.strip()))


# ---- HTML ------------------------------------------------------------------------------------------

# Where mail clients start the quoted history or the signature in HTML (classes and ids they write).
_HISTORY_CLASSES = {"gmail_quote", "gmail_signature", "moz-cite-prefix", "moz-signature", "yahoo_quoted",
                    "protonmail_quote", "zmail_extra", "ms-outlook-mobile-signature"}
_HISTORY_IDS = {"divrplyfwdmsg", "appendonsend", "stopspelling", "reply-intro", "signature", "ms-outlook-mobile-signature"}


class _HistoryFinder(HTMLParser):
    """Finds the offset where the quoted history or the signature begins."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.cut: int | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.cut is not None:
            return
        values = dict(attrs)
        classes = set((values.get("class") or "").lower().split())
        if (tag == "blockquote" or classes & _HISTORY_CLASSES or (values.get("id") or "").lower() in _HISTORY_IDS
                or (tag == "hr" and (values.get("id") or "").lower() == "stopspelling")):
            self.cut = self._offset()

    def handle_data(self, data: str) -> None:
        if self.cut is not None:
            return
        line = " ".join(data.split())
        if _ATTRIBUTION_RE.match(line) or _ORIGINAL_RE.match(line) or _MOBILE_RE.match(line) or line in ("--", "-- "):
            self.cut = self._offset()


def strip_quoted_html(html: str) -> str:
    """The HTML up to where the history starts; the sanitizer closes the tags left open."""
    finder = _HistoryFinder(html)
    try:
        finder.feed(html)
        finder.close()
    except Exception:
        return html
    if finder.cut is None or not html[:finder.cut].strip():
        return html
    return html[:finder.cut]
