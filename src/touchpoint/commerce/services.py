"""Every write to the store of record: products with their variants, stock, orders, shipments.

Who writes: admins, in person or through an API token an admin issued (the way a store's back end
pushes its changes). Supervisors and agents read the catalog and the orders; nobody at the desk edits
them, because the store is the source of truth and an edit here would be overwritten by its next push.

Each write is an upsert by the record's natural key (product handle, SKU, order number, carrier +
tracking number), so the store can push the same record again and again:
- a new key is created, a changed record is updated, an identical one is left alone (`unchanged`);
- a record whose `updated_at` is older than the one stored is ignored (`stale`): pushes that arrive out
  of order cannot undo a newer change. A record sent without `updated_at` always applies.
Every refusal is a 4xx with the field and what to fix, and nothing of the record is written.

Orders are linked to the customer by identity resolution (customers.services): the store's customer
id when it sends one, else the checkout email. The customer is the same record the conversations use,
created on first sight; an address a chat visitor only typed (a claim) is taken over, never followed. An order line with a SKU the catalog does not know is kept with the name the
store sent (orders are history: a discontinued product's SKU must not make its orders unloadable); a
line without a name then is refused.
"""

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, Model

from touchpoint.commerce import money
from touchpoint.commerce.errors import SkuTaken, TotalsMismatch, UnknownOrder, UnknownSku
from touchpoint.commerce.events import CatalogChanged, OrderPlaced, OrderStatusChanged, ShipmentStatusChanged
from touchpoint.commerce.models import (
    CatalogState,
    InventoryLevel,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Shipment,
    ShipmentStatus,
    Variant,
    option_text,
)
from touchpoint.commerce.selectors import forget_vocabulary, order_key
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, ValidationFailed
from touchpoint.core.events import publish
from touchpoint.core.permissions import Actor, Role
from touchpoint.customers import services as customers
from touchpoint.customers.identities import normalize
from touchpoint.customers.models import Customer, IdentityKind
from touchpoint.customers.selectors import identity_owner

MAX_VARIANTS = 250
MAX_LINES = 250
MAX_ATTRIBUTES = 30
MAX_QUANTITY = 2**31 - 1
_KEY_RE = re.compile(r"^[^\s\x00-\x1f\x7f]+$")  # natural keys: any printable text without spaces
_ATTRIBUTE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,39}$")
_url = URLValidator(schemes=["http", "https"])


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"  # older than what is stored: ignored


M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Upserted(Generic[M]):
    outcome: Outcome
    obj: M


# ---- what a store sends: the same records from the API, a CSV or a JSON file ------------------------


@dataclass(frozen=True)
class VariantRecord:
    sku: str
    price: Any  # Decimal or decimal text; checked against the currency
    currency: str
    attributes: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    quantity: int | None = None  # stock on hand, when the product push carries it
    restock_date: date | None = None


@dataclass(frozen=True)
class ProductRecord:
    handle: str
    name: str
    product_type: str
    variants: list[VariantRecord]
    description: str = ""
    url: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    updated_at: datetime | None = None


@dataclass(frozen=True)
class InventoryRecord:
    sku: str
    quantity: int
    restock_date: date | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class LineRecord:
    quantity: int
    unit_price: Any
    sku: str = ""
    name: str = ""


@dataclass(frozen=True)
class OrderRecord:
    number: str
    email: str
    placed_at: datetime
    currency: str
    lines: list[LineRecord]
    total: Any
    status: str = OrderStatus.PLACED
    subtotal: Any = None  # the lines' sum; checked when given
    discount: Any = Decimal(0)
    shipping: Any = Decimal(0)
    tax: Any = Decimal(0)
    taxes_included: bool = False
    customer_external_id: str = ""
    customer_name: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ShipmentRecord:
    order_number: str
    carrier: str
    tracking_number: str
    status: str
    tracking_url: str = ""
    shipped_at: datetime | None = None
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None
    updated_at: datetime | None = None


# ---- products -----------------------------------------------------------------------------------


