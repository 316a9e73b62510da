"""What the bot can do for a customer, each a read of the store of record or the knowledge base turned
into an answer: find products, check stock, tell an order's status (only once verified), answer from
an article. Reads only, always inside one workspace: the dialogue decides when to call them and writes
the session; nothing here writes.

An `Answer` is what the customer is told: a lead sentence, product cards (webchat shows them as cards;
their text lines are kept in the message itself for agents and for SMS/WhatsApp, which carry text
only), and suggested replies. Every word comes from `replies.py` or from the workspace's own records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from touchpoint.commerce import selectors as commerce
from touchpoint.commerce.models import Order
from touchpoint.commerce.money import format_money
from touchpoint.core.errors import NotFound
from touchpoint.knowledge import selectors as knowledge
from touchpoint.knowledge.search import fold, query_terms

from .replies import QUICK_DONE, QUICK_HUMAN, say

CARDS_SHOWN = 4  # products per answer: enough to choose from in a chat bubble
STOCK_LINES = 8
LOW_STOCK = 3  # "only 2 left" at or below this
ARTICLE_MIN_COVERAGE = 0.5  # share of the question's words an article's title and snippet must contain


@dataclass(frozen=True)
class Card:
    """A product as the widget shows it; `line()` is the same for text-only channels."""

    title: str
    price: str
    stock: str
    url: str = ""
    note: str = ""
    product_id: int = 0

    def line(self) -> str:
        parts = [self.title, self.price, self.stock, self.note, self.url]
        return "• " + " — ".join(p for p in parts if p)

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "price": self.price, "stock": self.stock, "url": self.url, "note": self.note}


@dataclass(frozen=True)
class Answer:
    """One bot message. `progress`: whether the customer got something useful (an answer, a result, a
    question that moves the task on), which the dialogue counts to notice it is going nowhere."""

    text: str
    cards: tuple[Card, ...] = ()
    quick_replies: tuple[str, ...] = ()
    progress: bool = True
    footer: str = ""  # a line after the cards ("There are more...")

    def full_text(self) -> str:
        """The message as stored and as sent on text-only channels: the lead, the cards' lines, the footer."""
        lines = [self.text, *(card.line() for card in self.cards)]
        if self.footer:
            lines.append(self.footer)
        return "\n".join(line for line in lines if line)


# ---- products ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductQuery:
    """What the customer wants, as the slots hold it."""

    product_type: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    currency: str | None = None
    name: str = ""  # a product name they gave

    @property
    def empty(self) -> bool:
        return not (self.product_type or self.attributes or self.price_min is not None
                    or self.price_max is not None or self.name)


@dataclass(frozen=True)
class ProductResult:
    answer: Answer
    product_ids: tuple[int, ...] = ()
    widened: str = ""  # what was dropped to find something, if anything
    empty_catalog: bool = False


def catalog_is_empty(workspace_id: int) -> bool:
    return not commerce.catalog_vocabulary(workspace_id).product_types


def find_products(workspace_id: int, query: ProductQuery) -> ProductResult:
    """Products for the query, in stock first. Nothing matching: the same search without the price
    limit, then without the attributes, said plainly; still nothing, or an empty catalog: said so."""
    if catalog_is_empty(workspace_id):
        return ProductResult(Answer(say("catalog_empty"), quick_replies=(QUICK_HUMAN,), progress=False),
                             empty_catalog=True)
    found = _search(workspace_id, query)
    if found:
        return _cards_answer(found, query)
    for dropped, wider in _wider(query):
        found = _search(workspace_id, wider)
        if found:
            result = _cards_answer(found, wider, lead=say("widened", dropped=dropped))
            return ProductResult(result.answer, result.product_ids, widened=dropped)
    text = say("nothing_found", criteria=describe(query))
    return ProductResult(Answer(text, quick_replies=(QUICK_HUMAN,), progress=False))


def _search(workspace_id: int, query: ProductQuery) -> list[commerce.ProductMatch]:
    return commerce.find_products(workspace_id, product_type=query.product_type, attributes=query.attributes or None,
                                  price_min=query.price_min, price_max=query.price_max, text=query.name,
                                  limit=CARDS_SHOWN + 1)


def _wider(query: ProductQuery) -> list[tuple[str, ProductQuery]]:
    """Looser versions of the query, each with what it leaves out, in the order a shop assistant would
    suggest them: the budget first, then the colour or size."""
    tries: list[tuple[str, ProductQuery]] = []
    has_price = query.price_min is not None or query.price_max is not None
    if has_price:
        tries.append(("the price limit", ProductQuery(query.product_type, query.attributes, name=query.name)))
    if query.attributes:
        named = " and ".join(query.attributes.values())
        tries.append((f"“{named}”", ProductQuery(query.product_type, {}, query.price_min, query.price_max,
                                                   query.currency, query.name)))
        if has_price:
            tries.append((f"the price limit and “{named}”", ProductQuery(query.product_type, name=query.name)))
    if query.name and (query.product_type or query.attributes or has_price):
        tries.append(("the product name", ProductQuery(query.product_type, query.attributes, query.price_min,
                                                       query.price_max, query.currency)))
    return tries


