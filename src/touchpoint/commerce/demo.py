"""The demo store's catalog and order history: Northwind Outfitters sells outdoor gear.

Sixty products over eight types (jackets, boots, backpacks, tents, sleeping bags, socks, gloves, water
bottles) with colors and sizes, prices in USD, stock per variant (some sold out, most of those with a
restock date a few weeks ahead), and orders for the demo customers with parcels in every state.

Every conversation of the demo that names an order number gets that order, placed a few days before
the customer wrote and in the state the conversation is about (a parcel in transit or held up for
"where is my order", delivered for returns and damage, cancelled, refunded), so the order the agent
reads about is the one in the sidebar. Other customers get a purchase history of their own.

Like the rest of the demo this is a history import: rows are bulk-inserted in what the services would
have written (totals that add up, the customer the checkout email resolves to, lines linked to their
variants), from a fixed seed and times counted back from the start of today, so two loads on the same
day are identical. Orders are in the customer's own currency (converted at fixed demo rates); outside
the US, prices include VAT or GST.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from touchpoint.accounts.models import Workspace
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
from touchpoint.conversations.models import Conversation
from touchpoint.customers.models import Customer, Identity, IdentityKind

SEED_OFFSET = 7  # the commerce data draws from its own stream, so the conversations stay as they were
SITE = "https://northwind.example"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    """One product line of the catalog: name, base price in USD, colors, and what it is about."""

    name: str
    price: int
    colors: tuple[str, ...]
    description: str
    material: str = ""


SIZES = {
    "jacket": ("XS", "S", "M", "L", "XL", "XXL"), "boots": ("7", "8", "9", "10", "11", "12", "13"),
    "backpack": ("S/M", "M/L"), "tent": (), "sleeping bag": ("Regular", "Long"), "socks": ("S", "M", "L", "XL"),
    "gloves": ("XS", "S", "M", "L", "XL"), "water bottle": (),
}
CATALOG: dict[str, tuple[Line, ...]] = {
    "jacket": (
        Line("Ridgeline Rain Jacket", 129, ("black", "red", "navy"),
             "Three-layer waterproof shell with taped seams, pit zips and a helmet-compatible hood.", "recycled nylon"),
        Line("Summit Down Jacket", 249, ("black", "blue", "orange"),
             "800-fill responsibly sourced goose down in a windproof shell, for cold summits.", "goose down"),
        Line("Trailhead Softshell Jacket", 139, ("grey", "green"),
             "Stretchy, breathable and water-repellent for fast hikes in changeable weather.", "softshell"),
        Line("Storm Guard Parka", 299, ("black", "olive"),
             "A long insulated parka with a waterproof shell and a fleece-lined hood.", "polyester"),
        Line("Featherlite Wind Shell", 89, ("yellow", "blue", "black"),
             "A 95 g wind shell that packs into its own chest pocket.", "ripstop nylon"),
        Line("Cascade Insulated Jacket", 179, ("red", "black", "green"),
             "Synthetic insulation that stays warm when wet; a favourite for winter hiking.", "synthetic fill"),
        Line("Harbor Waxed Cotton Jacket", 199, ("olive", "brown"),
             "Classic waxed cotton with a corduroy collar; rewax once a season.", "waxed cotton"),
        Line("Basecamp Fleece Jacket", 79, ("grey", "navy", "red", "green"),
             "A warm mid-layer fleece with two zipped hand pockets.", "recycled fleece"),
    ),
    "boots": (
        Line("Cascade Hiking Boots", 165, ("brown",),
             "Waterproof leather boots with a grippy lug sole for rocky trails.", "leather"),
        Line("Granite Mountaineering Boots", 289, ("orange", "black"),
             "Stiff, crampon-compatible boots for glaciers and alpine routes.", "leather"),
        Line("Trailblazer Mid Boots", 139, ("grey", "blue"),
             "Light mid-cut boots with a waterproof membrane for day hikes.", "mesh"),
        Line("Alpine Winter Boots", 189, ("black", "brown"),
             "Insulated to -30 °C with a felt liner and a snow-proof gaiter.", "nubuck"),
        Line("Meadow Light Hikers", 119, ("green", "grey"),
             "Low-cut breathable hikers for warm days on easy trails.", "mesh"),
        Line("Scree Approach Boots", 149, ("grey", "orange"),
             "Sticky rubber toe and sole for scrambling approaches.", "suede"),
        Line("Tundra Insulated Boots", 209, ("black",),
             "Warm, waterproof boots for winter camping and snowshoeing.", "leather"),
        Line("Canyon Desert Boots", 135, ("tan", "brown"),
             "Breathable suede boots that keep the sand out.", "suede"),
    ),
    "backpack": (
        Line("Summit 35 Daypack", 119, ("black", "blue", "red"),
             "A 35-litre pack with a rain cover, hip belt and hydration sleeve."),
        Line("Trekker 65 Backpack", 259, ("green", "grey"),
             "A 65-litre trekking pack with an adjustable back system for multi-day trips."),
        Line("Ridgeline 22 Daypack", 89, ("black", "yellow", "blue"),
             "A light 22-litre daypack with stretch side pockets."),
        Line("Alpine 45 Climbing Pack", 179, ("orange", "black"),
             "A stripped-down 45-litre pack with ice-axe and rope attachments."),
        Line("Urban Trail 28 Pack", 99, ("grey", "black"),
             "A 28-litre pack with a padded laptop sleeve, for the commute and the hills."),
        Line("Hydro 12 Running Vest", 79, ("blue", "black"),
             "A snug 12-litre vest with two soft flasks for trail running."),
        Line("Expedition 80 Backpack", 329, ("red", "green"),
             "An 80-litre load carrier for long expeditions and winter camping."),
        Line("Canvas Rucksack", 109, ("olive", "brown"),
             "A waxed-canvas rucksack with leather straps.", "waxed canvas"),
    ),
    "tent": (
        Line("Featherlite 1 Tent", 329, ("green",), "A 1.1 kg one-person tent for fast and light trips."),
        Line("Basecamp 2 Tent", 249, ("green", "orange"), "A roomy two-person tent with two doors and two porches."),
        Line("Ridgeline 3 Tent", 399, ("green", "grey"), "A three-person backpacking tent with a full-coverage fly."),
        Line("Family Dome 6 Tent", 549, ("blue",), "A six-person dome with two bedrooms and a standing-height living room."),
        Line("Storm 2 Mountaineering Tent", 649, ("orange", "yellow"),
             "A four-season geodesic tent that shrugs off high winds and snow loads."),
        Line("Trekking Pole Shelter", 219, ("grey",), "A 700 g single-wall shelter pitched with your trekking poles."),
        Line("Canopy Shelter", 159, ("green", "grey"), "A quick-pitch tarp shelter for shade and rain."),
    ),
    "sleeping bag": (
        Line("Alpine Down Sleeping Bag", 289, ("navy", "red"),
             "A 650-fill down bag rated to -7 °C, with a draft collar and a two-way zip.", "down"),
        Line("Summer Breeze Sleeping Bag", 89, ("green", "blue"),
             "A light synthetic bag for warm nights, rated to 10 °C.", "synthetic fill"),
        Line("Three-Season Synthetic Bag", 149, ("orange", "grey"),
             "Warm to -2 °C and happy in damp weather.", "synthetic fill"),
        Line("Expedition Down Bag", 549, ("red",), "900-fill down rated to -29 °C for polar and high-altitude trips.",
             "down"),
        Line("Kids Camp Sleeping Bag", 59, ("blue", "green"), "A cosy bag for campers up to 1.5 m tall.", "synthetic fill"),
        Line("Double Duo Sleeping Bag", 199, ("navy",), "A two-person bag that unzips into a quilt.", "synthetic fill"),
        Line("Featherlite Down Quilt", 229, ("black", "green"), "A 520 g down quilt for ultralight sleep systems.",
             "down"),
    ),
    "socks": (
        Line("Merino Trail Socks", 19, ("grey", "blue"), "Cushioned merino socks that stay warm when wet.", "merino wool"),
        Line("Merino Hiker Crew Socks", 24, ("grey", "green", "red"), "Full-cushion crew socks for long days in boots.",
             "merino wool"),
        Line("Lightweight Running Socks", 14, ("black", "white"), "Thin, quick-drying socks for trail running.",
             "nylon"),
        Line("Expedition Wool Socks", 29, ("grey",), "Heavy-weight wool socks for mountaineering boots.", "merino wool"),
        Line("Liner Socks 2-Pack", 16, ("black", "white"), "Thin liners that stop blisters under thicker socks.",
             "polypropylene"),
        Line("Compression Trek Socks", 27, ("black", "blue"), "Graduated compression for long descents.", "nylon"),
        Line("Kids Merino Socks", 15, ("red", "blue", "green"), "Soft merino socks in kids' sizes.", "merino wool"),
    ),
    "gloves": (
        Line("Summit Insulated Gloves", 69, ("black", "red"), "Waterproof, insulated gloves for skiing and winter hikes.",
             "nylon"),
        Line("Trail Liner Gloves", 25, ("black", "grey"), "Thin merino liners that work with touchscreens.",
             "merino wool"),
        Line("Storm Shell Mittens", 79, ("black",), "Waterproof overmitts with a long gauntlet.", "nylon"),
        Line("Touchscreen Fleece Gloves", 29, ("grey", "navy", "black"), "Warm fleece gloves with touchscreen fingertips.",
             "fleece"),
        Line("Alpine Leather Work Gloves", 45, ("brown",), "Tough goatskin gloves for rope work and camp chores.",
             "leather"),
        Line("Expedition Down Mitts", 119, ("orange", "black"), "Down-filled mitts for the coldest summit days.",
             "down"),
        Line("Windproof Running Gloves", 35, ("black", "yellow"), "Light windproof gloves with reflective details.",
             "softshell"),
    ),
    "water bottle": (
        Line("Insulated Steel Bottle 750 ml", 32, ("green", "black", "blue", "white"),
             "Keeps drinks cold for 24 hours or hot for 12.", "stainless steel"),
        Line("Trail Flask 500 ml", 24, ("blue", "black"), "A soft flask that fits running-vest pockets.", "TPU"),
        Line("Collapsible Soft Bottle 1 L", 19, ("grey", "orange"), "Rolls up small when empty.", "TPU"),
        Line("Wide-Mouth Bottle 1 L", 18, ("blue", "green", "red", "white"), "A tough, BPA-free classic.", "Tritan"),
        Line("Filter Bottle 600 ml", 39, ("blue",), "Filters bacteria and protozoa from streams as you drink.",
             "Tritan"),
        Line("Kids Steel Bottle 350 ml", 22, ("red", "blue", "green"), "A leak-proof bottle sized for small hands.",
             "stainless steel"),
        Line("Hydration Reservoir 2 L", 35, ("blue",), "A 2-litre bladder with a bite valve for any daypack.", "TPU"),
        Line("Titanium Bottle 800 ml", 79, ("grey",), "Light, tough and fine over a camp stove.", "titanium"),
    ),
}
COLOR_CODES = {"black": "BLK", "red": "RED", "navy": "NVY", "blue": "BLU", "orange": "ORG", "grey": "GRY",
               "green": "GRN", "olive": "OLV", "yellow": "YEL", "brown": "BRN", "tan": "TAN", "white": "WHT"}
TYPE_CODES = {"jacket": "JK", "boots": "BT", "backpack": "BP", "tent": "TN", "sleeping bag": "SB", "socks": "SK",
              "gloves": "GL", "water bottle": "WB"}
# Demo exchange rates from the USD list price, and the tax each market charges (included outside the US).
RATES = {"USD": Decimal("1"), "GBP": Decimal("0.79"), "EUR": Decimal("0.92"), "AUD": Decimal("1.52")}
TAX = {"US": Decimal("0.08"), "GB": Decimal("0.20"), "IE": Decimal("0.23"), "AU": Decimal("0.10"),
       "FR": Decimal("0.20"), "DE": Decimal("0.19"), "AT": Decimal("0.20"), "ES": Decimal("0.21"),
       "IT": Decimal("0.22"), "NL": Decimal("0.21")}
CARRIERS = {"GB": ("Royal Mail", "DPD", "Evri"), "US": ("UPS", "USPS", "FedEx"), "FR": ("Colissimo", "Chronopost"),
            "DE": ("DHL", "Hermes"), "AT": ("Post AT", "DHL"), "ES": ("Correos", "SEUR"), "IT": ("BRT", "Poste Italiane"),
            "NL": ("PostNL", "DHL"), "IE": ("An Post", "DPD"), "AU": ("Australia Post", "StarTrack")}
FREE_SHIPPING_OVER = Decimal("100")
SHIPPING = Decimal("5.95")
# What the conversation is about (its tags) → the order's and its parcel's state.
TOPIC_STATES = (
    ("cancellation", "cancelled"), ("refund", "refunded"), ("return", "returned"), ("exchange", "delivered"),
    ("damaged", "delivered"), ("wrong-item", "delivered"), ("order-status", "moving"), ("address-change", "label"),
    ("payment", "paid"), ("discount-code", "delivered"),
)


@dataclass
class CatalogRows:
    products: list[Product]
    variants: list[Variant]  # in catalog order


def load_commerce_demo(workspace: Workspace, *, today: datetime, seed: int) -> dict[str, int]:
    """The catalog, stock and order history of the demo workspace; the caller holds the transaction."""
    rng = random.Random(seed + SEED_OFFSET)
    rows = _catalog(workspace, rng, today)
    orders = _history(workspace, rng, today, rows.variants)
    return {"products": len(rows.products), "variants": len(rows.variants), "orders": orders}


# ---- the catalog --------------------------------------------------------------------------------


def _handle(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _catalog(workspace: Workspace, rng: random.Random, today: datetime) -> CatalogRows:
    stamp = today - timedelta(days=120)
    products: list[Product] = []
    variants: list[Variant] = []
    levels: list[InventoryLevel] = []
    for product_type, lines in CATALOG.items():
        for n, line in enumerate(lines, 1):
            product = Product(workspace=workspace, handle=_handle(line.name), name=line.name, product_type=product_type,
                              description=line.description, url=f"{SITE}/products/{_handle(line.name)}",
                              attributes={"material": line.material} if line.material else {},
                              created_at=stamp, updated_at=stamp)
            products.append(product)
            sold_out = rng.random() < 0.08  # the whole product, waiting for a delivery
            for color in line.colors:
                for size in SIZES[product_type] or ("",):
                    variant, level = _variant(workspace, product, product_type, n, line, color, size, sold_out, rng,
                                              today, stamp)
                    variants.append(variant)
                    levels.append(level)
    Product.objects.bulk_create(products, batch_size=500)
    Variant.objects.bulk_create(variants, batch_size=500)
    InventoryLevel.objects.bulk_create(levels, batch_size=500)
    CatalogState.objects.create(workspace=workspace, version=1, changed_at=stamp)
    return CatalogRows(products=products, variants=variants)


def _variant(
    workspace: Workspace, product: Product, product_type: str, n: int, line: Line, color: str, size: str,
    sold_out: bool, rng: random.Random, today: datetime, stamp: datetime,
) -> tuple[Variant, InventoryLevel]:
    sku = f"{TYPE_CODES[product_type]}{n:02d}-{COLOR_CODES[color]}" + (f"-{size.replace('/', '')}" if size else "")
    attributes = {"color": color, **({"size": size} if size else {})}
    price = Decimal(line.price) + (Decimal(20) if size in ("Long", "XXL") else 0)
    out = sold_out or rng.random() < 0.08
    quantity = 0 if out else rng.choice((1, 2, 3, 5, 8, 12, 15, 20, 30, 45, 60))
    restock = None
    if out and rng.random() < 0.8:  # most sold-out variants have a delivery on the way
        restock = (today + timedelta(days=rng.randint(5, 45))).date()
    variant = Variant(workspace=workspace, product=product, sku=sku, attributes=attributes, price=price, currency="USD",
                      created_at=stamp, updated_at=stamp)
    level = InventoryLevel(workspace=workspace, variant=variant, quantity=quantity, restock_date=restock,
                           updated_at=today - timedelta(hours=rng.randint(1, 30)))
    return variant, level


# ---- the orders ---------------------------------------------------------------------------------


@dataclass
class Buyer:
    customer: Customer
    email: str
    external: str
    country: str
    currency: str


def _buyers(workspace: Workspace) -> dict[int, Buyer]:
    """Customers who can order: those with an email (anonymous chat visitors cannot)."""
    identities: dict[int, dict[str, str]] = {}
    for customer_id, kind, value in (Identity.objects.filter(workspace=workspace, kind__in=(IdentityKind.EMAIL,
                                                                                              IdentityKind.EXTERNAL))
                                     .order_by("customer_id", "kind", "value").values_list("customer_id", "kind", "value")):
        identities.setdefault(customer_id, {}).setdefault(kind, value)
    buyers = {}
    for customer in Customer.objects.filter(workspace=workspace).order_by("created_at", "name", "id"):
        found = identities.get(customer.pk, {})
        if IdentityKind.EMAIL not in found:
            continue
        attributes = customer.custom_attributes
        currency = attributes.get("currency") if attributes.get("currency") in RATES else "USD"
        buyers[customer.pk] = Buyer(customer=customer, email=found[IdentityKind.EMAIL],
                                    external=found.get(IdentityKind.EXTERNAL, ""),
                                    country=attributes.get("country", "US"), currency=currency)
    return buyers


@dataclass
class Planned:
    buyer: Buyer
    number: str
    placed_at: datetime
    state: str  # delivered, moving (or one of its states), label, paid, cancelled, refunded, returned, placed


MOVING = ("moving", "in_transit", "out_for_delivery", "exception")


def _history(workspace: Workspace, rng: random.Random, today: datetime, variants: list[Variant]) -> int:
    buyers = _buyers(workspace)
    planned, taken = _orders_from_conversations(workspace, buyers, rng, today)
    numbers = (f"NW-{n}" for n in range(100100, 1000000) if f"NW-{n}" not in taken)  # never one a chat names
    for buyer in buyers.values():
        for _ in range(rng.choices((0, 1, 2, 3), weights=(35, 40, 17, 8))[0]):
            placed = today - timedelta(days=rng.randint(1, 150), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
            if placed < buyer.customer.created_at:
                continue
            planned.append(Planned(buyer, next(numbers), placed, _state_by_age(rng, today - placed)))
    planned += _showcase(list(buyers.values()), numbers, rng, today)
    planned.sort(key=lambda p: (p.placed_at, p.number))
    offered = [v for v in variants if v.price > 0]
    orders, lines, shipments = [], [], []
    for plan in planned:
        order, order_lines = _order(workspace, plan, rng, offered)
        orders.append(order)
        lines.append(order_lines)
        shipments.append(_shipment(workspace, order, plan, rng, today))
    Order.objects.bulk_create(orders, batch_size=500)
    OrderLine.objects.bulk_create([line for group in lines for line in group], batch_size=1000)
    Shipment.objects.bulk_create([s for s in shipments if s is not None], batch_size=500)
    return len(orders)


# A few recent orders whose parcels are in each state, whatever day the demo is loaded on.
SHOWCASE = (("label", 1), ("in_transit", 2), ("out_for_delivery", 2), ("exception", 3), ("placed", 0),
            ("paid", 1), ("in_transit", 3), ("delivered", 5))


def _showcase(buyers: list[Buyer], numbers, rng: random.Random, today: datetime) -> list[Planned]:
    picked = [b for b in buyers if b.customer.created_at < today - timedelta(days=6)][: len(SHOWCASE)]
    return [Planned(buyer, next(numbers), today - timedelta(days=days, hours=rng.randint(2, 12)), state)
            for buyer, (state, days) in zip(picked, SHOWCASE, strict=False)]


def _orders_from_conversations(
    workspace: Workspace, buyers: dict[int, Buyer], rng: random.Random, today: datetime,
) -> tuple[list[Planned], set[str]]:
    """The order each order-related conversation names, in the state the conversation is about; and
    every number the conversations name."""
    planned: list[Planned] = []
    seen: set[str] = set()
    conversations = (Conversation.objects.filter(workspace=workspace, custom_fields__order_number__isnull=False)
                     .order_by("created_at", "id").prefetch_related("tags"))
    for conversation in conversations:
        number = str(conversation.custom_fields.get("order_number", "")).strip()
        buyer = buyers.get(conversation.customer_id)
        if not number or number.upper() in seen or buyer is None:
            seen.add(number.upper())
            continue  # two conversations drawn with one number: the first keeps it
        seen.add(number.upper())
        tags = {t.name for t in conversation.tags.all()}
        state = next((s for tag, s in TOPIC_STATES if tag in tags), "delivered")
        placed = conversation.created_at - timedelta(days=rng.randint(2, 8), hours=rng.randint(0, 20))
        if state == "moving" and today - conversation.created_at > timedelta(days=10):
            state = "delivered"  # long since arrived
        planned.append(Planned(buyer, number, max(placed, buyer.customer.created_at + timedelta(minutes=1)), state))
    return planned, seen


def _state_by_age(rng: random.Random, age: timedelta) -> str:
    if age < timedelta(days=1):
        return rng.choice(("placed", "paid", "label"))
    if age < timedelta(days=5):
        return rng.choices(("moving", "label", "delivered"), weights=(70, 10, 20))[0]
    return rng.choices(("delivered", "cancelled", "refunded", "returned"), weights=(88, 4, 4, 4))[0]


def _price(usd: Decimal, currency: str) -> Decimal:
    """A shelf price in the customer's currency: converted, then ending in .99 as shops price."""
    if currency == "USD":
        return usd.quantize(CENT)
    return (usd * RATES[currency]).quantize(Decimal(1), rounding=ROUND_HALF_UP) - CENT