def upsert_product(*, actor: Actor, record: ProductRecord) -> Upserted[Product]:
    """Create or update a product and its variants (and their stock when given). Variants the push
    leaves out are deactivated, not deleted: old orders still name them."""
    actor.require(Role.ADMIN)
    clean = _clean_product(record)
    for attempt in (1, 2):  # each attempt gets its own copy: the first may have filled it in before failing
        try:
            with transaction.atomic():
                return _upsert_product(actor.workspace_id, copy.deepcopy(clean), record)
        except IntegrityError:
            if attempt == 2:
                raise Conflict(f"Product {clean['handle']!r} was being written by another request at the same "
                               "time; send it again.") from None
    raise AssertionError("unreachable")


def _upsert_product(workspace_id: int, clean: dict, record: ProductRecord) -> Upserted[Product]:
    at = now()
    product = Product.objects.select_for_update().filter(workspace_id=workspace_id, handle=clean["handle"]).first()
    if product is not None and _stale(product.source_updated_at, record.updated_at):
        return Upserted(Outcome.STALE, product)
    variants = clean.pop("variants")
    _check_skus_free(workspace_id, product, [v["sku"] for v in variants])
    created = product is None
    changed = created
    if product is None:
        product = Product(workspace_id=workspace_id, created_at=at, updated_at=at,
                          source_updated_at=record.updated_at, **clean)
        with transaction.atomic():
            product.save()
    elif _assign(product, clean):
        changed = True
    existing = {v.sku: v for v in Variant.objects.select_for_update().filter(product=product)}
    stock_at = record.updated_at
    for item in variants:
        stock = {k: item.pop(k) for k in ("quantity", "restock_date")}
        variant = existing.pop(item["sku"], None)
        new = variant is None
        if variant is None:
            variant = Variant.objects.create(workspace_id=workspace_id, product=product, created_at=at, updated_at=at,
                                             **item)
            changed = True
        elif _assign(variant, item):
            variant.updated_at = at
            variant.save()
            changed = True
        if stock["quantity"] is not None:
            outcome = _apply_stock(variant, stock["quantity"], stock["restock_date"], stock_at, new=new)
            changed = changed or outcome == Outcome.UPDATED or outcome == Outcome.CREATED
    for left_out in existing.values():
        if left_out.active:
            left_out.active = False
            left_out.updated_at = at
            left_out.save(update_fields=["active", "updated_at"])
            changed = True
    if not changed:
        return Upserted(Outcome.UNCHANGED, product)
    if not created:
        product.updated_at = at
        if record.updated_at is not None:
            product.source_updated_at = record.updated_at
        product.save()
    _catalog_changed(workspace_id)
    return Upserted(Outcome.CREATED if created else Outcome.UPDATED, product)


def _clean_product(record: ProductRecord) -> dict:
    variants = record.variants
    if not isinstance(variants, list) or not variants:
        raise ValidationFailed("A product needs at least one variant (a SKU with its price).", field="variants")
    if len(variants) > MAX_VARIANTS:
        raise ValidationFailed(f"A product has at most {MAX_VARIANTS} variants; this one has {len(variants)}.",
                               field="variants")
    clean_variants = [_clean_variant(v, n) for n, v in enumerate(variants, 1)]
    skus = [v["sku"] for v in clean_variants]
    doubled = sorted({s for s in skus if skus.count(s) > 1})
    if doubled:
        raise ValidationFailed(f"SKU {doubled[0]} appears twice in this product; each variant has its own SKU.",
                               field="variants")
    _timestamp(record.updated_at, "updated_at")
    return {
        "handle": _key(record.handle, "handle", 200),
        "name": _text(record.name, "name", 200),
        "product_type": _text(record.product_type, "type", 80).casefold(),
        "description": _text(record.description, "description", 20_000, required=False),
        "url": _link(record.url, "url"),
        "attributes": _attributes(record.attributes, "attributes", text_only=False),
        "active": _flag(record.active, "active"),
        "variants": clean_variants,
    }


def _clean_variant(record: VariantRecord, n: int) -> dict:
    where = f"Variant {n}: "
    code = money.currency(record.currency, field="variants", where=where)
    return {
        "sku": _key(record.sku, "sku", 64, where=where, field_name="variants"),
        "attributes": _attributes(record.attributes, "variants", text_only=True, where=where),
        "price": money.amount(record.price, code, field="price", where=where),
        "currency": code,
        "active": _flag(record.active, "variants"),
        "quantity": None if record.quantity is None else _quantity(record.quantity, where=where, field_name="variants"),
        "restock_date": _date(record.restock_date, "variants", where=where),
    }


