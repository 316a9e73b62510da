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
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

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
from touchpoint.commerce.search import IndexedProduct, TextIndex, query_words, relevance
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


@dataclass(frozen=True)
class _CatalogWords:
    """What is cached per workspace and catalog version: the vocabulary and the text index."""

    stamp: tuple
    vocabulary: Vocabulary
    index: TextIndex


_cache: OrderedDict[int, _CatalogWords] = OrderedDict()
_cache_lock = threading.Lock()


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
    return _catalog_words(workspace_id).vocabulary


def _catalog_words(workspace_id: int) -> _CatalogWords:
    stamp = _catalog_stamp(workspace_id)
    with _cache_lock:
        cached = _cache.get(workspace_id)
        if cached is not None and cached.stamp == stamp:
            _cache.move_to_end(workspace_id)
            return cached
    built = _build(workspace_id, stamp)
    with _cache_lock:
        _cache[workspace_id] = built
        _cache.move_to_end(workspace_id)
        while len(_cache) > _VOCABULARY_CACHE_SIZE:
            _cache.popitem(last=False)
    return built


def forget_vocabulary(workspace_id: int) -> None:
    """Drop this process's copy at once (the version check would find it stale on the next read anyway)."""
    with _cache_lock:
        _cache.pop(workspace_id, None)


def _build(workspace_id: int, stamp: tuple) -> _CatalogWords:
    """Two reads: the offered variants' options, and the products they belong to."""
    options: dict[int, list[dict]] = {}
    for product_id, attributes in offered_variants(workspace_id).values_list("product_id", "attributes"):
        options.setdefault(product_id, []).append(attributes if isinstance(attributes, dict) else {})
    products = (Product.objects.filter(workspace_id=workspace_id, active=True, pk__in=list(options))
                .values_list("pk", "name", "product_type", "description", "attributes"))
    types: dict[str, str] = {}
    names: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    indexed = []
    for pk, name, product_type, description, product_attributes in products:
        types.setdefault(product_type.casefold(), product_type)
        names.setdefault(name.casefold(), name)
        texts = [product_type]
        for variant_attributes in options[pk]:
            for key, value in effective_attributes(product_attributes, variant_attributes).items():
                if len(value) <= VOCABULARY_VALUE_MAX:
                    values.setdefault(key, {}).setdefault(value.casefold(), value)
                texts.append(value)
        indexed.append(IndexedProduct(pk, name, " ".join(dict.fromkeys(texts)), description))
    vocabulary = Vocabulary(
        product_types=_sorted(types),
        attributes={key: _sorted(found) for key, found in sorted(values.items())},
        product_names=_sorted(names),
    )
    return _CatalogWords(stamp=stamp, vocabulary=vocabulary, index=TextIndex.build(indexed))


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


FIND_LIMIT_MAX = 50
TEXT_CANDIDATES = 10  # a text query reads the variants of this many products per result asked for (at least 50)
TEXT_FLOOR = 0.5  # ... among those at least half as relevant as the best
STRONG_MATCH = 0.8  # a product at least this share as relevant as the best is a match for the text


