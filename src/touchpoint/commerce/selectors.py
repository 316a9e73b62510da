"""Reads of the store of record: for the desk (inside an actor's workspace) and for the bot (pure reads
by workspace id, since the bot answers a customer, not a member of staff).

The bot's reads are shaped for its dialogue:
- `catalog_vocabulary` gives the words its entity extraction matches against (types, option values,
  product names), cached per workspace and refreshed when the catalog changes, in any process;
- `find_products` and `stock_for` answer "a black jacket under $80" and "is it in stock?", in-stock
  products first, with restock dates for what has run out;
- `verified_order` returns an order only to someone who owns it: the same None for an order that does
  not exist and for one that belongs to someone else, so a guess reveals nothing;
- `order_summary` is what the bot may then say about it (status, lines, tracking, delivery estimate).
Inactive products and variants are never offered.
"""

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from rapidfuzz import fuzz

from touchpoint.commerce.models import (
    CatalogState,
    InventoryLevel,
    Order,
    Product,
    Shipment,
    ShipmentStatus,
    Variant,
    in_currency,
)
from touchpoint.commerce.money import format_money
from touchpoint.core.clock import now
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor
from touchpoint.customers.models import Customer

# ---- the bot's vocabulary -------------------------------------------------------------------------

VOCABULARY_VALUE_MAX = 40  # longer attribute texts (care instructions, ...) are descriptions, not words to match
_VOCABULARY_CACHE_SIZE = 256


@dataclass(frozen=True)
class Vocabulary:
    """The words of a workspace's catalog, for matching what a customer types. Shared from a cache:
    read it, do not change it."""

    product_types: tuple[str, ...]
    attributes: dict[str, tuple[str, ...]]  # {"color": ("black", "red"), "size": ("M", "S")}
    product_names: tuple[str, ...]


_vocabularies: OrderedDict[int, tuple[tuple, Vocabulary]] = OrderedDict()
_vocabulary_lock = threading.Lock()


def catalog_version(workspace_id: int) -> int:
    """How many times the workspace's catalog changed; 0 before the first product."""
    return _catalog_stamp(workspace_id)[1]


def _catalog_stamp(workspace_id: int) -> tuple:
    """(row, version, time of the change): what the cache compares. The time makes a rebuilt workspace
    that happens to reach the same count of changes a different catalog."""
    return CatalogState.objects.filter(workspace_id=workspace_id).values_list("pk", "version", "changed_at").first() \
        or (0, 0, None)


def catalog_vocabulary(workspace_id: int) -> Vocabulary:
    """Product types, option values and names of what the workspace offers (active products only).

    Costs one indexed read while the catalog is unchanged; rebuilt when any process has written it."""
    version = _catalog_stamp(workspace_id)
    with _vocabulary_lock:
        cached = _vocabularies.get(workspace_id)
        if cached is not None and cached[0] == version:
            _vocabularies.move_to_end(workspace_id)
            return cached[1]
    vocabulary = _build_vocabulary(workspace_id)
    with _vocabulary_lock:
        _vocabularies[workspace_id] = (version, vocabulary)
        _vocabularies.move_to_end(workspace_id)
        while len(_vocabularies) > _VOCABULARY_CACHE_SIZE:
            _vocabularies.popitem(last=False)
    return vocabulary


def forget_vocabulary(workspace_id: int) -> None:
    """Drop this process's copy at once (the version check would find it stale on the next read anyway)."""
    with _vocabulary_lock:
        _vocabularies.pop(workspace_id, None)


def _build_vocabulary(workspace_id: int) -> Vocabulary:
    rows = offered_variants(workspace_id).values_list("attributes", "product__attributes", "product__product_type",
                                                      "product__name")
    types: dict[str, str] = {}
    names: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    for variant_attributes, product_attributes, product_type, name in rows:
        types.setdefault(product_type.casefold(), product_type)
        names.setdefault(name.casefold(), name)
        for key, value in effective_attributes(product_attributes, variant_attributes).items():
            if len(value) <= VOCABULARY_VALUE_MAX:
                values.setdefault(key, {}).setdefault(value.casefold(), value)
    return Vocabulary(
        product_types=_sorted(types),
        attributes={key: _sorted(found) for key, found in sorted(values.items())},
        product_names=_sorted(names),
    )


def _sorted(found: dict[str, str]) -> tuple[str, ...]:
    return tuple(found[key] for key in sorted(found))


def effective_attributes(product_attributes: Any, variant_attributes: Any) -> dict[str, str]:
    """A variant's options over its product's shared attributes; only text values describe a product."""
    merged: dict[str, str] = {}
    for source in (product_attributes, variant_attributes):
        if isinstance(source, dict):
            merged.update({str(k): v for k, v in source.items() if isinstance(v, str) and v})
    return merged