def _check_skus_free(workspace_id: int, product: Product | None, skus: list[str]) -> None:
    taken = Variant.objects.filter(workspace_id=workspace_id, sku__in=skus)
    if product is not None:
        taken = taken.exclude(product=product)
    clash = taken.select_related("product").order_by("sku").first()
    if clash is not None:
        raise SkuTaken(f"SKU {clash.sku} belongs to product {clash.product.handle!r}; a SKU names one variant of one "
                       "product. Use another SKU, or push it under that product.", field="variants")


# ---- stock --------------------------------------------------------------------------------------


def set_inventory(*, actor: Actor, record: InventoryRecord) -> Upserted[InventoryLevel]:
    """The stock on hand of one SKU (and when more arrives, if it has run out)."""
    actor.require(Role.ADMIN)
    sku = _key(record.sku, "sku", 64)
    quantity = _quantity(record.quantity)
    restock = _date(record.restock_date, "restock_date")
    _timestamp(record.updated_at, "updated_at")
    with transaction.atomic():
        variant = Variant.objects.select_for_update().filter(workspace_id=actor.workspace_id, sku=sku).first()
        if variant is None:
            raise UnknownSku(f"No variant with SKU {sku} in this catalog; push its product first.", field="sku")
        outcome = _apply_stock(variant, quantity, restock, record.updated_at)
    return Upserted(outcome, InventoryLevel.objects.get(variant=variant))


def _apply_stock(variant: Variant, quantity: int, restock: date | None, counted_at: datetime | None, *,
                 new: bool = False) -> Outcome:
    level = None if new else InventoryLevel.objects.select_for_update().filter(variant=variant).first()
    at = now()
    if level is None:
        InventoryLevel.objects.create(workspace_id=variant.workspace_id, variant=variant, quantity=quantity,
                                      restock_date=restock, source_updated_at=counted_at, updated_at=at)
        return Outcome.CREATED
    if _stale(level.source_updated_at, counted_at):
        return Outcome.STALE
    if level.quantity == quantity and level.restock_date == restock:
        return Outcome.UNCHANGED
    level.quantity, level.restock_date, level.updated_at = quantity, restock, at
    if counted_at is not None:
        level.source_updated_at = counted_at
    level.save()
    return Outcome.UPDATED


# ---- orders ---------------------------------------------------------------------------------------


def upsert_order(*, actor: Actor, record: OrderRecord) -> Upserted[Order]:
    """Create or update an order with all its lines (a push replaces the lines). The amounts must add up:
    lines − discount + shipping + tax = total (tax left out of the sum when prices include it)."""
    actor.require(Role.ADMIN)
    clean, lines = _clean_order(record)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _upsert_order(actor, dict(clean), [dict(x) for x in lines], record)
        except IntegrityError:
            if attempt == 2:
                raise Conflict(f"Order {clean['number']} was being written by another request at the same time; "
                               "send it again.") from None
    raise AssertionError("unreachable")


def _upsert_order(actor: Actor, clean: dict, lines: list[dict], record: OrderRecord) -> Upserted[Order]:
    workspace_id = actor.workspace_id
    order = Order.objects.select_for_update().filter(workspace_id=workspace_id, number_key=clean["number_key"]).first()
    if order is not None and _stale(order.source_updated_at, record.updated_at):
        return Upserted(Outcome.STALE, order)
    lines = _link_lines(workspace_id, lines)
    clean["summary"] = _summary(lines)
    if order is None or (order.email, order.customer_ref) != (clean["email"], clean["customer_ref"]):
        clean["customer"] = _order_customer(actor, clean["email"], clean["customer_ref"], record.customer_name)
    at = now()
    created = order is None
    previous = order.status if order is not None else ""
    if order is None:
        order = Order(workspace_id=workspace_id, created_at=at, updated_at=at, source_updated_at=record.updated_at,
                      **clean)
        with transaction.atomic():
            order.save()
        changed = True
    else:
        changed = _assign(order, clean)
    stored = [(line.sku, line.name, line.quantity, line.unit_price) for line in order.lines.all()] if not created else []
    if created or stored != [(x["sku"], x["name"], x["quantity"], x["unit_price"]) for x in lines]:
        if not created:
            OrderLine.objects.filter(order=order).delete()
        OrderLine.objects.bulk_create([OrderLine(workspace_id=workspace_id, order=order, position=n, **line)
                                       for n, line in enumerate(lines, 1)])
        changed = True
    if not changed:
        return Upserted(Outcome.UNCHANGED, order)
    if not created:
        order.updated_at = at
        if record.updated_at is not None:
            order.source_updated_at = record.updated_at
        order.save()
    if created:
        publish(OrderPlaced(workspace_id=workspace_id, order_id=order.pk, customer_id=order.customer_id))
    elif previous != order.status:
        publish(OrderStatusChanged(workspace_id=workspace_id, order_id=order.pk, customer_id=order.customer_id,
                                   status=order.status, previous=previous))
    return Upserted(Outcome.CREATED if created else Outcome.UPDATED, order)


