"""Customer-supplied HTML is untrusted: it is cleaned once on the way in and escaped on the way out."""

import html
import re

import nh3

_TAGS = {"a", "b", "blockquote", "br", "code", "div", "em", "i", "li", "ol", "p", "pre", "span", "strong", "u", "ul"}
_TAG_RE = re.compile(r"<[^>]+>")
_BLOCK_RE = re.compile(r"</?(p|div|br|li|blockquote|pre)[^>]*>", re.I)
_SPACE_RE = re.compile(r"[ \t]+")


def sanitize_html(value: str) -> str:
    """Keep formatting, drop script, event handlers, styles and any URL scheme but http(s)/mailto."""
    return nh3.clean(
        value,
        tags=_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def text_to_html(value: str) -> str:
    """Plain text from a customer or agent, as safe HTML paragraphs."""
    escaped = html.escape(value.strip())
    return "<p>" + escaped.replace("\n", "<br>") + "</p>"


def html_to_text(value: str) -> str:
    """A plain-text rendering for search, previews and channels without HTML."""
    with_breaks = _BLOCK_RE.sub("\n", value)
    text = html.unescape(_TAG_RE.sub("", with_breaks))
    lines = [_SPACE_RE.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)
