"""In a real browser: the agent opens a customer's conversation and reads their orders in the sidebar,
with a working tracking link, and no script error or CSP violation on the page."""

from datetime import UTC, date, datetime

import pytest

from tests.conftest import Desk
from tests.web.test_browser import Agent, browser, customer_writes, server  # noqa: F401  (fixtures)
from touchpoint.commerce import services

from .conftest import CATALOG, line, order, shipment

pytestmark = pytest.mark.browser


@pytest.fixture
def customer_with_orders(server) -> int:  # noqa: F811
    """Maria has two orders, one delivered and one on its way, and writes about the second."""
    desk = Desk("acme")
    for record in CATALOG:
        services.upsert_product(actor=desk.admin_actor, record=record)
    services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-100111", "maria@example.com", [line("MS-GRY-M", 2, "18.00")], "36.00", status="fulfilled",
        placed_at=datetime(2026, 2, 1, 9, tzinfo=UTC)))
    services.upsert_shipment(actor=desk.admin_actor, record=shipment(
        "NW-100111", "TRK-OLD-1", "delivered", carrier="USPS", shipped_at=datetime(2026, 2, 2, 9, tzinfo=UTC),
        delivered_at=datetime(2026, 2, 4, 15, tzinfo=UTC)))
    services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-100234", "maria@example.com", [line("RJ-BLK-S", 1, "79.00")], "79.00", status="fulfilled",
        placed_at=datetime(2026, 3, 2, 10, tzinfo=UTC)))
    services.upsert_shipment(actor=desk.admin_actor, record=shipment(
        "NW-100234", "1Z999AA10123456784", "exception", shipped_at=datetime(2026, 3, 3, 8, tzinfo=UTC),
        estimated_delivery=date(2026, 3, 6)))
    return customer_writes(desk, text="My parcel NW-100234 is stuck.")


def test_the_agent_reads_the_customers_orders_beside_the_conversation(server, customer_with_orders,  # noqa: F811
                                                                      browser):  # noqa: F811
    from playwright.sync_api import expect

    ana = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    ana.page.goto(f"{server}/?view=all")
    ana.wait_live()
    ana.page.click(f"#conv-row-{customer_with_orders} .conv-link")
    block = ana.page.locator(".side-block.orders")
    expect(block).to_be_visible()
    rows = block.locator("li.order")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("NW-100234")  # the latest first
    expect(rows.nth(0)).to_contain_text("$79.00")
    expect(rows.nth(0)).to_contain_text("Delivery problem")
    expect(rows.nth(1)).to_contain_text("NW-100111")
    expect(rows.nth(1)).to_contain_text("Delivered")
    link = rows.nth(0).locator("a")
    expect(link).to_have_attribute("href", "https://track.example/1Z999AA10123456784")
    expect(link).to_have_attribute("target", "_blank")
    timeline = ana.page.locator(".timeline")
    expect(timeline).to_contain_text("Order NW-100234 shipped with UPS")
    expect(timeline).to_contain_text("Order NW-100111 delivered by USPS")
    assert ana.problems == []
    ana.context.close()
