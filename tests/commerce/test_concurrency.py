"""Races a store's back end causes on a real server: the same push delivered several times at once."""

import threading

import pytest
from django.db import connection, connections

from touchpoint.commerce import services
from touchpoint.commerce.models import InventoryLevel, Order, OrderLine, Product, Shipment, Variant
from touchpoint.customers.models import Customer

from .conftest import CATALOG, line, order, shipment

pytestmark = pytest.mark.django_db(transaction=True)


def _at_once(call, n: int = 4) -> list:
    barrier = threading.Barrier(n)
    results: list = []
    errors: list = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(call())
        except Exception as error:  # reported below: a race must not fail a delivery
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], [f"{type(e).__name__}: {e}" for e in errors]
    return results


def test_the_same_pushes_at_once_store_each_record_once(desk):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers (IMMEDIATE transactions), so this race cannot happen there")
    made = _at_once(lambda: services.upsert_product(actor=desk.admin_actor, record=CATALOG[0]).outcome)
    assert sorted(made) == ["created", "unchanged", "unchanged", "unchanged"], made
    assert Product.objects.count() == 1 and Variant.objects.count() == 3 and InventoryLevel.objects.count() == 3
    record = order("NW-1", "new.buyer@example.com", [line("RJ-BLK-S", 1, "79.00")], "79.00")
    placed = _at_once(lambda: services.upsert_order(actor=desk.admin_actor, record=record).outcome)
    assert sorted(placed) == ["created", "unchanged", "unchanged", "unchanged"], placed
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 1 and Customer.objects.count() == 1
    parcel = shipment("NW-1", "1Z1", "in_transit")
    shipped = _at_once(lambda: services.upsert_shipment(actor=desk.admin_actor, record=parcel).outcome)
    assert sorted(shipped) == ["created", "unchanged", "unchanged", "unchanged"], shipped
    assert Shipment.objects.count() == 1
