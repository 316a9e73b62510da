"""Failed replies in a real browser, live: a reply the workspace cannot send shows "Failed: <reason>"
with Retry; the admin follows the link, connects a mailbox, presses Retry and sees it sent. In the
demo, where replies go to the local outbox, a reply shows sent and then delivered by itself."""

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.channels.email.conftest import Sink, free_port
from tests.conftest import Desk
from tests.web.test_browser import Agent, browser, server, worker  # noqa: F401 - fixtures
from touchpoint.conversations.models import Conversation
from touchpoint.conversations.services import Content, receive_message

pytestmark = pytest.mark.browser
SHOTS = "/tmp"
# Screenshots leave the caret alone: hiding it writes a style attribute into inputs, which a live
# refresh then copies into the new markup, and the Content-Security-Policy rightly refuses that.


@pytest.fixture
def relay() -> Iterator[Sink]:
    """A mail relay on a free port, for the mailbox the admin connects."""
    box = Sink(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def question(server) -> int:  # noqa: F811
    desk = Desk("acme")
    message, _ = receive_message(workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
                                 sender_name="Maria Garcia", subject="Parcel",
                                 content=Content(text="My parcel has not arrived."))
    return message.conversation_id


def test_a_failed_reply_shows_why_and_retry_sends_it_once_the_channel_is_fixed(server, worker, question, relay,  # noqa: F811
                                                                               browser):  # noqa: F811
    from playwright.sync_api import expect

    nora = Agent(browser, server, "admin@acme.test", "admin-pass-1")
    page = nora.page
    page.goto(f"{server}/conversations/{question}/")
    nora.wait_live()
    page.fill("#composer-text", "It left our warehouse this morning.")
    page.click("#composer button.primary")

    reply = page.locator("#thread .msg-outgoing").last
    expect(reply.locator(".delivery-state")).to_have_text("Failed: No active email account to send from.")
    expect(reply).to_have_class("msg msg-outgoing msg-failed")
    expect(page.locator(f"#conv-row-{question} .reply-failed")).to_have_text("Reply failed")
    reply.scroll_into_view_if_needed()
    page.screenshot(path=f"{SHOTS}/delivery-failed.png", caret="initial")

    reply.get_by_role("link", name="Fix the Email channel").click()
    page.wait_for_url(f"{server}/settings/channels/")
    expect(page.get_by_text("No active Email account")).to_be_visible()
    page.fill("#mailbox-name", "Support")
    page.fill("#mailbox-address", "support@acme.test")
    page.fill("#mailbox-host", "127.0.0.1")
    page.fill("#mailbox-port", str(relay.port))
    page.select_option("#mailbox-security", "none")
    page.click("text=Connect mailbox")
    expect(page.locator("table.grid").first).to_contain_text("support@acme.test")
    page.screenshot(path=f"{SHOTS}/delivery-channels.png", full_page=True, caret="initial")

    page.goto(f"{server}/conversations/{question}/")
    nora.wait_live()
    reply = page.locator("#thread .msg-outgoing").last
    reply.get_by_role("button", name="Retry").click()
    expect(reply.locator(".delivery-state")).to_have_text("Sent")
    expect(page.locator(f"#conv-row-{question} .reply-failed")).to_have_count(0)
    page.screenshot(path=f"{SHOTS}/delivery-sent.png", caret="initial")
    [(_, recipients, mail)] = relay.received
    assert recipients == ["maria@example.com"] and "It left our warehouse" in mail.get_body().get_content()
    assert nora.problems == [], nora.problems


@pytest.fixture
def demo_store(server, settings, tmp_path) -> Iterator[dict[str, int]]:  # noqa: F811
    """The demo loaded and its local outbox started, as `touchpoint serve` does; PUBLIC_BASE_URL unset,
    so the outbox takes the server's own address for Twilio's status callbacks."""
    from touchpoint import demo
    from touchpoint.demo_outbox import start_demo_outbox

    settings.PUBLIC_BASE_URL = ""
    settings.VAR_DIR = tmp_path
    demo.load_demo(customers=30, conversations=60)
    host, port = server.removeprefix("http://").split(":")
    outbox = start_demo_outbox(host=host, port=int(port))
    workspace = demo.demo_workspace()
    chosen = {channel: Conversation.objects.filter(workspace=workspace, channel=channel).order_by("-last_message_at")
              .values_list("pk", flat=True).first() for channel in ("email", "sms", "whatsapp")}
    assert all(chosen.values()), chosen
    yield chosen
    outbox.stop()


def test_in_the_demo_replies_go_out_and_show_sent_then_delivered(server, worker, demo_store, browser):  # noqa: F811
    from playwright.sync_api import expect

    ana = Agent(browser, server, "ana@northwind.example", "northwind-agent")
    page = ana.page
    for channel, final in (("sms", "Delivered"), ("whatsapp", "Read"), ("email", "Sent")):
        page.goto(f"{server}/conversations/{demo_store[channel]}/")
        ana.wait_live()
        page.fill("#composer-text", f"Thanks for waiting: your answer by {channel}.")
        page.click("#composer button.primary")
        reply = page.locator("#thread .msg-outgoing").last
        expect(reply).to_contain_text(f"your answer by {channel}")
        # The first reply may wait behind the demo load's own task (the knowledge base's embeddings).
        expect(reply.locator(".delivery-state")).to_have_text(final, timeout=45_000)
        page.screenshot(path=f"{SHOTS}/delivery-demo-{channel}.png", caret="initial")
    assert ana.problems == []
