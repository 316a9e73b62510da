"""The demo store's catalog and order history: realistic, consistent with what the services would have
written, tied to the demo's conversations, and the same on every load of the same day."""

import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from touchpoint import demo
from touchpoint.commerce import selectors
from touchpoint.commerce.models import (
    InventoryLevel,
    Order,
    OrderLine,
    Product,
    Shipment,
    ShipmentStatus,
    Variant,
)
from touchpoint.conversations.models import Conversation
from touchpoint.core.clock import now
from touchpoint.customers.models import Identity

SIZE = {"customers": 120, "conversations": 600}


@pytest.fixture
def today():
    return now().replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def loaded(db, today):
    return demo.load_demo(**SIZE, today=today)


def _fingerprint(workspace) -> dict:
    return {
        "products": list(Product.objects.filter(workspace=workspace).order_by("handle").values_list(
            "handle", "name", "product_type")),
        "variants": list(Variant.objects.filter(workspace=workspace).order_by("sku").values_list(
            "sku", "price", "attributes", "inventory__quantity", "inventory__restock_date")),
        "orders": list(Order.objects.filter(workspace=workspace).order_by("number").values_list(
            "number", "customer__name", "email", "status", "currency", "total", "placed_at")),
        "lines": list(OrderLine.objects.filter(workspace=workspace).order_by("order__number", "position").values_list(
            "order__number", "sku", "quantity", "unit_price")),
        "shipments": list(Shipment.objects.filter(workspace=workspace).order_by("tracking_number").values_list(
            "order__number", "carrier", "tracking_number", "status", "shipped_at", "delivered_at")),
    }


def test_a_realistic_outdoor_catalog(loaded, today):
    ws = loaded.workspace
    products = Product.objects.filter(workspace=ws)
    assert products.count() == 60
    assert set(products.values_list("product_type", flat=True)) == {
        "jacket", "boots", "backpack", "tent", "sleeping bag", "socks", "gloves", "water bottle"}
    assert not products.filter(url="").exists() and not products.filter(description="").exists()
    variants = Variant.objects.filter(workspace=ws)
    assert variants.count() > 300 and set(variants.values_list("currency", flat=True)) == {"USD"}
    assert len(set(variants.values_list("sku", flat=True))) == variants.count()
    sold_out = InventoryLevel.objects.filter(workspace=ws, quantity=0)
    assert 0.03 < sold_out.count() / variants.count() < 0.3
    assert sold_out.filter(restock_date__isnull=False).exists() and sold_out.filter(restock_date__isnull=True).exists()
    assert not sold_out.filter(restock_date__lte=today.date()).exists()  # restocks lie ahead
    assert InventoryLevel.objects.filter(workspace=ws).count() == variants.count()
    vocabulary = selectors.catalog_vocabulary(ws.pk)
    assert {"black", "red", "green"} <= set(vocabulary.attributes["color"]) and "XL" in vocabulary.attributes["size"]
    cheap = selectors.find_products(ws.pk, product_type="jackets", price_max=Decimal("100"))
    assert cheap and all(m.price_from <= 100 for m in cheap) and cheap[0].in_stock


def test_orders_add_up_and_belong_to_the_customer_their_email_names(loaded):
    ws = loaded.workspace
    orders = list(Order.objects.filter(workspace=ws).prefetch_related("lines"))
    assert len(orders) > SIZE["customers"]
    emails = dict(Identity.objects.filter(workspace=ws, kind="email").values_list("value", "customer_id"))
    for o in orders:
        assert re.fullmatch(r"NW-\d{6}", o.number) and o.number_key == o.number
        subtotal = sum((x.unit_price * x.quantity for x in o.lines.all()), Decimal(0))
        assert o.subtotal == subtotal and o.lines.count() >= 1
        tax = Decimal(0) if o.taxes_included else o.tax
        assert o.total == o.subtotal - o.discount + o.shipping + tax, o.number
        assert emails[o.email] == o.customer_id
        assert o.placed_at >= o.customer.created_at
        assert all(x.variant_id is not None and x.variant.sku == x.sku for x in o.lines.all())
    assert {o.currency for o in orders} >= {"USD", "EUR", "GBP"}
    assert Counter(o.taxes_included for o in orders)[True] > 0  # VAT included outside the US


def test_parcels_in_every_state_and_history_before_today(loaded, today):
    shipments = Shipment.objects.filter(workspace=loaded.workspace)
    assert set(shipments.values_list("status", flat=True)) == set(ShipmentStatus.values)
    assert not shipments.filter(delivered_at__gte=today).exists()
    assert not shipments.filter(shipped_at__gte=today).exists()
    assert not shipments.filter(status="delivered", delivered_at__isnull=True).exists()
    assert not shipments.exclude(status="delivered").filter(delivered_at__isnull=False).exists()
    assert not shipments.exclude(status="label_created").filter(shipped_at__isnull=True).exists()
    for s in shipments.filter(status="delivered"):
        assert s.order.placed_at < s.shipped_at < s.delivered_at
    assert not Order.objects.filter(workspace=loaded.workspace, placed_at__gte=today).exists()
    assert set(Order.objects.filter(workspace=loaded.workspace).values_list("status", flat=True)) >= {
        "placed", "paid", "fulfilled", "cancelled", "refunded"}


def test_the_order_a_conversation_names_is_that_customers(loaded):
    conversations = Conversation.objects.filter(workspace=loaded.workspace, custom_fields__order_number__isnull=False)
    assert conversations.count() > 100
    orders = {o.number: o for o in Order.objects.filter(workspace=loaded.workspace)}
    matched = sum(1 for c in conversations if orders.get(c.custom_fields["order_number"], None) is not None
                  and orders[c.custom_fields["order_number"]].customer_id == c.customer_id)
    assert matched / conversations.count() > 0.9  # the rest: a number drawn twice, or an anonymous visitor
    tagged = conversations.filter(tags__name="cancellation").first()
    if tagged is not None and tagged.custom_fields["order_number"] in orders:
        assert orders[tagged.custom_fields["order_number"]].status in ("cancelled",)
    latest = selectors.latest_order_number(conversations.first().customer_id)
    assert latest in orders


def test_two_loads_of_the_same_day_are_identical(loaded, today):
    first = _fingerprint(loaded.workspace)
    again = demo.load_demo(**SIZE, today=today, reset=True)
    assert _fingerprint(again.workspace) == first
    assert not Product.objects.filter(workspace_id=loaded.workspace.pk).exists()  # the old one is gone


def test_reset_takes_the_commerce_data_with_it(loaded, today):
    old = loaded.workspace.pk
    demo.load_demo(**SIZE, today=today + timedelta(days=1), reset=True)
    assert not Order.objects.filter(workspace_id=old).exists() and not Shipment.objects.filter(workspace_id=old).exists()