def _cards_answer(found: list[commerce.ProductMatch], query: ProductQuery, *, lead: str = "") -> ProductResult:
    shown = found[:CARDS_SHOWN]
    criteria = describe(query)
    text = lead or say("products_found_one" if len(shown) == 1 else "products_found", criteria=criteria)
    footer = say("more_results") if len(found) > CARDS_SHOWN else ""
    cards = tuple(product_card(match) for match in shown)
    return ProductResult(Answer(text, cards, quick_replies=(QUICK_DONE, QUICK_HUMAN), footer=footer),
                         tuple(match.product_id for match in shown))


def product_card(match: commerce.ProductMatch) -> Card:
    prices = {variant.price for variant in match.matching_variants}
    price = format_money(match.price_from, match.currency)
    if len(prices) > 1:
        price = f"from {price}"
    if match.in_stock:
        stock = "In stock"
    elif match.restock_date:
        stock = f"Out of stock, back around {day(match.restock_date)}"
    else:
        stock = "Out of stock"
    return Card(title=match.name, price=price, stock=stock, url=safe_url(match.url), product_id=match.product_id)


def describe(query: ProductQuery) -> str:
    """" for black jackets in size M under $80": what was asked, in the customer's own terms but built
    from the catalog's words (never their raw text)."""
    sizes = {k: v for k, v in query.attributes.items() if k.casefold() == "size"}
    others = [v for k, v in query.attributes.items() if k.casefold() != "size"]
    noun = _plural(query.product_type) if query.product_type else ("products" if others or sizes else "")
    words = " ".join([*others, noun]).strip()
    if query.name:
        words = f"{words} named “{query.name}”".strip() if words else f"“{query.name}”"
    if sizes:
        words += f" in size {sizes.get('size') or next(iter(sizes.values()))}"
    price = _price_phrase(query)
    if price:
        words = f"{words} {price}".strip()
    return f" for {words}" if words else ""


def _price_phrase(query: ProductQuery) -> str:
    def money(amount: Decimal) -> str:
        return format_money(amount, query.currency) if query.currency else f"{amount:,.2f}".rstrip("0").rstrip(".")

    if query.price_min is not None and query.price_max is not None:
        return f"between {money(query.price_min)} and {money(query.price_max)}"
    if query.price_max is not None:
        return f"up to {money(query.price_max)}"
    if query.price_min is not None:
        return f"from {money(query.price_min)}"
    return ""


def _plural(noun: str) -> str:
    noun = noun.strip()
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun if noun.endswith("s") else f"{noun}es"
    return f"{noun}s"


# ---- stock ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockResult:
    answer: Answer
    product_id: int | None = None
    found: bool = False


def check_stock(workspace_id: int, *, product_id: int | None = None, name: str = "",
                attributes: dict[str, str] | None = None) -> StockResult:
    """Stock of each matching variant of one product, with the restock date of what has run out."""
    rows = commerce.stock_for(workspace_id, product_id=product_id, text=name if product_id is None else "",
                              attributes=attributes or None)
    if not rows and attributes:
        every = commerce.stock_for(workspace_id, product_id=product_id, text=name if product_id is None else "")
        if every:
            wanted = " / ".join(attributes.values())
            return StockResult(Answer(say("stock_none_matching", product=every[0].product_name,
                                          criteria=f"in {wanted}"), quick_replies=(QUICK_HUMAN,)),
                               every[0].product_id, found=True)
    if not rows:
        return StockResult(Answer(say("stock_unknown_product"), quick_replies=(QUICK_HUMAN,), progress=False))
    product = rows[0].product_id
    rows = [row for row in rows if row.product_id == product]  # the best match only: "the jacket" is one
    lines = [_stock_line(row) for row in rows[:STOCK_LINES]]
    if len(rows) > STOCK_LINES:
        lines.append(f"… and {len(rows) - STOCK_LINES} more options.")
    text = "\n".join([say("stock_intro", product=rows[0].product_name), *lines])
    return StockResult(Answer(text, quick_replies=(QUICK_DONE, QUICK_HUMAN)), product, found=True)


def options_of(attributes: dict) -> str:
    """"black / M": colour first, then size, then the rest by name (the database keeps no key order)."""
    def rank(key: str) -> tuple[int, str]:
        return (OPTION_ORDER.index(key) if key in OPTION_ORDER else len(OPTION_ORDER), key)

    return " / ".join(str(attributes[key]) for key in sorted(attributes, key=rank) if attributes[key])


OPTION_ORDER = ("color", "colour", "size")


def _stock_line(row: commerce.VariantStock) -> str:
    options = options_of(row.attributes) or row.sku
    if row.quantity > LOW_STOCK:
        state = "in stock"
    elif row.quantity > 0:
        state = f"only {row.quantity} left"
    elif row.restock_date:
        state = f"out of stock, back around {day(row.restock_date)}"
    else:
        state = "out of stock, no restock date yet"
    return f"• {options}: {state}"


