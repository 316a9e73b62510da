"""The help center and the composer's suggestions in a real browser (Chromium through Playwright):
script in an article's Markdown never runs, "Did this help?" works with JavaScript turned off, and
"Insert link" puts the article's title and address into the reply box."""

import pytest

from tests.conftest import Desk
from tests.web.test_browser import CHROMIUM_ARGS, Agent, browser, customer_writes, server  # noqa: F401 - fixtures
from touchpoint.knowledge import services

pytestmark = pytest.mark.browser

HOSTILE = (
    'Hello <script>window.__xss = "script"; alert(1)</script>\n\n'
    '<img src="x" onerror="window.__xss = \'img\'; alert(2)">\n\n'
    '[track my order](javascript:window.__xss=\'link\';alert(3)) and '
    '<a href="javascript:alert(4)">raw link</a> <b onmouseover="window.__xss = \'hover\'">bold</b>\n\n'
    '![picture](javascript:alert(5))'
)


def _help_center() -> Desk:
    desk = Desk("acme")
    services.create_article(actor=desk.supervisor_actor, title="Hostile article", body=HOSTILE, locale="en",
                            status="published")
    services.create_article(actor=desk.supervisor_actor, title="How to return an item", locale="en",
                            status="published", body="You can return unworn items within 30 days for a full refund.")
    return desk


@pytest.fixture
def hostile_article(server) -> Desk:  # noqa: F811 - the fixture imported above
    return _help_center()


def _visitor(browser, *, javascript: bool = True):  # noqa: F811
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return context, page, problems, dialogs


def test_script_in_article_markdown_never_runs(server, hostile_article, browser):  # noqa: F811
    context, page, problems, dialogs = _visitor(browser)
    page.goto(f"{server}/help/acme/en/articles/hostile-article/")
    body = page.locator(".hc-body")
    assert "<script>" in body.inner_text()  # shown as text
    page.hover(".hc-body p:nth-of-type(3)")
    for link in page.locator(".hc-body a").all():
        link.click(no_wait_after=True)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert dialogs == [] and problems == []
    assert page.locator(".hc-body script, .hc-body [onerror], .hc-body [onmouseover]").count() == 0
    assert page.locator('.hc-body a[href^="javascript"], .hc-body img[src^="javascript"]').count() == 0
    context.close()


def test_did_this_help_works_without_javascript(server, hostile_article, browser):  # noqa: F811
    context, page, problems, _ = _visitor(browser, javascript=False)
    page.goto(f"{server}/help/acme/")
    page.get_by_role("link", name="How to return an item").click()
    page.fill("#feedback-comment", "I wanted to know about exchanges")
    page.get_by_role("button", name="No").click()
    page.wait_for_url("**/how-to-return-an-item/?answered=1#feedback")
    assert page.get_by_text("Thank you for your answer.").is_visible()
    assert page.get_by_text("You answered No").is_visible()
    page.fill("#hc-q", "refund")
    page.locator(".hc-search button").click()
    page.wait_for_url("**/search/?q=refund")
    assert page.locator(".hc-results mark").first.inner_text().lower().startswith("refund")
    assert problems == []
    context.close()


@pytest.fixture
def return_question(server) -> int:  # noqa: F811
    desk = _help_center()
    return customer_writes(desk, text="Hello, how do I return my boots? They are too small.")


def test_insert_link_puts_the_article_into_the_reply(server, return_question, browser):  # noqa: F811
    from playwright.sync_api import expect

    ana = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    ana.page.goto(f"{server}/conversations/{return_question}/")
    suggestion = ana.page.locator(".kb-suggestion", has_text="How to return an item")
    expect(suggestion).to_be_visible()
    ana.page.fill("#composer-text", "Hi Maria, this explains it:")
    suggestion.locator(".kb-insert").click()
    expect(ana.page.locator("#composer-text")).to_have_value(
        f"Hi Maria, this explains it:\n\nHow to return an item: {server}/help/acme/en/articles/how-to-return-an-item/")
    ana.page.locator("#composer-text").press("Control+Enter")
    expect(ana.page.locator("#thread")).to_contain_text("How to return an item: ")
    assert ana.problems == []
