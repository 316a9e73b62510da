"""The widget on a shop's page (another origin) and the agent workspace, both in Chromium, talking
live through the real ASGI app; the visitor's connection drops in the middle and nothing is lost or
doubled; script in the visitor's name or message never runs for the agent."""

import threading
from collections.abc import Iterator

import pytest

from tests.conftest import Desk
from tests.pages import serve_page
from tests.web.test_browser import Agent
from touchpoint.channels.webchat.services import create_widget
from touchpoint.conversations.models import Message

from .conftest import ALWAYS

pytestmark = pytest.mark.browser
HOSTILE_NAME = '<img src=x onerror="window.__xss=\'name\'">Lena'
HOSTILE_TEXT = "Hi! <script>window.__xss='text'</script><img src=x onerror=\"window.__xss='img'\"> where is my parcel?"


@pytest.fixture
def shop_widget(server):
    """Made before the browser starts (Playwright runs an event loop in this thread; Django refuses
    database work from such a thread)."""
    desk = Desk("acme")
    return create_widget(actor=desk.admin_actor, name="Shop", config={"business_hours": ALWAYS, "prechat": True})


def in_thread(fn):
    """A database read from the test while Playwright's loop runs in this thread."""
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("value", fn()))
    worker.start()
    worker.join(10)
    return result["value"]


@pytest.fixture
def shop(server, shop_widget) -> Iterator[str]:
    """The shop's own site: another origin (another port) on the same machine, with the one-line snippet."""
    html = (f'<!doctype html><html><head><title>Test shop</title></head><body><h1>Test shop</h1>'
            f'<script src="{server}/widget/v1/{shop_widget.address}.js" async></script></body></html>').encode()

    with serve_page(html) as address:
        yield address


class Shopper:
    """A visitor on the shop's site."""

    def __init__(self, browser, shop: str) -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 800})
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"error: {error}"))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(shop)

    def widget(self, selector: str):
        return self.page.locator(f"#touchpoint-widget {selector}")  # Playwright's CSS pierces the shadow root

    def write(self, text: str) -> None:
        box = self.widget(".tp-composer textarea").first
        box.fill(text)
        box.press("Enter")


def test_widget_and_agent_talk_live_across_a_dropped_connection(server, shop, browser):
    from playwright.sync_api import expect

    ana = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    ana.page.goto(f"{server}/?view=all")
    ana.wait_live()
    shopper = Shopper(browser, shop)

    # The pre-chat form, then the first message; both with script in them.
    shopper.widget(".tp-launcher").click()
    shopper.widget(".tp-prechat input[name=name]").fill(HOSTILE_NAME)
    shopper.widget(".tp-prechat input[name=email]").fill("lena@example.com")
    shopper.widget(".tp-prechat button[type=submit]").click()
    shopper.write(HOSTILE_TEXT)
    expect(shopper.widget(".tp-from-visitor .tp-text")).to_have_text(HOSTILE_TEXT)
    expect(shopper.widget(".tp-from-visitor.tp-pending")).to_have_count(0)  # acked

    # The agent sees it arrive, opens it: the name and text show as text.
    row = ana.page.locator("#conv-list .conv-row").first
    expect(row).to_contain_text("Lena")
    row.locator(".conv-link").click()
    expect(ana.page.locator("#thread .msg-incoming .msg-body")).to_have_text(HOSTILE_TEXT)
    expect(ana.page.locator("#conv-header h2")).to_contain_text(HOSTILE_NAME)

    # Typing shows both ways.
    # (Typing is a hint, sent at most every 2 s and lost if nobody is viewing yet: keep typing.)
    for _ in range(3):
        shopper.widget(".tp-composer textarea").press_sequentially("And ", delay=30)
        ana.page.wait_for_timeout(300)
        if ana.page.locator("#typing").filter(has_text="is typing…").count():
            break
        shopper.page.wait_for_timeout(2100)
    expect(ana.page.locator("#typing")).to_contain_text("is typing…")
    ana.page.locator("#composer-text").press_sequentially("Let me check", delay=30)
    expect(shopper.widget(".tp-typing")).to_have_text("Ana acme is typing…")
    ana.page.locator("#composer-text").fill("It left our warehouse this morning.")
    ana.page.locator("#composer-text").press("Control+Enter")
    expect(shopper.widget(".tp-from-agent .tp-text")).to_have_text("It left our warehouse this morning.")
    expect(shopper.widget(".tp-from-agent .tp-who")).to_have_text("Ana acme")

    # A note never reaches the widget.
    ana.page.locator("input[name=kind][value=note]").check()
    ana.page.locator("#composer-text").fill("Internal: carrier is late again")
    ana.page.locator("#composer-text").press("Control+Enter")
    expect(ana.page.locator("#thread .msg-note")).to_contain_text("carrier is late")

    # The line drops just as the shopper sends (the ack is lost with it), then goes down for a while:
    # meanwhile the agent answers and the shopper writes again.
    shopper.page.evaluate("""() => {
        const root = document.querySelector('#touchpoint-widget').shadowRoot;
        root.querySelector('.tp-composer textarea').value = 'Sent as the line dropped';
        root.querySelector('.tp-composer').requestSubmit();
        window.TouchpointWidget.socket.close();
    }""")
    expect(ana.page.locator("#thread .msg-incoming")).to_have_count(2)  # it did reach the server
    shopper.context.set_offline(True)
    shopper.page.evaluate("() => window.TouchpointWidget.socket && window.TouchpointWidget.socket.close()")
    ana.page.locator("input[name=kind][value=reply]").check()
    ana.page.locator("#composer-text").fill("Reply while you were away")
    ana.page.locator("#composer-text").press("Control+Enter")
    expect(ana.page.locator("#thread .msg-outgoing")).to_have_count(2)
    shopper.write("Written while offline")
    expect(shopper.widget(".tp-pending .tp-text").last).to_have_text("Written while offline")  # waits
    shopper.page.wait_for_timeout(1500)
    shopper.context.set_offline(False)

    # Back online: the unacked messages are resent (stored once), the missed reply is replayed (shown once).
    expect(shopper.widget(".tp-pending")).to_have_count(0, timeout=20_000)
    expect(shopper.widget(".tp-from-agent .tp-text")).to_have_text(
        ["It left our warehouse this morning.", "Reply while you were away"])
    expect(shopper.widget(".tp-from-visitor .tp-text")).to_have_text(
        [HOSTILE_TEXT, "Sent as the line dropped", "Written while offline"])
    expect(ana.page.locator("#thread .msg-incoming .msg-body")).to_have_text(
        [HOSTILE_TEXT, "Sent as the line dropped", "Written while offline"])
    shopper.page.wait_for_timeout(500)
    texts = in_thread(lambda: list(Message.objects.filter(kind="incoming").order_by("id")
                                   .values_list("content_text", flat=True)))
    assert texts == [HOSTILE_TEXT, "Sent as the line dropped", "Written while offline"]
    assert shopper.widget(".tp-msg").count() == 5
    assert "carrier is late" not in shopper.widget(".tp-messages").inner_text()

    # A reload shows the same history, once.
    shopper.page.reload()
    shopper.widget(".tp-launcher").click()
    expect(shopper.widget(".tp-msg")).to_have_count(5)

    for page in (ana.page, shopper.page):
        assert page.evaluate("typeof window.__xss") == "undefined"
    assert ana.page.locator("#thread script, #thread [onerror], #conv-header img").count() == 0
    assert ana.dialogs == [] and shopper.dialogs == []
    assert ana.problems == [] and shopper.problems == []
    ana.context.close()
    shopper.context.close()
