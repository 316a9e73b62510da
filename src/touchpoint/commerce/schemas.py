"""What the API (and a JSON import file) says about products, stock, orders and shipments.

Amounts are decimals: send them as strings ("19.99") or JSON numbers; they are answered as strings, so
no client reads them as binary floating point. Times are ISO 8601 with a time zone; dates are YYYY-MM-DD.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StringConstraints

from touchpoint.commerce.models import (
    InventoryLevel,
    Order,
    OrderStatus,
    Shipment,
    ShipmentStatus,
    Variant,
    in_currency,
)
from touchpoint.commerce.services import (
    InventoryRecord,
    LineRecord,
    OrderRecord,
    Outcome,
    ProductRecord,
    ShipmentRecord,
    VariantRecord,
)
from touchpoint.core.api import Id, Input, Limit, When

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(max_length=200)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=3)]
Amount = Annotated[Decimal, Field(description='A decimal amount, e.g. "19.99" (at most the currency\'s decimals).')]
Scalar = str | int | float | bool
OutcomeName = Literal["created", "updated", "unchanged", "stale"]
OUTCOME_HELP = ("created, updated, unchanged (identical to what was stored) or stale (older than what is stored: "
                "ignored)")
UPDATED_AT_HELP = ("When the store last changed this record. A push older than the stored one is ignored; "
                   "left out, the push always applies.")


# ---- in -----------------------------------------------------------------------------------------


class StockIn(Input):
    quantity: int = Field(description="Units on hand; 0 when sold out.")
    restock_date: date | None = Field(None, description="When more arrives, if it has run out.")


class VariantIn(Input):
    sku: Sku = Field(description="Unique in the workspace.", examples=["RJ-BLK-M"])
    price: Amount
    currency: Currency = Field(description="ISO 4217, e.g. USD.", examples=["USD"])
    attributes: dict[str, str | int | float] = Field(default_factory=dict, max_length=30,
                                                     description='Options, e.g. {"color": "black", "size": "M"}.')
    active: bool = True
    stock: StockIn | None = Field(None, description="Stock on hand; left out: unchanged.")

    def record(self) -> VariantRecord:
        return VariantRecord(sku=self.sku, price=self.price, currency=self.currency, attributes=self.attributes,
                             active=self.active, quantity=self.stock.quantity if self.stock else None,
                             restock_date=self.stock.restock_date if self.stock else None)


class ProductIn(Input):
    handle: Key = Field(description="The store's handle or product id: the key a push is matched by.",
                        examples=["ridgeline-rain-jacket"])
    name: Text = Field(min_length=1)
    type: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description="What kind of product, e.g. jacket; stored in lower case.", examples=["jacket"])
    description: str = Field("", max_length=20_000)
    url: str = Field("", max_length=500, description="The product page (http or https).")
    attributes: dict[str, Scalar] = Field(default_factory=dict, max_length=30,
                                          description='Shared by all variants, e.g. {"material": "merino"}.')
    active: bool = Field(True, description="An inactive product stays for old orders but is never offered.")
    variants: list[VariantIn] = Field(min_length=1, max_length=250,
                                      description="All of them: variants left out are deactivated.")
    updated_at: When | None = Field(None, description=UPDATED_AT_HELP)

    def record(self) -> ProductRecord:
        return ProductRecord(handle=self.handle, name=self.name, product_type=self.type, description=self.description,
                             url=self.url, attributes=self.attributes, active=self.active,
                             variants=[v.record() for v in self.variants], updated_at=self.updated_at)


class InventoryIn(Input):
    sku: Sku
    quantity: int = Field(description="Units on hand; 0 when sold out.")
    restock_date: date | None = Field(None, description="When more arrives, if it has run out.")
    updated_at: When | None = Field(None, description="When the store counted it. " + UPDATED_AT_HELP)

    def record(self) -> InventoryRecord:
        return InventoryRecord(sku=self.sku, quantity=self.quantity, restock_date=self.restock_date,
                               updated_at=self.updated_at)


class LineIn(Input):
    sku: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = Field(
        "", description="The variant's SKU. An unknown SKU is kept with the line's name.")
    name: Text = Field("", description="As the customer saw it; required when the SKU is not in the catalog.")
    quantity: int = Field(ge=1, le=100_000)
    unit_price: Amount

    def record(self) -> LineRecord:
        return LineRecord(sku=self.sku, name=self.name, quantity=self.quantity, unit_price=self.unit_price)


class OrderIn(Input):
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        examples=["NW-100234"], description="Unique in the workspace, compared without regard to case.")
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)] = Field(
        description="The checkout email: links the order to the customer and verifies who may ask about it.")
    customer_external_id: str = Field("", max_length=200,
                                      description="The store's customer id; links the order before the email does.")
    customer_name: Text = ""
    status: OrderStatus = OrderStatus.PLACED
    currency: Currency
    placed_at: When
    lines: list[LineIn] = Field(min_length=1, max_length=250)
    subtotal: Amount | None = Field(None, description="The lines' sum; checked when given.")
    discount: Amount = Decimal(0)
    shipping: Amount = Decimal(0)
    tax: Amount = Decimal(0)
    taxes_included: bool = Field(False, description="Prices include the tax (VAT): the tax is then not added.")
    total: Amount = Field(description="What the customer paid: lines − discount + shipping + tax (unless included).")
    updated_at: When | None = Field(None, description=UPDATED_AT_HELP)

    def record(self) -> OrderRecord:
        return OrderRecord(number=self.number, email=self.email, customer_external_id=self.customer_external_id,
                           customer_name=self.customer_name, status=self.status, currency=self.currency,
                           placed_at=self.placed_at, lines=[x.record() for x in self.lines], subtotal=self.subtotal,
                           discount=self.discount, shipping=self.shipping, tax=self.tax,
                           taxes_included=self.taxes_included, total=self.total, updated_at=self.updated_at)


class ShipmentIn(Input):
    order_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)] = Field(
        examples=["UPS"])
    tracking_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="With the carrier, the key a push is matched by (any case).")
    tracking_url: str = Field("", max_length=500)
    status: ShipmentStatus
    shipped_at: When | None = Field(None, description="Left out while moving: the time of the push.")
    estimated_delivery: date | None = None
    delivered_at: When | None = Field(None, description="Only for status delivered; left out: the time of the push.")
    updated_at: When | None = Field(None, description=UPDATED_AT_HELP)

    def record(self) -> ShipmentRecord:
        return ShipmentRecord(order_number=self.order_number, carrier=self.carrier,
                              tracking_number=self.tracking_number, tracking_url=self.tracking_url, status=self.status,
                              shipped_at=self.shipped_at, estimated_delivery=self.estimated_delivery,
                              delivered_at=self.delivered_at, updated_at=self.updated_at)


class ImportIn(Input):
    products: list[ProductIn] = Field(default_factory=list, max_length=2_000)
    inventory: list[InventoryIn] = Field(default_factory=list, max_length=20_000)
    orders: list[OrderIn] = Field(default_factory=list, max_length=5_000)
    shipments: list[ShipmentIn] = Field(default_factory=list, max_length=10_000)
    dry_run: bool = Field(False, description="Check every record and count what would change; write nothing.")


# ---- out ------------------------------------------------------------------------------------------


class StockOut(Schema):
    quantity: int
    restock_date: date | None
    updated_at: datetime = Field(description="When Touchpoint stored this count.")


class VariantOut(Schema):
    id: int
    sku: str
    attributes: dict[str, Any]
    price: Decimal
    currency: str
    active: bool
    in_stock: bool
    stock: StockOut | None = Field(description="Null: the store never sent stock for this variant.")

    @staticmethod
    def resolve_price(obj: Variant) -> Decimal:
        return obj.shown_price

    @staticmethod
    def resolve_stock(obj: Variant) -> InventoryLevel | None:
        try:
            return obj.inventory
        except InventoryLevel.DoesNotExist:
            return None

    @staticmethod
    def resolve_in_stock(obj: Variant) -> bool:
        level = VariantOut.resolve_stock(obj)
        return level is not None and level.quantity > 0


class ProductOut(Schema):
    id: int
    handle: str
    name: str
    type: str
    description: str
    url: str
    attributes: dict[str, Any]
    active: bool
    variants: list[VariantOut]
    source_updated_at: datetime | None = Field(description="The store's updated_at of the version stored.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_type(obj) -> str:
        return obj.product_type

    @staticmethod
    def resolve_variants(obj) -> list:
        return list(obj.variants.all())


class ProductUpserted(Schema):
    outcome: OutcomeName = Field(description=OUTCOME_HELP)
    product: ProductOut


class InventoryOut(Schema):
    sku: str
    quantity: int
    restock_date: date | None
    source_updated_at: datetime | None
    updated_at: datetime

    @staticmethod
    def resolve_sku(obj: InventoryLevel) -> str:
        return obj.variant.sku


class InventoryUpserted(Schema):
    outcome: OutcomeName = Field(description=OUTCOME_HELP)
    inventory: InventoryOut


class CustomerRef(Schema):
    id: int
    name: str


class LineOut(Schema):
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    variant_id: int | None = Field(description="The catalog's variant, when the SKU is known there.")


def _money(obj: Order, name: str) -> Decimal:
    return obj.money(name)


class ShipmentOut(Schema):
    id: int
    order_number: str
    carrier: str
    tracking_number: str
    tracking_url: str
    status: ShipmentStatus
    shipped_at: datetime | None
    estimated_delivery: date | None
    delivered_at: datetime | None
    source_updated_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_order_number(obj: Shipment) -> str:
        return obj.order.number


class OrderOut(Schema):
    id: int
    number: str
    status: OrderStatus
    customer: CustomerRef
    email: str
    customer_external_id: str
    currency: str
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    taxes_included: bool
    total: Decimal
    summary: str
    placed_at: datetime
    lines: list[LineOut]
    shipments: list[ShipmentOut]
    source_updated_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_customer_external_id(obj: Order) -> str:
        return obj.customer_ref

    @staticmethod
    def resolve_lines(obj: Order) -> list[dict]:
        return [{"sku": x.sku, "name": x.name, "quantity": x.quantity, "variant_id": x.variant_id,
                 "unit_price": in_currency(x.unit_price, obj.currency)} for x in obj.lines.all()]

    @staticmethod
    def resolve_shipments(obj: Order) -> list:
        shipments = list(obj.shipments.all())
        for shipment in shipments:
            shipment.order = obj  # its number without a query per parcel
        return shipments

    @staticmethod
    def resolve_subtotal(obj: Order) -> Decimal:
        return _money(obj, "subtotal")

    @staticmethod
    def resolve_discount(obj: Order) -> Decimal:
        return _money(obj, "discount")

    @staticmethod
    def resolve_shipping(obj: Order) -> Decimal:
        return _money(obj, "shipping")

    @staticmethod
    def resolve_tax(obj: Order) -> Decimal:
        return _money(obj, "tax")

    @staticmethod
    def resolve_total(obj: Order) -> Decimal:
        return _money(obj, "total")


class OrderUpserted(Schema):
    outcome: OutcomeName = Field(description=OUTCOME_HELP)
    order: OrderOut


class ShipmentUpserted(Schema):
    outcome: OutcomeName = Field(description=OUTCOME_HELP)
    shipment: ShipmentOut


class Counts(Schema):
    created: int
    updated: int
    unchanged: int
    stale: int


class ImportOut(Schema):
    dry_run: bool
    written: bool = Field(description="True when the records were stored (no dry run, no refused record).")
    counts: dict[str, Counts] = Field(description="Per kind (products, inventory, orders, shipments).")


# ---- queries -------------------------------------------------------------------------------------


class ProductQuery(Schema):
    q: str | None = Field(None, max_length=200, description="Part of the name.")
    type: str | None = Field(None, max_length=80)
    handle: str | None = Field(None, max_length=200)
    active: bool | None = Field(None, description="Only active (true) or inactive (false) products.")
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


class OrderQuery(Schema):
    number: str | None = Field(None, max_length=64, description="One order by number (any case).")
    customer_id: Id | None = None
    status: OrderStatus | None = None
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


class CustomerOrdersQuery(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 20


OUTCOMES = [o.value for o in Outcome]