def _clean_order(record: OrderRecord) -> tuple[dict, list[dict]]:
    number = _key(record.number, "number", 64)
    code = money.currency(record.currency)
    if record.status not in OrderStatus.values:
        raise ValidationFailed(f"Unknown order status {record.status!r}; use one of {', '.join(OrderStatus.values)}.",
                               field="status")
    if not isinstance(record.lines, list) or not record.lines:
        raise ValidationFailed("An order needs at least one line.", field="lines")
    if len(record.lines) > MAX_LINES:
        raise ValidationFailed(f"An order has at most {MAX_LINES} lines; this one has {len(record.lines)}.",
                               field="lines")
    lines = [_clean_line(line, n, code) for n, line in enumerate(record.lines, 1)]
    amounts = {name: money.amount(getattr(record, name), code, field=name)
               for name in ("discount", "shipping", "tax", "total")}
    subtotal = sum((x["quantity"] * x["unit_price"] for x in lines), Decimal(0))
    if record.subtotal is not None and money.amount(record.subtotal, code, field="subtotal") != subtotal:
        raise TotalsMismatch(f"The subtotal {record.subtotal} is not the sum of the lines ({subtotal} {code}); "
                             "send the lines as charged, or leave the subtotal out.", field="subtotal")
    taxes_included = _flag(record.taxes_included, "taxes_included")
    _check_total(subtotal, amounts, taxes_included, code)
    _timestamp(record.placed_at, "placed_at", required=True)
    _timestamp(record.updated_at, "updated_at")
    email = _email(record.email)
    external = record.customer_external_id.strip() if isinstance(record.customer_external_id, str) else ""
    if external:
        external = _identity(IdentityKind.EXTERNAL, external, "customer_external_id")
    clean = {"number": number, "number_key": order_key(number), "email": email, "customer_ref": external,
             "status": record.status, "currency": code, "subtotal": subtotal, "taxes_included": taxes_included,
             "placed_at": record.placed_at.astimezone(UTC), **amounts}
    _text(record.customer_name, "customer_name", 200, required=False)
    return clean, lines


def _check_total(subtotal: Decimal, amounts: dict[str, Decimal], taxes_included: bool, code: str) -> None:
    tax = Decimal(0) if taxes_included else amounts["tax"]
    expected = subtotal - amounts["discount"] + amounts["shipping"] + tax
    if expected == amounts["total"]:
        return
    tax_part = f"tax {amounts['tax']} (included in the prices)" if taxes_included else f"+ tax {amounts['tax']}"
    raise TotalsMismatch(
        f"The order's amounts do not add up: lines {subtotal} − discount {amounts['discount']} + shipping "
        f"{amounts['shipping']} {tax_part} = {expected} {code}, but the total is {amounts['total']}. Send the total "
        "the customer paid with the lines, discount, shipping and tax that make it up.", field="total")


def _clean_line(record: LineRecord, n: int, code: str) -> dict:
    where = f"Line {n}: "
    sku = record.sku.strip() if isinstance(record.sku, str) else ""
    if sku:
        sku = _key(sku, "lines", 64, where=where)
    if not isinstance(record.quantity, int) or isinstance(record.quantity, bool) or not 1 <= record.quantity <= 100_000:
        raise ValidationFailed(f"{where}quantity must be a whole number from 1 to 100000, not {record.quantity!r}.",
                               code="invalid_quantity", field="lines")
    return {"sku": sku, "name": _text(record.name, "lines", 200, required=False, where=where),
            "quantity": record.quantity, "unit_price": money.amount(record.unit_price, code, field="unit_price",
                                                                     where=where)}


