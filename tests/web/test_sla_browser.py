"""An SLA breach in a real browser: the agent has the conversation open when its first response target
passes; without a reload the pane turns the target red and the top bar counts a new notification,
within the strict CSP."""

import os
import threading
from datetime import timedelta

import pytest

from tests.conftest import Desk
from tests.web.test_browser import Agent, browser, server  # noqa: F401 - fixtures
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content, receive_message
from touchpoint.core.clock import now
from touchpoint.routing import services as routing

pytestmark = pytest.mark.browser


def in_thread(fn):
    """Database work from the test while Playwright's loop runs in this thread (Django refuses it here)."""
    result: dict = {}
    worker = threading.Thread(target=lambda: result.setdefault("value", fn()))
    worker.start()
    worker.join(20)
    return result["value"]


@pytest.fixture
def assigned_chat(server) -> tuple[Desk, int]:  # noqa: F811 - the fixture imported above
    desk = Desk("acme")
    routing.save_sla_policy(actor=desk.supervisor_actor, name="Chats", channels=["webchat"], first_response_s=3600,
                            business_hours=False)
    message, _ = receive_message(workspace_id=desk.id, channel="webchat", sender=("email", "maria@example.com"),
                                 sender_name="Maria Garcia", content=Content(text="Is anyone there?"))
    conversations.assign(actor=desk.supervisor_actor, conversation=message.conversation, assignee=desk.agent)
    return desk, message.conversation_id


def test_a_breach_turns_the_pane_red_and_notifies_without_a_reload(server, assigned_chat, browser):  # noqa: F811
    from playwright.sync_api import expect

    desk, conversation_id = assigned_chat
    ana = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    page = ana.page
    page.goto(f"{server}/conversations/{conversation_id}/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    target = page.locator('.sla-bar [data-sla-target="First response"]')
    expect(target).to_have_attribute("data-sla-state", "on_track")
    expect(page.locator("#notifications summary")).to_have_text("Notifications")
    page.evaluate("window.__sameDocument = true")

    in_thread(lambda: routing.check_slas(at=now() + timedelta(hours=2)))

    expect(target).to_have_attribute("data-sla-state", "breached", timeout=8_000)
    expect(page.locator("#notifications .count")).to_have_text("1", timeout=8_000)
    page.locator("#notifications summary").click()
    item = page.locator("#notifications .notification.unread")
    expect(item).to_contain_text("First response SLA breached")
    if os.environ.get("SLA_SCREENSHOT"):
        page.screenshot(path=os.environ["SLA_SCREENSHOT"])
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#notifications .count")).to_have_count(0)
    expect(page.locator("#notifications")).to_have_attribute("open", "")  # the menu stays open
    assert page.evaluate("window.__sameDocument") is True  # swapped in, not reloaded
    assert ana.problems == []  # no script error, no CSP violation
    ana.context.close()