def offered_variants(workspace_id: int) -> QuerySet[Variant]:
    """What a customer can be offered: active variants of active products."""
    return Variant.objects.filter(workspace_id=workspace_id, active=True, product__active=True)


# ---- product finder and stock ---------------------------------------------------------------------


class VariantMatch(NamedTuple):
    sku: str
    attributes: dict[str, str]
    price: Decimal
    quantity: int


@dataclass(frozen=True)
class ProductMatch:
    product_id: int
    name: str
    type: str
    url: str
    price_from: Decimal  # the cheapest matching variant
    currency: str
    in_stock: bool  # some matching variant has stock
    restock_date: date | None  # when out of stock: the earliest announced restock of a matching variant
    matching_variants: list[VariantMatch]
    relevance: float = 0.0  # 0–1 how well `text` matched; 0 when no text was given


@dataclass(frozen=True)
class VariantStock:
    sku: str
    product_name: str
    attributes: dict[str, str]
    quantity: int
    restock_date: date | None
    product_id: int = 0


_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset("a an and any are at do does for from have i in is it me my of on or please the to want with "
                       "you your looking need some something".split())
MATCH_THRESHOLD = 80  # rapidfuzz ratio 0–100 above which two words are the same word with a typo
FIND_LIMIT_MAX = 50


def find_products(
    workspace_id: int, *, product_type: str | None = None, attributes: dict[str, str] | None = None,
    price_min: Decimal | None = None, price_max: Decimal | None = None, text: str = "", limit: int = 5,
) -> list[ProductMatch]:
    """Products whose variants fit every criterion: in stock first, then (with text) the best match,
    then the cheapest. Criteria left out do not filter; an empty catalog gives an empty list."""
    variants = offered_variants(workspace_id).select_related("product", "inventory")
    if product_type and product_type.strip():
        variants = variants.filter(product__product_type__in=_type_forms(product_type))
    if price_min is not None:
        variants = variants.filter(price__gte=price_min)
    if price_max is not None:
        variants = variants.filter(price__lte=price_max)
    wanted = _wanted_attributes(attributes)
    by_product: dict[int, list[Variant]] = {}
    for variant in variants:
        if _has_attributes(variant, wanted):
            by_product.setdefault(variant.product_id, []).append(variant)
    words = _words(text)
    matches = []
    for found in by_product.values():
        relevance = _relevance(found[0].product, words, found) if words else 0.0
        if words and relevance <= 0:
            continue
        matches.append(_product_match(found, relevance))
    matches.sort(key=lambda m: (not m.in_stock, -m.relevance, m.price_from, m.name.casefold(), m.product_id))
    return matches[: max(0, min(limit, FIND_LIMIT_MAX))]


def stock_for(
    workspace_id: int, *, product_id: int | None = None, text: str = "", attributes: dict | None = None,
) -> list[VariantStock]:
    """Stock of one product's variants (by id, or the products best matching `text`), optionally only
    those with the given options. Nothing named, or nothing found: an empty list."""
    variants = offered_variants(workspace_id).select_related("product", "inventory")
    if product_id is not None:
        variants = variants.filter(product_id=product_id)
    elif _words(text):
        product_ids = _best_products(workspace_id, _words(text))
        variants = variants.filter(product_id__in=product_ids)
    else:
        return []
    wanted = _wanted_attributes(attributes)
    rows = [v for v in variants if _has_attributes(v, wanted)]
    rows.sort(key=lambda v: (v.product.name.casefold(), v.product_id, _quantity(v) == 0, v.sku))
    return [VariantStock(sku=v.sku, product_name=v.product.name, attributes=dict(v.attributes),
                         quantity=_quantity(v), restock_date=_restock(v), product_id=v.product_id) for v in rows]


def _best_products(workspace_id: int, words: list[str], *, keep: float = 0.8, most: int = 3) -> list[int]:
    """The products a name like "ridgline jacket" means: the best score and those nearly as good."""
    products = Product.objects.filter(workspace_id=workspace_id, active=True)
    scored = [(score, p.pk) for p in products if (score := _relevance(p, words)) > 0]
    if not scored:
        return []
    best = max(score for score, _ in scored)
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [pk for score, pk in scored if score >= best * keep][:most]


def _type_forms(product_type: str) -> list[str]:
    """"jackets" finds "jacket" and the other way round; types are stored in lower case."""
    t = product_type.strip().casefold()
    forms = {t, f"{t}s", f"{t}es"}
    if t.endswith("es"):
        forms.add(t[:-2])
    if t.endswith("s"):
        forms.add(t[:-1])
    return sorted(forms)