def _link_lines(workspace_id: int, lines: list[dict]) -> list[dict]:
    """Each line's variant when its SKU is in the catalog; the catalog's name for a line sent without one."""
    skus = {line["sku"] for line in lines if line["sku"]}
    variants = {v.sku: v for v in Variant.objects.filter(workspace_id=workspace_id, sku__in=skus).select_related("product")}
    linked = []
    for n, line in enumerate(lines, 1):
        variant = variants.get(line["sku"]) if line["sku"] else None
        name = line["name"] or (_variant_name(variant) if variant is not None else "")
        if not name:
            what = f"SKU {line['sku']} is not in the catalog" if line["sku"] else "it has no SKU"
            raise UnknownSku(f"Line {n}: {what}; send the line's name, as the customer saw it.", field="lines")
        linked.append({**line, "name": name[:200], "variant": variant})
    return linked


def _variant_name(variant: Variant) -> str:
    options = option_text(variant.attributes)
    return f"{variant.product.name} ({options})" if options else variant.product.name


def _summary(lines: list[dict]) -> str:
    parts = [f"{x['quantity']} × {x['name']}" if x["quantity"] > 1 else x["name"] for x in lines]
    text = ", ".join(parts)
    return text if len(text) <= 300 else text[:299] + "…"


def _order_customer(actor: Actor, email: str, external: str, name: str) -> Customer:
    """The order's customer by identity resolution: the store's customer id first (the store knows who
    its account holder is), else the checkout email; created on first sight. The other identity is
    added to that customer unless someone else has it: that stays for an agent to merge, never guessed."""
    name = (name or "").strip()[:200]
    owner = identity_owner(actor, IdentityKind.EXTERNAL, external) if external else None
    if owner is None:
        owner = customers.resolve_customer(workspace_id=actor.workspace_id, kind=IdentityKind.EMAIL, value=email,
                                           name=name)
        if external:
            _attach(owner, IdentityKind.EXTERNAL, external)
    else:
        _attach(owner, IdentityKind.EMAIL, email)
    if name and not owner.name:
        owner = customers.update_customer(actor=actor, customer=owner, name=name)
    return owner


def _attach(customer: Customer, kind: str, value: str) -> None:
    try:
        with transaction.atomic():
            customers.add_identity(customer=customer, kind=kind, value=value)
    except (customers.IdentityTaken, IntegrityError):
        pass  # someone else's identity: an agent may merge the two; an import never does


# ---- shipments ----------------------------------------------------------------------------------


def upsert_shipment(*, actor: Actor, record: ShipmentRecord) -> Upserted[Shipment]:
    """Create or update a parcel by carrier + tracking number. A parcel shown in transit without a ship
    time is taken as shipped when the push was made; delivered likewise. A push that leaves out the
    ship time, the estimated delivery or the tracking link keeps the ones stored, so a carrier's status
    update can be sent alone."""
    actor.require(Role.ADMIN)
    clean = _clean_shipment(record)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _upsert_shipment(actor.workspace_id, dict(clean), record)
        except IntegrityError:
            if attempt == 2:
                raise Conflict("This shipment was being written by another request at the same time; send it "
                               "again.") from None
    raise AssertionError("unreachable")


def _upsert_shipment(workspace_id: int, clean: dict, record: ShipmentRecord) -> Upserted[Shipment]:
    order_number = clean.pop("order_number")
    order = Order.objects.filter(workspace_id=workspace_id, number_key=order_key(order_number)).first()
    if order is None:
        raise UnknownOrder(f"No order {order_number} in this workspace; push the order before its shipments.",
                           field="order_number")
    shipment = Shipment.objects.select_for_update().filter(workspace_id=workspace_id,
                                                           tracking_key=clean["tracking_key"]).first()
    if shipment is not None and _stale(shipment.source_updated_at, record.updated_at):
        return Upserted(Outcome.STALE, shipment)
    at = now()
    event_at = record.updated_at or at
    moving = clean["status"] != ShipmentStatus.LABEL_CREATED
    clean["shipped_at"] = clean["shipped_at"] or (shipment.shipped_at if shipment else None) or (event_at if moving else None)
    if shipment is not None:  # a status push need not repeat the ETA and the link
        clean["estimated_delivery"] = clean["estimated_delivery"] or shipment.estimated_delivery
        clean["tracking_url"] = clean["tracking_url"] or shipment.tracking_url
    if clean["status"] == ShipmentStatus.DELIVERED:
        clean["delivered_at"] = clean["delivered_at"] or (shipment.delivered_at if shipment else None) or event_at
    _check_shipment_times(clean)
    previous = shipment.status if shipment is not None else ""
    if shipment is None:
        shipment = Shipment(workspace_id=workspace_id, order=order, created_at=at, updated_at=at,
                            source_updated_at=record.updated_at, **clean)
        with transaction.atomic():
            shipment.save()
        created = changed = True
    else:
        created = False
        changed = _assign(shipment, {**clean, "order_id": order.pk})
    if not changed:
        return Upserted(Outcome.UNCHANGED, shipment)
    if not created:
        shipment.updated_at = at
        if record.updated_at is not None:
            shipment.source_updated_at = record.updated_at
        shipment.save()
    if previous != shipment.status:
        publish(ShipmentStatusChanged(workspace_id=workspace_id, shipment_id=shipment.pk, order_id=order.pk,
                                      customer_id=order.customer_id, status=shipment.status, previous=previous))
    return Upserted(Outcome.CREATED if created else Outcome.UPDATED, shipment)


