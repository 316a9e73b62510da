"""Article Markdown becomes safe HTML: script, event handlers and javascript: links never survive."""

import re

from touchpoint.knowledge.render import render_markdown


def test_markdown_renders_headings_lists_tables_and_links():
    rendered = render_markdown("# Returns\n\nSend it back within **30 days**.\n\n- one\n- two\n\n"
                               "| a | b |\n|---|---|\n| 1 | 2 |\n\n[Our policy](https://shop.example/returns)")
    assert "<h2>Returns</h2>" in rendered.html  # the page's own <h1> is the title
    assert "<strong>30 days</strong>" in rendered.html
    assert "<li>one</li>" in rendered.html and "<td>1</td>" in rendered.html
    assert '<a href="https://shop.example/returns" rel="noopener noreferrer nofollow">Our policy</a>' in rendered.html
    assert rendered.summary == "Send it back within 30 days."
    assert "Send it back within 30 days." in rendered.text


def test_script_is_text_and_handlers_and_javascript_links_are_gone():
    body = ('Hello <script>alert("x")</script>\n\n<img src=x onerror="alert(1)">\n\n'
            '[click](javascript:alert(2)) [data](data:text/html,<script>alert(3)</script>) '
            '<a href="javascript:alert(4)">raw</a> <b onmouseover="alert(5)">bold</b>\n\n'
            '![pic](javascript:alert(6))')
    html = render_markdown(body).html
    assert "<script" not in html
    assert re.search(r"<[^>]*\son\w+\s*=", html) is None  # no element carries an event handler
    assert "<img src=\"x\"" not in html  # raw HTML is shown as text, never as an element
    assert re.search(r'<(a|img)\b[^>]*(href|src)="(javascript|data):', html) is None
    assert "<a " not in html.replace("&lt;a ", "")  # neither link survives as an element
    assert "<b onmouseover" not in html
    assert "&lt;script&gt;" in html  # the visitor sees what was written, inert


def test_summary_is_the_first_paragraph_shortened_at_a_word():
    rendered = render_markdown("## Intro\n\n" + "word " * 200)
    assert rendered.summary.endswith("…") and len(rendered.summary) <= 300
    assert render_markdown("").summary == ""