def _wanted_attributes(attributes: dict | None) -> dict[str, str]:
    if not attributes:
        return {}
    return {str(k).strip().casefold(): str(v).strip().casefold() for k, v in attributes.items()
            if v is not None and str(v).strip()}


def _has_attributes(variant: Variant, wanted: dict[str, str]) -> bool:
    if not wanted:
        return True
    have = {k.casefold(): v.casefold() for k, v in effective_attributes(variant.product.attributes,
                                                                        variant.attributes).items()}
    return all(have.get(key) == value for key, value in wanted.items())


def _words(text: str) -> list[str]:
    words = [w for w in _WORD_RE.findall((text or "")[:500].casefold()) if w not in _STOPWORDS]
    return list(dict.fromkeys(w for w in words if len(w) >= 2))[:20]


def _relevance(product: Product, words: list[str], variants: Iterable[Variant] = ()) -> float:
    """Share of the words found in the product, typos allowed; a word in the name counts fully, one in
    the type or the options (of the variants at hand) nearly as much, one only in the description half."""
    name = _WORD_RE.findall(product.name.casefold())
    kind = _WORD_RE.findall(product.product_type.casefold())
    values = [*effective_attributes(product.attributes, {}).values(),
              *(v for variant in variants for v in effective_attributes({}, variant.attributes).values())]
    attrs = list(dict.fromkeys(w for v in values for w in _WORD_RE.findall(v.casefold())))
    description = _WORD_RE.findall(product.description.casefold()[:2000])
    total = 0.0
    for word in words:
        total += max(_found(word, name), 0.9 * _found(word, kind + attrs), 0.5 * _found(word, description))
    return round(total / len(words), 4)


def _found(word: str, haystack: Iterable[str]) -> float:
    best = 0.0
    for candidate in haystack:
        if candidate == word or (len(word) >= 4 and (candidate.startswith(word) or word.startswith(candidate)
                                                     and len(candidate) >= 4)):
            return 1.0
        if len(word) >= 4 and len(candidate) >= 3:
            score = fuzz.ratio(word, candidate)
            if score >= MATCH_THRESHOLD:
                best = max(best, score / 100)
    return best


def _product_match(variants: list[Variant], relevance: float) -> ProductMatch:
    variants = sorted(variants, key=lambda v: (_quantity(v) == 0, v.price, v.sku))
    product = variants[0].product
    cheapest = min(variants, key=lambda v: (v.price, v.sku))
    in_stock = any(_quantity(v) > 0 for v in variants)
    restocks = [d for v in variants if (d := _restock(v)) is not None]
    return ProductMatch(
        product_id=product.pk, name=product.name, type=product.product_type, url=product.url,
        price_from=cheapest.shown_price, currency=cheapest.currency, in_stock=in_stock,
        restock_date=None if in_stock or not restocks else min(restocks),
        matching_variants=[VariantMatch(v.sku, dict(v.attributes), v.shown_price, _quantity(v)) for v in variants],
        relevance=relevance,
    )


def _inventory(variant: Variant) -> InventoryLevel | None:
    try:
        return variant.inventory
    except InventoryLevel.DoesNotExist:
        return None


def _quantity(variant: Variant) -> int:
    level = _inventory(variant)
    return level.quantity if level is not None else 0


def _restock(variant: Variant) -> date | None:
    """The announced restock of a sold-out variant; a date already past announces nothing any more."""
    level = _inventory(variant)
    if level is None or level.quantity > 0 or level.restock_date is None:
        return None
    return level.restock_date if level.restock_date >= now().date() else None


# ---- orders for the bot -----------------------------------------------------------------------------


def order_key(number: str) -> str:
    """How an order number is compared: without surrounding spaces, any case ("nw-100234" is NW-100234)."""
    return (number or "").strip().upper()


def survivor_id(customer_id: int) -> int | None:
    """The customer a merged-away id now lives on (the id itself when not merged); None if unknown."""
    current = customer_id
    for _ in range(50):  # merges chain a few steps at most; a loop in the data must not hang a request
        row = Customer.objects.filter(pk=current).values_list("pk", "merged_into_id").first()
        if row is None:
            return None
        if row[1] is None:
            return current
        current = row[1]
    return None


def verified_order(
    workspace_id: int, *, order_number: str, customer_id: int | None = None, email: str | None = None,
) -> Order | None:
    """The order, only for someone who owns it: the customer it belongs to (or one merged with them),
    or a person who gives the email used at checkout (any case). Otherwise None, the same for an order
    that does not exist and for one that is not theirs."""
    key = order_key(order_number)
    if not key or (customer_id is None and not (email and email.strip())):
        return None
    order = Order.objects.filter(workspace_id=workspace_id, number_key=key).first()
    owner_ok = False
    if customer_id is not None:
        asking = survivor_id(customer_id)
        owner = survivor_id(order.customer_id) if order is not None else None
        owner_ok = asking is not None and asking == owner
    email_ok = bool(order is not None and email and email.strip().casefold() == order.email.casefold())
    return order if order is not None and (owner_ok or email_ok) else None