def find_products(
    workspace_id: int, *, product_type: str | None = None, attributes: dict[str, str] | None = None,
    price_min: Decimal | None = None, price_max: Decimal | None = None, text: str = "", limit: int = 5,
) -> list[ProductMatch]:
    """Products whose variants fit every criterion: in stock first, then (with text) the best match,
    then the cheapest. With text, the products that match it well (STRONG_MATCH of the best) come
    before weaker ones, in stock first among each. Criteria left out do not filter; an empty catalog
    gives an empty list."""
    variants = offered_variants(workspace_id).select_related("product", "inventory")
    if product_type and product_type.strip():
        variants = variants.filter(product__product_type__in=_type_forms(product_type))
    if price_min is not None:
        variants = variants.filter(price__gte=price_min)
    if price_max is not None:
        variants = variants.filter(price__lte=price_max)
    words = query_words(text)
    scores: dict[int, float] = {}
    if words:
        scores = relevance(_catalog_words(workspace_id).index, words)
        if not scores:
            return []
        variants = variants.filter(product_id__in=_text_candidates(scores, limit))
    wanted = _wanted_attributes(attributes)
    variants = _narrowed_by_attributes(variants, wanted)
    by_product: dict[int, list[Variant]] = {}
    for variant in variants:
        if _has_attributes(variant, wanted):
            by_product.setdefault(variant.product_id, []).append(variant)
    matches = [_product_match(found, scores.get(pk, 0.0)) for pk, found in by_product.items()]
    strong = max((m.relevance for m in matches), default=0.0) * STRONG_MATCH
    # With text, the products that match it well come first (in stock first among them), then the
    # weaker matches: "down jacket" offers the down jacket, sold out, before an in-stock fleece.
    matches.sort(key=lambda m: (m.relevance < strong, not m.in_stock, -m.relevance, m.price_from,
                                m.name.casefold(), m.product_id))
    return matches[: max(0, min(limit, FIND_LIMIT_MAX))]


def stock_for(
    workspace_id: int, *, product_id: int | None = None, text: str = "", attributes: dict | None = None,
) -> list[VariantStock]:
    """Stock of one product's variants (by id, or the products best matching `text`), optionally only
    those with the given options. Nothing named, or nothing found: an empty list."""
    variants = offered_variants(workspace_id).select_related("product", "inventory")
    if product_id is not None:
        variants = variants.filter(product_id=product_id)
    elif query_words(text):
        variants = variants.filter(product_id__in=_best_products(workspace_id, query_words(text)))
    else:
        return []
    wanted = _wanted_attributes(attributes)
    rows = [v for v in variants if _has_attributes(v, wanted)]
    rows.sort(key=lambda v: (v.product.name.casefold(), v.product_id, _quantity(v) == 0, v.sku))
    return [VariantStock(sku=v.sku, product_name=v.product.name, attributes=dict(v.attributes),
                         quantity=_quantity(v), restock_date=_restock(v), product_id=v.product_id) for v in rows]


def _text_candidates(scores: dict[int, float], limit: int) -> list[int]:
    """The products worth reading for a text query: the most relevant, and none far below the best.
    In-stock products come first among these, so a relevant product in stock is not lost behind many
    weak matches, and the cost does not grow with the catalog."""
    top = max(scores.values())
    ranked = sorted((pk for pk, score in scores.items() if score >= top * TEXT_FLOOR), key=lambda pk: (-scores[pk], pk))
    return ranked[: max(50, limit * TEXT_CANDIDATES)]


def _best_products(workspace_id: int, words: list[str], *, keep: float = 0.8, most: int = 3) -> list[int]:
    """The products a name like "ridgline jacket" means: the best score and those nearly as good."""
    scores = relevance(_catalog_words(workspace_id).index, words)
    if not scores:
        return []
    top = max(scores.values())
    ranked = sorted(scores, key=lambda pk: (-scores[pk], pk))
    return [pk for pk in ranked if scores[pk] >= top * keep][:most]


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


_SQL_KEY_RE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


def _narrowed_by_attributes(variants: QuerySet[Variant], wanted: dict[str, str]) -> QuerySet[Variant]:
    """Let the database drop the variants that cannot match (a variant's own option, else its
    product's), so a large catalog is not read whole; `_has_attributes` still decides each row. Only
    plain names and ASCII values go into SQL, where case-insensitive means ASCII case."""
    for key, value in wanted.items():
        if not _SQL_KEY_RE.match(key) or not value.isascii():
            continue
        own = Q(**{f"attributes__{key}__iexact": value})
        inherited = Q(**{f"product__attributes__{key}__iexact": value}) & ~Q(attributes__has_key=key)
        variants = variants.filter(own | inherited)
    return variants


def _has_attributes(variant: Variant, wanted: dict[str, str]) -> bool:
    if not wanted:
        return True
    have = {k.casefold(): v.casefold() for k, v in effective_attributes(variant.product.attributes,
                                                                        variant.attributes).items()}
    return all(have.get(key) == value for key, value in wanted.items())


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
