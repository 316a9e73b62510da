"""In Chromium, through the real ASGI app and the task worker: a signed-in shopper asks the widget for a
product and sees cards, asks for their order and gets it, taps "Talk to a person"; the agent's workspace
then shows the conversation with the bot's messages, its summary note and the "Bot summary" block.
No script error on either page."""

import threading
from collections.abc import Iterator

import pytest
from django.db import connections

from tests.bot.dialogue_helpers import enable_bot, stock_store
from tests.conftest import Desk
from tests.pages import serve_page
from tests.web.test_browser import Agent, browser, server  # noqa: F401  (the browser tests' fixtures)
from touchpoint.channels.webchat.services import create_widget, user_hash

pytestmark = pytest.mark.browser
ALWAYS = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def store_widget(server):  # noqa: F811
    """Made before the browser starts (Django refuses database work from Playwright's thread)."""
    from touchpoint.bot.services import forget_cached_models

    forget_cached_models()
    desk = Desk("acme")
    stock_store(desk)
    enable_bot(desk)
    return create_widget(actor=desk.admin_actor, name="Shop", config={"business_hours": ALWAYS})


@pytest.fixture
def worker(server):  # noqa: F811
    """The task worker, as `touchpoint serve` runs it in-process: the bot's turns run here."""
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
def shop(server, store_widget) -> Iterator[str]:  # noqa: F811
    """The shop's site on another origin, with Maria signed in (the snippet carries her signed user id)."""
    digest = user_hash(store_widget.secret, "shop-42")
    html = (f'<!doctype html><html><head><title>Northwind</title></head><body><h1>Northwind</h1>'
            f'<script src="{server}/widget/v1/{store_widget.address}.js" data-user-id="shop-42" '
            f'data-email="maria@example.com" data-name="Maria Garcia" data-user-hash="{digest}" async></script>'
            f'</body></html>').encode()

    with serve_page(html) as address:
        yield address


def test_a_shopper_gets_cards_and_their_order_then_a_person_with_the_summary(server, shop, worker,  # noqa: F811
                                                                            browser):  # noqa: F811
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"error: {error}"))
    page.goto(shop)

    def widget(selector: str):
        return page.locator(f"#touchpoint-widget {selector}")  # Playwright's CSS pierces the shadow root

    def write(text: str) -> None:
        box = widget(".tp-composer textarea").first
        box.fill(text)
        box.press("Enter")

    widget(".tp-launcher").click()
    expect(widget(".tp-greeting")).to_contain_text("the store's assistant")
    write("do you have black jackets?")
    cards = widget(".tp-from-bot .tp-card")
    expect(cards).to_have_count(2)
    expect(cards.first.locator(".tp-card-title a")).to_have_text("Ridgeline Jacket")
    expect(cards.first.locator(".tp-card-title a")).to_have_attribute(
        "href", "https://shop.example.com/p/ridgeline-jacket")
    expect(cards.first.locator(".tp-card-price")).to_have_text("$129.00")
    expect(cards.nth(1).locator(".tp-card-stock")).to_contain_text("Out of stock, back around")
    expect(widget(".tp-from-bot .tp-who").first).to_have_text("Nora")

    write("where is my order?")
    expect(widget(".tp-from-bot .tp-text").last).to_contain_text("Order NW-100234")
    expect(widget(".tp-from-bot .tp-text").last).to_contain_text("UPS parcel 1Z999AA10123456784")
    expect(widget(".tp-quick:not([hidden]) .tp-quick-reply")).to_have_count(2)  # the latest message's only

    widget(".tp-quick:not([hidden]) .tp-quick-reply", ).filter(has_text="Talk to a person").click()
    expect(widget(".tp-from-visitor .tp-text").last).to_have_text("Talk to a person")
    expect(widget(".tp-from-bot .tp-text").last).to_contain_text("passing you to a colleague")

    ana = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    ana.page.goto(f"{server}/?view=all")
    ana.wait_live()
    ana.page.locator("#conv-list .conv-row").first.locator(".conv-link").click()
    thread = ana.page.locator("#thread")
    expect(thread.locator(".msg-outgoing").first).to_contain_text("Here is what I found for black jackets")
    expect(thread.locator(".msg-note")).to_contain_text("Bot summary: handed to a person because the customer "
                                                        "asked for a person.")
    expect(thread.locator(".msg-event").last).to_contain_text("Handed to a person: the customer asked for a person")
    block = ana.page.locator("#bot-summary")
    expect(block).to_contain_text("order_status")
    expect(block).to_contain_text("signed-in customer")
    expect(block).to_contain_text("order NW-100234")
    assert problems == [] and ana.problems == []
    context.close()