@dataclass(frozen=True)
class LineSummary:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class ShipmentSummary:
    carrier: str
    tracking_number: str
    tracking_url: str
    status: str
    estimated_delivery: date | None
    delivered_at: datetime | None
    shipped_at: datetime | None = None


@dataclass(frozen=True)
class OrderSummary:
    number: str
    status: str
    placed_at: datetime
    total: Decimal
    currency: str
    lines: tuple[LineSummary, ...]
    shipments: tuple[ShipmentSummary, ...]
    subtotal: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)

    @property
    def total_display(self) -> str:
        return format_money(self.total, self.currency)


def order_summary(order: Order) -> OrderSummary:
    """What may be told about a verified order, amounts in the order's currency."""
    lines = tuple(LineSummary(sku=line.sku, name=line.name, quantity=line.quantity,
                              unit_price=in_currency(line.unit_price, order.currency))
                  for line in order.lines.order_by("position"))
    shipments = tuple(ShipmentSummary(carrier=s.carrier, tracking_number=s.tracking_number, tracking_url=s.tracking_url,
                                      status=s.status, estimated_delivery=s.estimated_delivery,
                                      delivered_at=s.delivered_at, shipped_at=s.shipped_at)
                      for s in order.shipments.order_by("created_at", "id"))
    return OrderSummary(number=order.number, status=order.status, placed_at=order.placed_at,
                        total=order.money("total"), currency=order.currency, lines=lines, shipments=shipments,
                        subtotal=order.money("subtotal"), shipping=order.money("shipping"), tax=order.money("tax"),
                        discount=order.money("discount"))


def latest_order_number(customer_id: int) -> str:
    """The number of the customer's most recent order, or "" when they have none."""
    return Order.objects.filter(customer_id=customer_id).order_by("-placed_at", "-id").values_list(
        "number", flat=True).first() or ""


# ---- the desk's reads (inside the actor's workspace) ------------------------------------------------


def products_for(actor: Actor) -> QuerySet[Product]:
    return Product.objects.filter(workspace_id=actor.workspace_id)


def with_variants(products: QuerySet[Product]) -> QuerySet[Product]:
    return products.prefetch_related(
        Prefetch("variants", queryset=Variant.objects.select_related("inventory").order_by("sku")))


def access_product(actor: Actor, product_id: int) -> Product:
    found = with_variants(products_for(actor).filter(pk=product_id)).first()
    if found is None:
        raise NotFound(f"No product with id {product_id} in this workspace.")
    return found


def orders_for(actor: Actor) -> QuerySet[Order]:
    return Order.objects.filter(workspace_id=actor.workspace_id)


def with_details(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("customer").prefetch_related("lines", "shipments")


def access_order(actor: Actor, order_id: int) -> Order:
    found = with_details(orders_for(actor).filter(pk=order_id)).first()
    if found is None:
        raise NotFound(f"No order with id {order_id} in this workspace.")
    return found


@dataclass(frozen=True)
class OrderRow:
    """An order as the agent's sidebar lists it."""

    id: int
    number: str
    status: str
    status_label: str
    placed_at: datetime
    total: str  # formatted: $129.00
    summary: str
    carrier: str
    tracking_number: str
    tracking_url: str
    shipment_status: str
    shipment_label: str


def recent_orders(actor: Actor, customer_id: int, *, limit: int = 3) -> list[OrderRow]:
    """The customer's latest orders with their latest parcel's tracking: one query."""
    latest = Shipment.objects.filter(order=OuterRef("pk")).order_by("-created_at", "-id")
    rows = (orders_for(actor).filter(customer_id=customer_id).order_by("-placed_at", "-id")
            .annotate(carrier=Subquery(latest.values("carrier")[:1]),
                      tracking_number=Subquery(latest.values("tracking_number")[:1]),
                      tracking_url=Subquery(latest.values("tracking_url")[:1]),
                      shipment_status=Subquery(latest.values("status")[:1]))[:limit])
    return [OrderRow(id=o.pk, number=o.number, status=o.status, status_label=o.get_status_display(),
                     placed_at=o.placed_at, total=format_money(o.total, o.currency), summary=o.summary,
                     carrier=o.carrier or "", tracking_number=o.tracking_number or "",
                     tracking_url=o.tracking_url or "", shipment_status=o.shipment_status or "",
                     shipment_label=ShipmentStatus(o.shipment_status).label if o.shipment_status else "")
            for o in rows]
