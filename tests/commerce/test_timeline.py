"""Orders placed, parcels shipped and delivered on the customer's timeline, read through the timeline API;
the placeholder {{order.number}}; and the agent's sidebar with its orders block at a pinned query count."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.apiclient import api_as
from tests.web.conftest import customer_writes, signed_in
from touchpoint.automation import services as automation
from touchpoint.commerce import services
from touchpoint.conversations import services as conversations
from touchpoint.customers import services as customers
from touchpoint.customers.services import update_customer

from .conftest import line, order, shipment

HTMX = {"HTTP_HX_REQUEST": "true"}


def _timeline(desk, customer_id: int, **query) -> dict:
    response = api_as(desk.agent).get(f"/customers/{customer_id}/timeline", **query)
    assert response.status_code == 200, response.content
    return response.json()


def test_orders_and_parcels_show_on_the_timeline_api(desk, placed_order):
    customer_writes(desk, "Where is my parcel?", email="maria@example.com")
    services.upsert_shipment(actor=desk.admin_actor, record=shipment(
        "NW-100234", "1Z999AA10123456784", "delivered", delivered_at=datetime(2026, 3, 5, 16, tzinfo=UTC)))
    items = _timeline(desk, placed_order.customer_id)["items"]
    commerce = [i for i in items if i["kind"].startswith(("order.", "shipment."))]
    assert [(i["kind"], i["at"]) for i in commerce] == [
        ("shipment.delivered", "2026-03-05T16:00:00Z"), ("shipment.shipped", "2026-03-03T08:00:00Z"),
        ("order.placed", "2026-03-02T10:30:00Z")]
    delivered, shipped, placed = commerce
    assert placed["title"] == "Order NW-100234 placed · $129.40"
    assert placed["body"] == "Ridgeline Rain Jacket (black, S), 2 × Merino Hiking Socks (grey, M)"
    assert placed["ref"]["order_id"] == placed_order.pk and placed["ref"]["status"] == "fulfilled"
    assert shipped["title"] == "Order NW-100234 shipped with UPS"
    assert shipped["body"] == "Tracking 1Z999AA10123456784 (delivered); expected 6 March 2026"
    assert shipped["ref"]["tracking_url"] == "https://track.example/1Z999AA10123456784"
    assert delivered["title"] == "Order NW-100234 delivered by UPS"
    assert items[0]["kind"].startswith("message.")  # the conversation of today is newer than the order
    assert all(i["kind"] != "order.placed" for i in _timeline(desk, placed_order.customer_id,
                                                              before="2026-03-02T10:30:00Z")["items"])


def test_the_timeline_pages_through_many_orders_newest_first(desk, catalog):
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for n in range(7):
        services.upsert_order(actor=desk.admin_actor, record=order(
            f"NW-{n}", "pat@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00",
            placed_at=start + timedelta(days=n)))
    customer_id = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-0", "pat@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00", placed_at=start)).obj.customer_id
    first = _timeline(desk, customer_id, limit=3)
    second = _timeline(desk, customer_id, limit=3, before=first["next_before"])
    third = _timeline(desk, customer_id, limit=3, before=second["next_before"])
    titles = [i["title"].split(" placed")[0] for page in (first, second, third) for i in page["items"]]
    assert titles == [f"Order NW-{n}" for n in (6, 5, 4, 3, 2, 1, 0)] and third["next_before"] is None


def test_another_workspaces_timeline_read_is_refused(desk, other_desk, placed_order):
    response = api_as(other_desk.agent).get(f"/customers/{placed_order.customer_id}/timeline")
    assert response.status_code == 404


def test_a_merged_customers_timeline_has_the_orders(desk, placed_order):
    duplicate = customers.create_customer(workspace_id=desk.id, name="Maria G", identities=[("phone", "+447700900123")])
    customers.merge_customers(actor=desk.agent_actor, source=placed_order.customer, target=duplicate)
    kinds = [i["kind"] for i in _timeline(desk, duplicate.pk)["items"]]
    assert "order.placed" in kinds and "shipment.shipped" in kinds


# ---- {{order.number}} ---------------------------------------------------------------------------------


def _render(desk, conversation, body: str) -> str:
    shortcut = f"o{automation.CannedReply.objects.count()}"
    canned = automation.create_canned_reply(actor=desk.supervisor_actor, shortcut=shortcut, title="O", body=body)
    return automation.render_canned_reply(actor=desk.agent_actor, conversation=conversation, canned=canned).text


def test_order_number_placeholder_reads_the_latest_order(desk, placed_order):
    conversation = customer_writes(desk, "Hello", email="maria@example.com")
    update_customer(actor=desk.admin_actor, customer=conversation.customer, custom_attributes={"order_number": "OLD-1"})
    assert _render(desk, conversation, "Order {{order.number}}") == "Order NW-100234"
    services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-100500", "maria@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00",
        placed_at=datetime(2026, 4, 1, tzinfo=UTC)))
    assert _render(desk, conversation, "Order {{order.number}}") == "Order NW-100500"
    # The conversation's own field names the order it is about, and wins.
    conversations.update_conversation(actor=desk.agent_actor, conversation=conversation,
                                      custom_fields={"order_number": "NW-100234"})
    assert _render(desk, conversation, "Order {{order.number}}") == "Order NW-100234"


def test_without_orders_the_customers_attribute_is_still_read(desk):
    conversation = customer_writes(desk, "Hello", email="kim@example.com")
    update_customer(actor=desk.admin_actor, customer=conversation.customer, custom_attributes={"order_number": "A-1"})
    assert _render(desk, conversation, "Order {{order.number|unknown}}") == "Order A-1"


# ---- the sidebar ------------------------------------------------------------------------------------


def _orders_for(desk, n: int) -> None:
    for i in range(n):
        services.upsert_order(actor=desk.admin_actor, record=order(
            f"NW-9{i:04d}", "maria@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00",
            placed_at=datetime(2026, 2, 1, tzinfo=UTC) + timedelta(days=i)))
        services.upsert_shipment(actor=desk.admin_actor, record=shipment(f"NW-9{i:04d}", f"TRK{i}", "in_transit"))


def test_the_sidebar_lists_the_latest_orders_with_tracking(desk, placed_order):
    conversation = customer_writes(desk, "Where is it?", email="maria@example.com")
    page = signed_in(desk.agent).get(f"/conversations/{conversation.pk}/", **HTMX).content.decode()
    block = page[page.index('class="side-block orders"'):]
    block = block[: block.index("</section>")]
    assert "NW-100234" in block and "$129.40" in block and "Shipped" in block and "In transit" in block
    assert 'href="https://track.example/1Z999AA10123456784" target="_blank" rel="noopener noreferrer"' in block
    assert "Mar 2" in block


def test_a_customer_without_orders_has_no_orders_block(desk, catalog):
    conversation = customer_writes(desk, "Hello", email="new@example.com")
    page = signed_in(desk.agent).get(f"/conversations/{conversation.pk}/", **HTMX).content.decode()
    assert "side-block orders" not in page


def test_hostile_order_data_is_escaped_in_the_sidebar(desk, catalog):
    services.upsert_order(actor=desk.admin_actor, record=order(
        "<b>NW-1</b>", "maria@example.com", [line("", 1, "5.00", name='<img src=x onerror="alert(1)">')], "5.00"))
    conversation = customer_writes(desk, "Hello", email="maria@example.com")
    page = signed_in(desk.agent).get(f"/conversations/{conversation.pk}/", **HTMX).content.decode()
    assert "<b>NW-1</b>" not in page and "&lt;b&gt;NW-1&lt;/b&gt;" in page
    assert "<img src=x" not in page


@pytest.mark.parametrize("n", [2, 12])
def test_the_pane_and_the_timeline_cost_the_same_queries_however_many_orders(desk, catalog, n):
    """The pins of tests/web/test_queries.py, with commerce data: no query per order or parcel."""
    _orders_for(desk, n)
    conversation = customer_writes(desk, "Hello", email="maria@example.com")
    client = signed_in(desk.agent)
    client.get("/")
    with CaptureQueriesContext(connection) as pane:
        assert client.get(f"/conversations/{conversation.pk}/", **HTMX).status_code == 200
    with CaptureQueriesContext(connection) as timeline:
        assert client.get(f"/customers/{conversation.customer_id}/timeline/", **HTMX).status_code == 200
    from tests.web.test_queries import PANE_QUERIES, TIMELINE_QUERIES

    assert len(pane) == PANE_QUERIES and len(timeline) == TIMELINE_QUERIES