def _order(workspace: Workspace, plan: Planned, rng: random.Random, offered: list[Variant]) -> tuple[Order, list]:
    buyer, currency = plan.buyer, plan.buyer.currency
    picks = rng.sample(offered, rng.choices((1, 2, 3), weights=(55, 30, 15))[0])
    lines = []
    for position, variant in enumerate(picks, 1):
        quantity = rng.choice((1, 1, 1, 2, 3)) if variant.product.product_type == "socks" else rng.choice((1, 1, 1, 2))
        name = f"{variant.product.name} ({option_text(variant.attributes)})"
        lines.append(OrderLine(workspace=workspace, position=position, sku=variant.sku, variant=variant, name=name,
                               quantity=quantity, unit_price=_price(variant.price, currency)))
    subtotal = sum((x.unit_price * x.quantity for x in lines), Decimal(0))
    discount = (subtotal * Decimal("0.10")).quantize(CENT) if rng.random() < 0.15 else Decimal(0)
    shipping = Decimal(0) if subtotal - discount >= FREE_SHIPPING_OVER else SHIPPING
    rate = TAX.get(buyer.country, Decimal("0.20"))
    included = buyer.country != "US"
    if included:
        gross = subtotal - discount + shipping
        tax = (gross - gross / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        total = gross
    else:
        tax = ((subtotal - discount) * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        total = subtotal - discount + shipping + tax
    status = {"placed": OrderStatus.PLACED, "paid": OrderStatus.PAID, "label": OrderStatus.PAID,
              "cancelled": OrderStatus.CANCELLED, "refunded": OrderStatus.REFUNDED}.get(plan.state, OrderStatus.FULFILLED)
    if plan.state == "returned" and rng.random() < 0.5:
        status = OrderStatus.REFUNDED  # the return has arrived and been refunded; the others are on their way back
    if len(lines) > 1 and plan.state in MOVING and rng.random() < 0.2:
        status = OrderStatus.PARTIALLY_FULFILLED
    summary = ", ".join(f"{x.quantity} × {x.name}" if x.quantity > 1 else x.name for x in lines)
    order = Order(
        workspace=workspace, number=plan.number, number_key=plan.number.upper(), customer=buyer.customer,
        email=buyer.email, customer_ref=buyer.external, status=status, currency=currency, subtotal=subtotal,
        discount=discount, shipping=shipping, tax=tax, taxes_included=included, total=total,
        summary=summary[:300], placed_at=plan.placed_at, created_at=plan.placed_at, updated_at=plan.placed_at,
    )
    for line in lines:
        line.order = order
    return order, lines


def _shipment(workspace: Workspace, order: Order, plan: Planned, rng: random.Random, today: datetime) -> Shipment | None:
    if plan.state in ("placed", "paid", "cancelled"):
        return None
    carrier = rng.choice(CARRIERS.get(plan.buyer.country, CARRIERS["US"]))
    tracking = (f"1Z{rng.getrandbits(64):016X}" if carrier == "UPS"
                else f"{rng.randint(10**11, 10**12 - 1)}{plan.buyer.country}")
    shipped = plan.placed_at + timedelta(hours=rng.randint(6, 40))
    shipped = max(plan.placed_at + timedelta(hours=1), min(shipped, today - timedelta(hours=rng.randint(1, 6))))
    eta = (shipped + timedelta(days=rng.randint(2, 5))).date()
    status, delivered = ShipmentStatus.DELIVERED, None
    if plan.state == "label":
        status, shipped = ShipmentStatus.LABEL_CREATED, None
    elif plan.state in MOVING:
        status = ShipmentStatus(plan.state) if plan.state != "moving" else rng.choices(
            (ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.EXCEPTION),
            weights=(60, 20, 20))[0]
        shipped = min(shipped, today - timedelta(hours=rng.randint(2, 30)))
        eta = max(eta, (today + timedelta(days=rng.randint(0, 3))).date())
    if status == ShipmentStatus.DELIVERED:
        delivered = min(datetime.combine(eta, shipped.timetz()) + timedelta(hours=rng.randint(-20, 30)),
                        today - timedelta(minutes=rng.randint(10, 600)))
        delivered = max(delivered, shipped + timedelta(hours=12))
        if delivered >= today:  # too recent to have arrived before today: still on its way
            status, delivered = ShipmentStatus.IN_TRANSIT, None
    updated = delivered or shipped or plan.placed_at
    return Shipment(
        workspace=workspace, order=order, carrier=carrier, tracking_number=tracking,
        tracking_key=f"{carrier.casefold()}|{tracking.casefold()}",
        tracking_url=f"{SITE}/track/{_handle(carrier)}/{tracking}", status=status, shipped_at=shipped,
        estimated_delivery=eta, delivered_at=delivered, created_at=plan.placed_at, updated_at=updated,
    )
