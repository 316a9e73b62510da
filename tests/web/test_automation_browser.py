"""Canned replies and macros in a real browser: "/ref" in the composer, the reply chosen, filled in and
sent; then a macro from the Macros menu, confirmed, tags the conversation and sets it pending."""

import pytest

from tests.conftest import Desk
from tests.web.test_browser import Agent, browser, customer_writes, server  # noqa: F401 - fixtures
from touchpoint.automation import services
from touchpoint.conversations.models import Conversation
from touchpoint.customers.services import update_customer

pytestmark = pytest.mark.browser


def _desk_with_automation(name: str = "Maria Garcia") -> int:
    desk = Desk("acme")
    conversation_id = customer_writes(desk, text="I sent the parcel back, where is my money?")
    customer = Conversation.objects.get(pk=conversation_id).customer
    update_customer(actor=desk.admin_actor, customer=customer, name=name, custom_attributes={"order_number": "A-1001"})
    services.create_canned_reply(actor=desk.supervisor_actor, shortcut="refund-policy", title="Refund policy",
                                 body="Hi {{customer.first_name|there}}, your refund for order {{order.number}} "
                                      "is on its way.")
    services.create_canned_reply(actor=desk.supervisor_actor, shortcut="late", title="Late parcel", body="Sorry!")
    services.create_macro(actor=desk.supervisor_actor, name="Refund sent", description="After a refund",
                          actions=[{"type": "tag", "tags": ["refund"]}, {"type": "status", "status": "pending"}])
    return conversation_id


@pytest.fixture
def refund_question(server) -> int:  # noqa: F811 - the fixture imported above
    return _desk_with_automation()


@pytest.fixture
def hostile_name(server) -> int:  # noqa: F811
    return _desk_with_automation(name='<img/src=x/onerror=window.__xss=1>')


def test_a_canned_reply_typed_as_slash_ref_is_sent_then_a_macro_tags_and_pends(server, refund_question, browser):  # noqa: F811
    from playwright.sync_api import expect

    conversation_id = refund_question
    ana = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    page = ana.page
    page.click(f"#conv-row-{conversation_id} .conv-link")
    expect(page.locator("#conversation")).to_have_attribute("data-conversation-id", str(conversation_id))

    composer = page.locator("#composer textarea")
    composer.click()
    composer.press_sequentially("/ref")
    menu = page.locator("#canned-menu")
    expect(menu).to_be_visible()
    expect(menu.locator(".canned-option")).to_have_count(1)
    expect(menu.locator(".canned-option").first).to_contain_text("/refund-policy")
    expect(menu.locator(".canned-option").first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(composer).to_have_value("Hi Maria, your refund for order A-1001 is on its way.")
    expect(menu).to_be_hidden()

    page.keyboard.press("Control+Enter")
    expect(page.locator("#thread .msg-outgoing").last).to_contain_text("Hi Maria, your refund for order A-1001")

    # A click picks too, and the reply goes where the "/word" was.
    composer = page.locator("#composer textarea")
    composer.click()
    composer.press_sequentially("P.S. /lat")
    page.locator("#canned-menu .canned-option", has_text="/late").click()
    expect(composer).to_have_value("P.S. Sorry!")
    composer.fill("")

    page.click("#conv-header details.macros > summary")
    item = page.locator("#conv-header .macro-list button", has_text="Refund sent")
    item.click()
    dialog = page.locator("#macro-confirm")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".macro-steps li")).to_have_text(["Tags: add refund", "Status: Pending"])
    dialog.get_by_role("button", name="Apply").click()
    expect(page.locator("#conv-header [data-status]")).to_have_text("Pending")
    expect(page.locator("#conv-header .tags-bar .tag")).to_contain_text("refund")
    expect(page.locator("#thread .msg-event").last).to_contain_text("set it to pending")
    expect(page.locator("#flash")).to_contain_text("Applied “Refund sent”.")
    assert ana.problems == []  # no script error, no CSP violation
    ana.context.close()


def test_a_hostile_customer_name_is_inserted_as_text(server, hostile_name, browser):  # noqa: F811
    from playwright.sync_api import expect

    ana = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    page = ana.page
    page.click(f"#conv-row-{hostile_name} .conv-link")
    composer = page.locator("#composer textarea")
    composer.click()
    composer.press_sequentially("/refund")
    expect(page.locator("#canned-menu .canned-option").first).to_be_visible()
    page.keyboard.press("Tab")
    expect(composer).to_have_value("Hi <img/src=x/onerror=window.__xss=1>, your refund for order A-1001 is on its way.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#thread .msg-outgoing").last).to_contain_text("Hi <img/src=x/onerror=window.__xss=1>,")
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#thread img, #composer img, #canned-menu img").count() == 0
    assert ana.problems == []
    ana.context.close()
