from hypothesis import given
from hypothesis import strategies as st

from touchpoint.core.html import html_to_text, sanitize_html, text_to_html

HOSTILE = [
    '<script>alert(1)</script>',
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '<svg onload=alert(1)>',
    '<iframe src="https://evil.example"></iframe>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<p style="background:url(javascript:alert(1))">x</p>',
]


def test_hostile_markup_is_removed():
    for sample in HOSTILE:
        clean = sanitize_html(sample).lower()
        for bad in ("<script", "onerror", "onload", "javascript:", "<iframe", "<svg", "style="):
            assert bad not in clean, (sample, clean)


def test_links_keep_safe_targets_with_rel():
    clean = sanitize_html('<a href="https://shop.example/orders/1">order</a>')
    assert 'href="https://shop.example/orders/1"' in clean and "noopener" in clean


def test_plain_text_is_escaped_and_round_trips():
    html = text_to_html("1 < 2 & <b>bold</b>\nnext line")
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert html_to_text(html) == "1 < 2 & <b>bold</b>\nnext line"


@given(st.text(max_size=300))
def test_sanitized_output_never_contains_a_script_tag(text):
    assert "<script" not in sanitize_html(text).lower()
    assert "<script" not in text_to_html(text).lower()