def _clean_shipment(record: ShipmentRecord) -> dict:
    if record.status not in ShipmentStatus.values:
        raise ValidationFailed(f"Unknown shipment status {record.status!r}; use one of "
                               f"{', '.join(ShipmentStatus.values)}.", field="status")
    carrier = _text(record.carrier, "carrier", 60)
    tracking = _key(record.tracking_number, "tracking_number", 100)
    if record.delivered_at is not None and record.status != ShipmentStatus.DELIVERED:
        raise ValidationFailed(f"delivered_at is for a delivered shipment; this one is {record.status}. Send the "
                               "status delivered, or leave delivered_at out.", field="delivered_at")
    for name in ("shipped_at", "delivered_at", "updated_at"):
        _timestamp(getattr(record, name), name)
    return {
        "order_number": _key(record.order_number, "order_number", 64),
        "carrier": carrier, "tracking_number": tracking,
        "tracking_key": f"{carrier.casefold()}|{tracking.casefold()}"[:170],
        "tracking_url": _link(record.tracking_url, "tracking_url"),
        "status": record.status,
        "shipped_at": _utc(record.shipped_at),
        "estimated_delivery": _date(record.estimated_delivery, "estimated_delivery"),
        "delivered_at": _utc(record.delivered_at) if record.status == ShipmentStatus.DELIVERED else None,
    }


def _check_shipment_times(clean: dict) -> None:
    shipped, delivered = clean["shipped_at"], clean["delivered_at"]
    if shipped is not None and delivered is not None and delivered < shipped:
        raise ValidationFailed(f"delivered_at ({delivered.isoformat()}) is before shipped_at ({shipped.isoformat()}).",
                               field="delivered_at")


# ---- shared checks ----------------------------------------------------------------------------------


def _stale(stored: datetime | None, incoming: datetime | None) -> bool:
    return stored is not None and incoming is not None and incoming < stored


def _assign(obj: Model, values: dict) -> bool:
    """Set the fields that differ; True when any did (the caller saves)."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _catalog_changed(workspace_id: int) -> None:
    """Count the change, so every process's vocabulary cache sees it on its next read."""
    at = now()
    if not CatalogState.objects.filter(workspace_id=workspace_id).update(version=F("version") + 1, changed_at=at):
        try:
            with transaction.atomic():
                CatalogState.objects.create(workspace_id=workspace_id, version=1, changed_at=at)
        except IntegrityError:
            CatalogState.objects.filter(workspace_id=workspace_id).update(version=F("version") + 1, changed_at=at)
    transaction.on_commit(lambda: forget_vocabulary(workspace_id))
    publish(CatalogChanged(workspace_id=workspace_id))


def _text(value: Any, field_name: str, limit: int, *, required: bool = True, where: str = "") -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{where}{field_name} must be text.", field=field_name)
    text = value.strip()
    if required and not text:
        raise ValidationFailed(f"{where}{field_name} is empty; it is required.", field=field_name)
    if len(text) > limit:
        raise ValidationFailed(f"{where}{field_name} is {len(text)} characters; at most {limit} are allowed.",
                               field=field_name)
    if "\x00" in text:
        raise ValidationFailed(f"{where}{field_name} contains a NUL character; remove it.", field=field_name)
    return text


