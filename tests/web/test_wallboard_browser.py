"""The wallboard in a real browser: a customer starts a chat nobody can take yet, and within a few
seconds the supervisor's board shows them waiting, without a reload and within the strict CSP."""

import threading
import time

import pytest

from tests.conftest import Desk
from tests.web.test_browser import Agent, browser, server  # noqa: F401 - fixtures
from touchpoint.conversations.services import Content, receive_message
from touchpoint.routing import services as routing
from touchpoint.routing.models import ContactState, QueuedContact

pytestmark = pytest.mark.browser


def in_thread(fn):
    """Database work from the test while Playwright's loop runs in this thread (Django refuses it here)."""
    result: dict = {}
    worker = threading.Thread(target=lambda: result.setdefault("value", fn()))
    worker.start()
    worker.join(20)
    return result["value"]


@pytest.fixture
def chat_queue(server) -> tuple[Desk, int]:  # noqa: F811 - the fixture imported above
    desk = Desk("acme")
    queue = routing.save_queue(actor=desk.supervisor_actor, name="Web chat", channels=["webchat"])
    return desk, queue.pk


def test_a_new_waiting_contact_reaches_the_wallboard_without_a_reload(server, chat_queue, browser):  # noqa: F811
    from playwright.sync_api import expect

    desk, queue_id = chat_queue
    sam = Agent(browser, server, "sup@acme.test", "sup-pass-12")
    page = sam.page
    page.goto(f"{server}/wallboard/")
    card = page.locator(f"#queue-{queue_id}")
    expect(card.locator('[data-figure="waiting"]')).to_have_text("0")
    expect(card.locator('[data-figure="offered"]')).to_have_text("0")
    page.evaluate("window.__sameDocument = true")

    def customer_starts_a_chat() -> int:
        message, _ = receive_message(workspace_id=desk.id, channel="webchat", sender=("email", "maria@example.com"),
                                     sender_name="Maria Garcia", content=Content(text="Is anyone there?"))
        return message.conversation_id

    conversation_id = in_thread(customer_starts_a_chat)
    queued = in_thread(lambda: QueuedContact.objects.get(conversation_id=conversation_id).state)
    assert queued == ContactState.WAITING  # the router queued it: nobody is online
    started = time.monotonic()
    expect(card.locator('[data-figure="waiting"]')).to_have_text("1", timeout=8_000)
    shown_after = time.monotonic() - started
    expect(card.locator('[data-figure="offered"]')).to_have_text("1")
    assert shown_after < 7, f"the board took {shown_after:.1f} s"
    assert page.evaluate("window.__sameDocument") is True  # swapped in, not reloaded
    assert sam.problems == []  # no script error, no CSP violation
    sam.context.close()