# ---- orders --------------------------------------------------------------------------------------

ORDER_STATUS_WORDS = {
    "placed": "received, waiting for payment",
    "paid": "paid and being prepared",
    "partially_fulfilled": "partly shipped",
    "fulfilled": "shipped",
    "cancelled": "cancelled",
    "refunded": "refunded",
}
SHIPMENT_STATUS_WORDS = {
    "label_created": "label created, not yet with the carrier",
    "in_transit": "in transit",
    "out_for_delivery": "out for delivery",
    "delivered": "delivered",
    "exception": "held up by a delivery problem",
}


def verified_order(workspace_id: int, *, order_number: str, customer_id: int | None = None,
                   email: str | None = None) -> Order | None:
    """The order, only for its owner (see commerce.selectors.verified_order): None for an order that
    does not exist and for one that is someone else's alike."""
    return commerce.verified_order(workspace_id, order_number=order_number, customer_id=customer_id, email=email)


def latest_order_number(workspace_id: int, customer_id: int) -> str:
    number = commerce.latest_order_number(customer_id)
    if number and commerce.verified_order(workspace_id, order_number=number, customer_id=customer_id) is None:
        return ""  # belt and braces: never another workspace's order
    return number


def order_answer(order: Order, *, other_hint: bool = False) -> Answer:
    """Status, total, each parcel's carrier, tracking number and link, and the delivery estimate. The
    order's email address is never part of it."""
    summary = commerce.order_summary(order)
    lines = [say("order_status", number=summary.number, placed=day(summary.placed_at.date()),
                 total=summary.total_display, status=ORDER_STATUS_WORDS.get(summary.status, summary.status))]
    if not summary.shipments and summary.status in ("placed", "paid"):
        lines.append(say("order_no_shipment"))
    for parcel in summary.shipments:
        lines.append(say("order_shipment", carrier=parcel.carrier or "Your", tracking=parcel.tracking_number or "",
                         shipment_status=SHIPMENT_STATUS_WORDS.get(parcel.status, parcel.status),
                         eta=_eta(parcel)))
        url = safe_url(parcel.tracking_url)
        if url:
            lines.append(say("order_tracking_link", url=url))
    if other_hint:
        lines.append(say("order_other"))
    return Answer("\n".join(lines), quick_replies=(QUICK_DONE, QUICK_HUMAN))


def _eta(parcel: commerce.ShipmentSummary) -> str:
    if parcel.delivered_at is not None:
        return f" on {day(parcel.delivered_at.date())}"
    if parcel.estimated_delivery is not None:
        return f", expected {day(parcel.estimated_delivery)}"
    return ""


# ---- the knowledge base --------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleResult:
    answer: Answer
    article_id: int | None = None
    title: str = ""


def answer_from_articles(workspace_id: int, question: str) -> ArticleResult:
    """The first paragraph and link of the best article that really is about the question, or an honest
    "I don't have an answer" with the offer of a person (ARTICLE_MIN_COVERAGE; see `relevant`)."""
    hits = knowledge.search_articles(workspace_id, question, limit=3) if question.strip() else []
    terms = query_terms(question[:500])
    for hit in hits:
        if not relevant(hit, terms):
            continue
        try:
            found = knowledge.article_answer(workspace_id, hit.article_id)
        except NotFound:
            continue
        url = safe_url(found.url) or found.url
        text = "\n".join(part for part in (found.first_paragraph.strip(), say("article_link", title=found.title, url=url))
                         if part)
        return ArticleResult(Answer(text, quick_replies=(QUICK_DONE, QUICK_HUMAN)), hit.article_id, found.title)
    return ArticleResult(Answer(say("no_article"), quick_replies=(QUICK_HUMAN,), progress=False))


def relevant(hit, terms: Sequence[str]) -> bool:
    """Whether a search hit answers the question. The fused score only orders hits (a word in common is
    enough to be listed), so the bot asks more: half of the question's words (stop words left out, light
    stemming) appear in the article's title or snippet, or the semantic and lexical rankings agree on it
    (semantic first, lexical in its top three)."""
    if hit.semantic_rank == 1 and hit.lexical_rank is not None and hit.lexical_rank <= 3:
        return True
    if not terms:
        return False
    words = {fold(w) for w in (hit.title + " " + hit.snippet).split()}
    stems = {_stem(w.strip(".,;:!?()\"'")) for w in words}
    found = sum(1 for term in terms if _stem(term) in stems or any(s.startswith(_stem(term)) for s in stems
                                                                    if len(term) >= 4))
    return found / len(terms) >= ARTICLE_MIN_COVERAGE


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# ---- small shared helpers ------------------------------------------------------------------------


def day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def safe_url(url: str) -> str:
    """Only web links leave the bot: a javascript: or data: URL in a record is dropped."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://", "/")) and not url.startswith("//") else ""
