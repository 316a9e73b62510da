"""The agent workspace in a real browser (Chromium through Playwright) against the real ASGI app,
served by uvicorn on a free port in a thread of the test process, on the test database."""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from tests.conftest import Desk, skip_or_fail
from touchpoint.conversations.services import Content, receive_message

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(transactional_db) -> Iterator[str]:
    import uvicorn

    from touchpoint.asgi import application

    # The server's threads must not keep connections open past the test (the test database is
    # dropped at the end of the run), so each closes its connection when a request ends.
    default = connections.settings["default"]
    saved_age = default.get("CONN_MAX_AGE", 0)
    default["CONN_MAX_AGE"] = 0
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)
    default["CONN_MAX_AGE"] = saved_age


@pytest.fixture
def worker(server):
    """The task worker, as `touchpoint serve` runs it in-process: replies are delivered here."""
    from touchpoint.core.worker import make_task_worker

    task_worker = make_task_worker(interval=0.1)

    def run() -> None:
        try:
            task_worker.run()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    task_worker.running = False
    thread.join(10)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Agent:
    """One person in their own browser context (own cookies), with what went wrong in their page."""

    def __init__(self, browser, base: str, email: str, password: str) -> None:
        self.context = browser.new_context(viewport={"width": 1440, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"error: {error}"))
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.base = base
        self.page.goto(f"{base}/login/")
        self.page.fill("#login-email", email)
        self.page.fill("#login-password", password)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_url(f"{base}/")
        self.wait_live()

    def wait_live(self) -> None:
        self.page.wait_for_selector('#live-state[data-state="live"]')


def customer_writes(desk: Desk, **content) -> int:
    message, _ = receive_message(workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
                                 sender_name="Maria Garcia", subject="Parcel", content=Content(**content))
    return message.conversation_id


# Data is made before the browser starts: Playwright's sync API runs an event loop in this thread,
# and Django rightly refuses database work from a thread with a running loop.


@pytest.fixture
def parcel_question(server) -> int:
    return customer_writes(Desk("acme"), text="My parcel has not arrived.")


@pytest.fixture
def hostile_question(server) -> int:
    desk = Desk("acme")
    conversation_id = customer_writes(desk, html=(
        '<p>Hello <script>window.__xss = "script"</script>'
        '<img src="x" onerror="window.__xss = \'img\'; alert(1)">'
        '<a href="javascript:window.__xss = \'link\'; alert(2)">track my order</a>'
        '<b onmouseover="window.__xss = \'hover\'">bold</b></p>'
    ))
    receive_message(workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
                    content=Content(text='<script>window.__xss = "text"</script><img src=x onerror=alert(3)>'))
    return conversation_id


def test_a_reply_and_a_resolve_reach_another_agent_live_with_who_is_viewing(server, parcel_question, browser):
    from playwright.sync_api import expect

    conversation_id = parcel_question
    ana = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    ben = Agent(browser, server, "ben@acme.test", "agent-pass-2")

    # Ben looks at every conversation and opens this one; the page must never reload from here on.
    ben.page.goto(f"{server}/?view=all")
    ben.wait_live()
    ben.page.click(f"#conv-row-{conversation_id} .conv-link")
    expect(ben.page.locator("#conversation")).to_have_attribute("data-conversation-id", str(conversation_id))
    ben.page.evaluate("window.__sameDocument = true")

    # Ana opens it with the keyboard: Ben sees her as viewing, and she sees him.
    ana.page.keyboard.press("j")
    ana.page.keyboard.press("Enter")
    expect(ana.page.locator("#conversation")).to_have_attribute("data-conversation-id", str(conversation_id))
    expect(ben.page.locator("#viewers")).to_have_text("Ana acme is viewing")
    expect(ana.page.locator("#viewers")).to_have_text("Ben acme is viewing")

    # Ana replies (r focuses the composer, Ctrl+Enter sends).
    ana.page.keyboard.press("r")
    ana.page.keyboard.type("It left our warehouse this morning.")
    ana.page.keyboard.press("Control+Enter")
    expect(ana.page.locator("#thread .msg-outgoing")).to_contain_text("It left our warehouse this morning.")
    expect(ben.page.locator("#thread .msg-outgoing")).to_contain_text("It left our warehouse this morning.")
    expect(ben.page.locator(f"#conv-row-{conversation_id} .row-preview")).to_contain_text("It left our warehouse")

    # Ana leaves the composer (Esc) and resolves (e): Ben's row and header show it.
    ana.page.keyboard.press("Escape")
    ana.page.keyboard.press("e")
    expect(ana.page.locator("#conv-header [data-status]")).to_have_text("Resolved")
    expect(ben.page.locator(f"#conv-row-{conversation_id} .badge.st")).to_have_text("Resolved")
    expect(ben.page.locator("#conv-header [data-status]")).to_have_text("Resolved")
    expect(ben.page.locator("#thread .msg-event").last).to_contain_text("set it to resolved")

    # Ana leaves: Ben no longer sees her.
    ana.page.goto(f"{server}/search/")
    expect(ben.page.locator("#viewers")).to_have_text("")

    assert ben.page.evaluate("window.__sameDocument") is True  # all of it arrived without a reload
    assert ana.problems == [] and ben.problems == []  # no script error, no CSP violation
    ana.context.close()
    ben.context.close()


def test_hostile_customer_html_is_shown_but_never_runs(server, hostile_question, browser):
    from playwright.sync_api import expect

    conversation_id = hostile_question
    ana = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    ana.page.click(f"#conv-row-{conversation_id} .conv-link")
    thread = ana.page.locator("#thread")
    expect(thread).to_contain_text("Hello")
    expect(thread.get_by_text("track my order", exact=True)).to_be_visible()
    expect(thread).to_contain_text('<script>window.__xss = "text"</script>')  # plain text, shown as text
    thread.get_by_text("track my order", exact=True).click()
    thread.get_by_text("bold", exact=True).hover()
    ana.page.goto(f"{server}/conversations/{conversation_id}/")  # the full page renders the same thread
    ana.page.wait_for_timeout(300)

    assert ana.page.evaluate("typeof window.__xss") == "undefined"
    assert ana.dialogs == []
    assert ana.page.locator("#thread script, #thread [onerror], #thread [onmouseover]").count() == 0
    assert ana.page.locator('#thread a[href^="javascript"]').count() == 0
    ana.context.close()
