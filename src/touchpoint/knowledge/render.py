"""Article Markdown to the HTML pages show and the plain text search reads.

Two locks on the door, as for customer HTML (touchpoint.core.html): markdown-it-py renders with raw HTML
turned off (a `<script>` in the Markdown comes out as text) and refuses `javascript:` links, then nh3
cleans the result with an allow-list: no script, no event handlers, no styles, only http(s), mailto and
relative links, `rel="noopener noreferrer nofollow"` on every link. The help center's Content-Security-
Policy is the third lock."""

import html
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

from touchpoint.core.html import html_to_text

# What Markdown produces for a help article, beyond the tags customer messages may keep.
_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "i", "li", "ol", "p", "pre", "span", "strong", "u", "ul",
    "h2", "h3", "h4", "h5", "h6", "hr", "del", "s", "table", "thead", "tbody", "tr", "th", "td", "img",
}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
_URL_SCHEMES = {"http", "https", "mailto"}
_HEADING_RE = re.compile(r"<(/?)h1\b", re.I)
_PARAGRAPH_RE = re.compile(r"<p>(.*?)</p>", re.S)

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_markdown.enable("strikethrough")


@dataclass(frozen=True)
class Rendered:
    html: str  # sanitized
    text: str  # plain, one block per line
    summary: str  # the first paragraph as plain text, at most SUMMARY_MAX characters


SUMMARY_MAX = 300


def render_markdown(body: str) -> Rendered:
    raw = _markdown.render(body)
    raw = _HEADING_RE.sub(r"<\1h2", raw)  # the page's <h1> is the article's title
    clean = nh3.clean(raw, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_URL_SCHEMES,
                      link_rel="noopener noreferrer nofollow")
    return Rendered(html=clean, text=html_to_text(clean), summary=first_paragraph(clean))


def first_paragraph(clean_html: str) -> str:
    """The first non-empty paragraph as text: what a search result, a meta description or the bot quotes."""
    for match in _PARAGRAPH_RE.finditer(clean_html):
        text = " ".join(html_to_text(match.group(1)).split())
        if text:
            return _shorten(text, SUMMARY_MAX)
    return _shorten(" ".join(html_to_text(clean_html).split()), SUMMARY_MAX)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def escape(text: str) -> str:
    return html.escape(text, quote=True)
