"""A small outdoor catalog and an order history, written through the services as a store would push them."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from touchpoint.commerce import services
from touchpoint.commerce.services import LineRecord, OrderRecord, ProductRecord, ShipmentRecord, VariantRecord

PLACED = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
SOON = date.today() + timedelta(days=20)  # restock dates lie ahead; a past one announces nothing
LATER = date.today() + timedelta(days=40)


def variant(sku: str, price: str, quantity: int | None = 5, currency: str = "USD", restock: date | None = None,
            **attributes: str) -> VariantRecord:
    return VariantRecord(sku=sku, price=price, currency=currency, attributes=attributes, quantity=quantity,
                         restock_date=restock)


def product(handle: str, name: str, product_type: str, variants: list[VariantRecord], **fields) -> ProductRecord:
    return ProductRecord(handle=handle, name=name, product_type=product_type, variants=variants,
                         url=f"https://shop.example/products/{handle}", **fields)


def line(sku: str, quantity: int, unit_price: str, name: str = "") -> LineRecord:
    return LineRecord(sku=sku, quantity=quantity, unit_price=unit_price, name=name)


def order(number: str, email: str, lines: list[LineRecord], total: str, **fields) -> OrderRecord:
    fields.setdefault("placed_at", PLACED)
    return OrderRecord(number=number, email=email, currency=fields.pop("currency", "USD"), lines=lines, total=total,
                       **fields)


def shipment(order_number: str, tracking: str, status: str, **fields) -> ShipmentRecord:
    fields.setdefault("carrier", "UPS")
    return ShipmentRecord(order_number=order_number, tracking_number=tracking, status=status,
                          tracking_url=f"https://track.example/{tracking}", **fields)


CATALOG = [
    product("ridgeline-jacket", "Ridgeline Rain Jacket", "jacket", [
        variant("RJ-BLK-S", "79.00", 3, color="black", size="S"),
        variant("RJ-BLK-M", "79.00", 0, restock=SOON, color="black", size="M"),
        variant("RJ-RED-M", "79.00", 2, color="red", size="M"),
    ], attributes={"material": "recycled nylon", "waterproof": True}),
    product("summit-down-jacket", "Summit Down Jacket", "jacket", [
        variant("SD-BLK-M", "189.00", 0, restock=LATER, color="black", size="M"),
        variant("SD-BLU-L", "189.00", 0, restock=SOON, color="blue", size="L"),
    ], description="Warm 800-fill goose down for cold summits."),
    product("trail-fleece", "Trail Fleece Jacket", "jacket", [
        variant("TF-GRN-M", "59.50", 7, color="green", size="M"),
    ]),
    product("granite-boot", "Granite Hiking Boots", "boots", [
        variant("GB-42", "149.00", 4, size="42"), variant("GB-43", "149.00", 0, size="43"),
    ]),
    product("merino-sock", "Merino Hiking Socks", "socks", [
        variant("MS-GRY-M", "18.00", 40, color="grey", size="M"),
    ]),
]


@pytest.fixture
def catalog(desk):
    return {p.handle: services.upsert_product(actor=desk.admin_actor, record=p).obj for p in CATALOG}


@pytest.fixture
def placed_order(desk, catalog):
    """Maria orders a jacket and socks; it ships with UPS."""
    made = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-100234", "Maria@Example.com", [line("RJ-BLK-S", 1, "79.00"), line("MS-GRY-M", 2, "18.00")], "129.40",
        status="fulfilled", shipping="4.95", tax="9.45", customer_name="Maria Garcia")).obj
    services.upsert_shipment(actor=desk.admin_actor, record=shipment(
        "NW-100234", "1Z999AA10123456784", "in_transit", shipped_at=datetime(2026, 3, 3, 8, tzinfo=UTC),
        estimated_delivery=date(2026, 3, 6)))
    return made


def dec(text: str) -> Decimal:
    return Decimal(text)