def _key(value: Any, name: str, limit: int, *, where: str = "", field_name: str | None = None) -> str:
    text = _text(value, field_name or name, limit, where=where)
    if not _KEY_RE.match(text):
        raise ValidationFailed(f"{where}{name} {text!r} has spaces or control characters; a key is one word, "
                               "e.g. NW-100234 or trail-jacket-blk-m.", field=field_name or name)
    return text


def _link(value: Any, field_name: str) -> str:
    text = _text(value, field_name, 500, required=False)
    if text:
        try:
            _url(text)
        except DjangoValidationError:
            raise ValidationFailed(f"{field_name} {text!r} is not an http or https address.", field=field_name) from None
    return text


def _flag(value: Any, field_name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(f"{field_name} must be true or false.", field=field_name)
    return value


def _quantity(value: Any, *, where: str = "", field_name: str = "quantity") -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(f"{where}quantity must be a whole number, not {value!r}.", code="invalid_quantity",
                               field=field_name)
    if value < 0:
        raise ValidationFailed(f"{where}quantity {value} is negative; send the stock on hand, 0 when sold out.",
                               code="negative_quantity", field=field_name)
    if value > MAX_QUANTITY:
        raise ValidationFailed(f"{where}quantity {value} is too large.", code="invalid_quantity", field=field_name)
    return value


def _date(value: Any, field_name: str, *, where: str = "") -> date | None:
    if value is None:
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationFailed(f"{where}{field_name} must be a date such as 2026-03-14.", field=field_name)
    if not 2000 <= value.year <= 2200:
        raise ValidationFailed(f"{where}{field_name} {value.isoformat()} is not a plausible date.", field=field_name)
    return value


def _timestamp(value: Any, field_name: str, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise ValidationFailed(f"{field_name} is required: when it happened, with a time zone.", field=field_name)
        return
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(f"{field_name} needs a time zone, e.g. 2026-03-01T09:30:00Z.", field=field_name)
    if not 1970 <= value.year <= 2200:
        raise ValidationFailed(f"{field_name} {value.isoformat()} is not a plausible time.", field=field_name)


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("email is required: the address the order was placed with.", field="email")
    return _identity(IdentityKind.EMAIL, value, "email")


def _identity(kind: str, value: str, field_name: str) -> str:
    try:
        return normalize(kind, value)
    except ValidationFailed as refused:
        raise ValidationFailed(refused.message, field=field_name) from None


def _attributes(value: Any, field_name: str, *, text_only: bool, where: str = "") -> dict[str, Any]:
    """Names in lower case ("Color" is "color"); a variant's values are text (size 10 is "10")."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{where}attributes must be an object of name → value.", field=field_name)
    if len(value) > MAX_ATTRIBUTES:
        raise ValidationFailed(f"{where}at most {MAX_ATTRIBUTES} attributes.", field=field_name)
    clean: dict[str, Any] = {}
    for raw_name, raw in value.items():
        name = raw_name.strip().casefold() if isinstance(raw_name, str) else ""
        if not _ATTRIBUTE_NAME_RE.match(name):
            raise ValidationFailed(f"{where}attribute name {raw_name!r} is not usable: 1–40 letters, digits, spaces, "
                                   "- or _.", field=field_name)
        if name in clean:
            raise ValidationFailed(f"{where}attribute {name!r} is given twice.", field=field_name)
        clean[name] = _attribute_value(raw, name, field_name, text_only, where)
    return clean


def _attribute_value(raw: Any, name: str, field_name: str, text_only: bool, where: str) -> Any:
    if isinstance(raw, bool):
        if text_only:
            raise ValidationFailed(f"{where}option {name!r} must be text such as \"black\" or \"M\".", field=field_name)
        return raw
    if isinstance(raw, int | float | Decimal):
        if text_only:
            return _number_text(raw)
        return raw if isinstance(raw, int | float) else float(raw)
    if isinstance(raw, str) and raw.strip():
        text = raw.strip()
        limit = 100 if text_only else 2000
        if len(text) > limit:
            raise ValidationFailed(f"{where}attribute {name!r} is longer than {limit} characters.", field=field_name)
        return text
    raise ValidationFailed(f"{where}attribute {name!r} must be text{'' if text_only else ', a number or true/false'}, "
                           "not empty.", field=field_name)


def _number_text(value: int | float | Decimal) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
