"""What a customer's message names: order numbers, amounts of money, a price range, dates, email
addresses, and the catalog's product types, attributes and product names (typo-tolerant).

`extract_entities(text, vocabulary=None, today=None, ...)` is a pure function: no database, no model,
a few hundred microseconds for a chat message. The dialogue fills its slots from it; the handoff
summary shows it to the agent (`Entities.as_dict()` is JSON-ready).

How each kind is read (and what is deliberately not):
- **Order numbers**: "NW-100234" (one to four capital letters, a hyphen, 4–12 digits), "#100234",
  "order 100234" / "order number: 100234" / "order no. 100234", a message that is only a number of
  5–12 digits, and, with `order_prefixes=("NW",)`, any spelling of that prefix ("nw100234", "NW 100234").
  A prefixed number is returned as PREFIX-DIGITS in capitals; one without a prefix as its digits.
  Digits after "tracking" are not an order number.
- **Money**: a currency symbol ($ € £ ¥, "US$"), an ISO code (USD, EUR, GBP, CHF, CAD, AUD, JPY) or a
  word (dollars, bucks, euros, pounds, quid, francs) before or after a number. Both decimal conventions:
  "1,299.00" and "1.299,00" are 1299.00; "12,50" is 12.50; a lone separator followed by exactly three
  digits ("1.299", "1,299") groups thousands. Number words ("fifty euros") are not read.
- **Price range**: "under / below / less than / cheaper than / up to / at most / no more than / max /
  within / budget of X", "X or less", "over / above / more than / at least / min / starting at / from X",
  "X or more", "X+", "between X and Y", "from X to Y", "X to Y", "X-Y", "around / about / roughly /
  approximately / ~ X" (X ± 20 %, `approximate=True`). X may be a bare number ("less than 100") unless a
  unit follows it ("under 3 days"); a bare range takes `default_currency`. A lower and an upper bound
  in one message combine ("over $50 but under $100").
- **Dates**, relative to `today` (the workspace's local date; UTC today when not given): today,
  tonight, tomorrow, the day after tomorrow, yesterday; "in 3 days" / "in two weeks"; weekdays:
  "Monday", "this Monday" and "on Monday" are the first Monday on or after today, "next Monday" the
  first one after today, "last Monday" the latest before today; "12 March", "12th of March",
  "March 12", with or without a year (without one: the latest on or before today when a past-tense
  word comes shortly before, as in "ordered on 2 March", else the first on or after today, as in
  "deliver by 24 December"); ISO "2026-12-24"; "24/12/2026" and
  "24.12.2026" (day first unless `day_first=False`; numeric dates need a year, so "24/7" is no date).
  Ranges ("next week") are not dates here.
- **Emails**: lower-cased.
- **Catalog words** (needs `vocabulary`): product types, attribute values and product names matched
  word by word after light plural folding ("jackets" = "jacket"), with typos forgiven by length: words
  of up to four letters must match exactly; five to seven letters allow one inserted or dropped
  letter or two swapped neighbours; eight and more allow two edits; the first letter must be right
  (so "love" is not "glove", "sent" is not "tent"). Values of one or two characters ("M", "XL") and
  numbers ("10") count only next to their attribute's name ("size M", "size 10") or, for letters,
  written in capitals ("a jacket in M"). Common words that are also values ("long", "regular") count
  only next to the attribute's name or a product type ("long sleeping bag").

Only the first `MAX_TEXT` characters are read: a pasted 10,000-character log costs the same as a
paragraph, and never raises.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Indel

MAX_TEXT = 2_000
APPROXIMATE_SPREAD = Decimal("0.2")  # "around 60" = 48–72
NAME_SIMILARITY = 88  # rapidfuzz partial ratio for a product name written with a typo


class CatalogVocabulary(Protocol):
    """What entity extraction needs from a catalog; `touchpoint.commerce.selectors.Vocabulary` has it."""

    @property
    def product_types(self) -> Sequence[str]: ...

    @property
    def attributes(self) -> Mapping[str, Sequence[str]]: ...

    @property
    def product_names(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str | None  # ISO 4217; None: the amount had no currency (the store's own, for a range)

    def as_dict(self) -> dict[str, str | None]:
        return {"amount": str(self.amount), "currency": self.currency}


@dataclass(frozen=True)
class PriceRange:
    """Bounds inclusive; None is open. `approximate` when the customer said "around"."""

    minimum: Decimal | None
    maximum: Decimal | None
    currency: str | None
    approximate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"minimum": _str_or_none(self.minimum), "maximum": _str_or_none(self.maximum),
                "currency": self.currency, "approximate": self.approximate}


@dataclass(frozen=True)
class Mention:
    """Where in the text an entity was read: lets the dialogue quote it back or mask it."""

    kind: str  # order_number, money, price_range, date, email, product_type, attribute, product_name
    text: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Entities:
    order_numbers: tuple[str, ...] = ()
    money: tuple[Money, ...] = ()
    price_range: PriceRange | None = None
    dates: tuple[date, ...] = ()
    emails: tuple[str, ...] = ()
    product_types: tuple[str, ...] = ()
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # {"color": ("black",)}
    product_names: tuple[str, ...] = ()
    mentions: tuple[Mention, ...] = ()

    def attribute(self, name: str) -> str | None:
        """The first value given for an attribute, or None."""
        values = self.attributes.get(name)
        return values[0] if values else None

    def __bool__(self) -> bool:
        return bool(self.mentions)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the handoff summary and the API (amounts as strings, dates in ISO 8601)."""
        return {
            "order_numbers": list(self.order_numbers),
            "money": [m.as_dict() for m in self.money],
            "price_range": self.price_range.as_dict() if self.price_range else None,
            "dates": [d.isoformat() for d in self.dates],
            "emails": list(self.emails),
            "product_types": list(self.product_types),
            "attributes": {k: list(v) for k, v in self.attributes.items()},
            "product_names": list(self.product_names),
        }


def extract_entities(
    text: str, vocabulary: CatalogVocabulary | None = None, *, today: date | None = None,
    order_prefixes: Sequence[str] = (), default_currency: str | None = None, day_first: bool = True,
) -> Entities:
    """Every entity the message names, in the order written. See the module docstring for the rules."""
    if not isinstance(text, str) or not text.strip():
        return Entities()
    reader = _Reader(text[:MAX_TEXT])
    reader.emails()
    reader.order_numbers(tuple(p.strip().upper() for p in order_prefixes if p and p.strip()))
    reader.dates(today or _today(), day_first)
    reader.money_and_ranges(default_currency.upper() if default_currency else None)
    if vocabulary is not None:
        reader.catalog(_index(vocabulary))
    return reader.result()


def _today() -> date:
    from touchpoint.core.clock import now

    return now().date()


def _str_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# ---- the reader: each pass masks what it took, so a later pass cannot read it twice -------------


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.masked = text  # the text with what was read blanked out (same length, so offsets hold)
        self.mentions: list[Mention] = []
        self.order_numbers_found: list[str] = []
        self.money_found: list[Money] = []
        self.ranges: list[PriceRange] = []
        self.dates_found: list[date] = []
        self.emails_found: list[str] = []
        self.types_found: list[str] = []
        self.attributes_found: dict[str, list[str]] = {}
        self.names_found: list[str] = []

    def take(self, kind: str, start: int, end: int, value: str) -> None:
        self.mentions.append(Mention(kind, self.text[start:end], start, end, value))
        self.masked = self.masked[:start] + " " * (end - start) + self.masked[end:]

    def result(self) -> Entities:
        return Entities(
            order_numbers=tuple(dict.fromkeys(self.order_numbers_found)),
            money=tuple(dict.fromkeys(self.money_found)),
            price_range=_combine(self.ranges),
            dates=tuple(dict.fromkeys(self.dates_found)),
            emails=tuple(dict.fromkeys(self.emails_found)),
            product_types=tuple(dict.fromkeys(self.types_found)),
            attributes={k: tuple(dict.fromkeys(v)) for k, v in self.attributes_found.items()},
            product_names=tuple(dict.fromkeys(self.names_found)),
            mentions=tuple(sorted(self.mentions, key=lambda m: m.start)),
        )

    # ---- emails -------------------------------------------------------------------------------

    def emails(self) -> None:
        for match in _EMAIL.finditer(self.masked):
            address = match.group(0).rstrip(".").lower()
            self.emails_found.append(address)
            self.take("email", match.start(), match.start() + len(address), address)

    # ---- order numbers ------------------------------------------------------------------------

    def order_numbers(self, prefixes: tuple[str, ...]) -> None:
        if prefixes:
            alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
            pattern = re.compile(rf"(?<![\w-])({alternatives})[\s-]?#?(\d{{4,12}})(?![\w-])", re.IGNORECASE)
            for match in pattern.finditer(self.masked):
                self._order(match, f"{match.group(1).upper()}-{match.group(2)}")
        for match in _ORDER_PREFIXED.finditer(self.masked):
            self._order(match, f"{match.group(1)}-{match.group(2)}")
        for pattern in (_ORDER_HASH, _ORDER_WORD):
            for match in pattern.finditer(self.masked):
                if not _TRACKING_BEFORE.search(self.masked[max(0, match.start() - 20):match.start()]):
                    self._order(match, match.group("digits"), span=match.span("digits"))
        only = _ORDER_ALONE.match(self.masked)
        if only:
            self._order(only, only.group("digits"), span=only.span("digits"))

    def _order(self, match: re.Match, value: str, span: tuple[int, int] | None = None) -> None:
        start, end = span or match.span()
        self.order_numbers_found.append(value)
        self.take("order_number", start, end, value)

    # ---- dates --------------------------------------------------------------------------------

    def dates(self, today: date, day_first: bool) -> None:
        for pattern, read in ((_ISO_DATE, _read_iso), (_NUMERIC_DATE, _read_numeric),
                              (_DAY_MONTH, _read_day_month), (_MONTH_DAY, _read_month_day),
                              (_RELATIVE_DAY, _read_relative), (_IN_DAYS, _read_in_days),
                              (_WEEKDAY, _read_weekday)):
            for match in pattern.finditer(self.masked):
                found = read(match, today, day_first)
                if found is not None:
                    self.dates_found.append(found)
                    self.take("date", match.start(), match.end(), found.isoformat())

    # ---- money and price ranges -----------------------------------------------------------------

    def money_and_ranges(self, default_currency: str | None) -> None:
        for pattern, kind in _RANGE_PATTERNS:
            for match in pattern.finditer(self.masked):
                found = self._range(match, kind, default_currency)
                if found is not None:
                    self.ranges.append(found)
        for match in _MONEY.finditer(self.masked):
            money = _money(match, None)
            if money is not None and money.currency is not None:
                self.money_found.append(money)
                self.take("money", match.start(), match.end(), f"{money.amount} {money.currency}")

    def _range(self, match: re.Match, kind: str, default_currency: str | None) -> PriceRange | None:
        groups = [g for g in ("a", "a2", "b") if match.groupdict().get(g)]
        moneys: list[Money] = []
        for g in groups:
            amount = _AMOUNT_RE.fullmatch(match.group(g))
            money = _money(amount, None) if amount is not None else None
            if money is None:
                return None
            moneys.append(money)
        bare = all(m.currency is None for m in moneys)
        if bare and _unit_follows(self.masked, match.end()):
            return None
        weak = kind == "from" or (kind == "between" and not _RANGE_WORD.search(match.group(0)))
        if bare and weak and not _PRICE_CONTEXT.search(self.masked):
            return None  # "50-100", "20 to 40" or "from 2019" with no currency and no word of price: not a price
        currency = next((m.currency for m in moneys if m.currency), default_currency)
        for g, money in zip(groups, moneys, strict=True):
            if money.currency:
                self.money_found.append(money)
                self.mentions.append(Mention("money", match.group(g), match.start(g), match.end(g),
                                             f"{money.amount} {money.currency}"))
        value = _bounds(kind, [m.amount for m in moneys], currency)
        if value is None:
            return None
        self.take("price_range", match.start(), match.end(), _describe(value))
        return value

    # ---- catalog words --------------------------------------------------------------------------

    def catalog(self, index: _Index) -> None:
        words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(self.masked)]
        folded = [_fold(w) for w, _, _ in words]
        taken: set[int] = set()
        type_positions: set[int] = set()
        for name, start, end in index.names_in(self.masked):
            self.names_found.append(name)
            self.mentions.append(Mention("product_name", self.text[start:end], start, end, name))
        for n in range(index.longest, 0, -1):  # longer terms first: "sleeping bag" before "bag"
            for i in range(len(words) - n + 1):
                if any(j in taken for j in range(i, i + n)):
                    continue
                term = index.match(" ".join(folded[i:i + n]), n)
                if term is None or term.kind != "product_type":
                    continue
                taken.update(range(i, i + n))
                type_positions.update(range(i, i + n))
                self.types_found.append(term.value)
                self.take("product_type", words[i][1], words[i + n - 1][2], term.value)
        for n in range(index.longest, 0, -1):
            for i in range(len(words) - n + 1):
                if any(j in taken for j in range(i, i + n)):
                    continue
                term = index.match(" ".join(folded[i:i + n]), n)
                if term is None or term.kind != "attribute":
                    continue
                if not _attribute_in_context(term, words, folded, i, n, type_positions, index):
                    continue
                taken.update(range(i, i + n))
                self.attributes_found.setdefault(term.key, []).append(term.value)
                self.take("attribute", words[i][1], words[i + n - 1][2], f"{term.key}={term.value}")


def _attribute_in_context(term: _Term, words: list[tuple[str, int, int]], folded: list[str], i: int, n: int,
                          type_positions: set[int], index: _Index) -> bool:
    """Short, numeric and everyday-word values need their attribute's name (or a product type) beside them."""
    written = words[i][0] if n == 1 else ""
    needs_name = term.value.isdigit() or len(term.value) <= 2 or term.folded in _COMMON_WORDS
    if not needs_name:
        return True
    names = index.attribute_names.get(term.key, {term.key})
    neighbours = {folded[j] for j in (i - 1, i - 2, i + n) if 0 <= j < len(folded)}
    if neighbours & names:
        return True
    if term.folded in _COMMON_WORDS and (i + n in type_positions or i - 1 in type_positions):
        return True
    short_letters = len(term.value) <= 2 and not term.value.isdigit()
    return short_letters and written.isupper() and written == term.value.upper() and written.lower() not in _PRONOUNS


# ---- the catalog index: built once per vocabulary object, kept in a small cache ----------------


@dataclass(frozen=True)
class _Term:
    kind: str  # product_type or attribute
    key: str  # the attribute's name; the type itself for a product type
    value: str  # as the catalog writes it
    folded: str


class _Index:
    def __init__(self, vocabulary: CatalogVocabulary) -> None:
        self.exact: dict[tuple[str, int], _Term] = {}
        self.by_length: dict[int, list[_Term]] = {}
        self.attribute_names: dict[str, set[str]] = {}
        for value in vocabulary.product_types or ():
            self._add(_Term("product_type", value, value, _fold_phrase(value)))
        for key, values in (vocabulary.attributes or {}).items():
            self.attribute_names[key] = {_fold(key), *(_fold(a) for a in _ATTRIBUTE_ALIASES.get(key.lower(), ()))}
            for value in values or ():
                self._add(_Term("attribute", key, value, _fold_phrase(value)))
        self.longest = max((n for _, n in self.exact), default=0)
        self.names = [(name, name.lower()) for name in vocabulary.product_names or () if name.strip()]
        self.choices = {n: [t.folded for t in terms] for n, terms in self.by_length.items()}

    def _add(self, term: _Term) -> None:
        if not term.folded:
            return
        n = term.folded.count(" ") + 1
        self.exact.setdefault((term.folded, n), term)
        self.by_length.setdefault(n, []).append(term)

    def match(self, phrase: str, n: int) -> _Term | None:
        exact = self.exact.get((phrase, n))
        if exact is not None:
            return exact
        if len(phrase) <= 2 or n not in self.choices or phrase in _COMMON_WORDS \
                or any(word in _FREQUENT_WORDS for word in phrase.split()):
            return None
        for _, _, position in process.extract(phrase, self.choices[n], scorer=OSA.distance, score_cutoff=2, limit=3):
            term = self.by_length[n][position]
            if _close_enough(phrase, term.folded):
                return term
        return None

    def names_in(self, text: str) -> list[tuple[str, int, int]]:
        """Product names written in the text, whole or (names of 8+ characters) with a typo or two, as
        (name, start, end). Case-folding keeps offsets for the scripts a catalog is written in."""
        lowered = text.lower()
        found = []
        for name, folded in self.names:
            exact = re.search(rf"(?<!\w){re.escape(folded)}(?!\w)", lowered)
            if exact:
                found.append((name, exact.start(), exact.end()))
            elif len(folded) >= 8 and (span := _fuzzy_find(lowered, folded)) is not None:
                found.append((name, *span))
        return found


def _fuzzy_find(text: str, name: str) -> tuple[int, int] | None:
    if len(text) < len(name) - 2:
        return None  # partial matching would look for the text inside the name: "a down jacket" is no name
    alignment = fuzz.partial_ratio_alignment(name, text, score_cutoff=NAME_SIMILARITY)
    if alignment is None or fuzz.ratio(name, text[alignment.dest_start:alignment.dest_end]) < NAME_SIMILARITY:
        return None
    start, end = alignment.dest_start, alignment.dest_end
    # whole words only: the match may not start or end inside a word of the text
    if (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
        return None
    return start, end


def _close_enough(written: str, term: str) -> bool:
    """Typos forgiven by length; see the module docstring."""
    if written[0] != term[0] and written[:2] != term[1::-1]:
        return False
    if len(term) >= 8:
        return OSA.distance(written, term) <= 2
    if len(term) >= 5:
        return Indel.distance(written, term) <= 1 or (OSA.distance(written, term) == 1 and sorted(written) == sorted(term))
    return False


_index_cache: OrderedDict[int, tuple[CatalogVocabulary, _Index]] = OrderedDict()
_index_lock = threading.Lock()
_INDEX_CACHE_SIZE = 64


def _index(vocabulary: CatalogVocabulary) -> _Index:
    """The vocabulary's index, built once per vocabulary object (the catalog shares one per version)."""
    key = id(vocabulary)
    with _index_lock:
        cached = _index_cache.get(key)
        if cached is not None and cached[0] is vocabulary:
            _index_cache.move_to_end(key)
            return cached[1]
    built = _Index(vocabulary)
    with _index_lock:
        _index_cache[key] = (vocabulary, built)  # holding the vocabulary keeps its id from being reused
        while len(_index_cache) > _INDEX_CACHE_SIZE:
            _index_cache.popitem(last=False)
    return built


def _fold(word: str) -> str:
    """Lower case, plural folded: "Jackets" → "jacket", "boots" → "boot", "batteries" → "battery"."""
    word = word.casefold().strip("'")
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _fold_phrase(phrase: str) -> str:
    return " ".join(_fold(w) for w in _WORD.findall(phrase))


_ATTRIBUTE_ALIASES = {"color": ("colour", "colors", "colours"), "colour": ("color",), "size": ("sizes",)}
# Everyday words that stand for a catalog value only next to the attribute's name or a product type.
_COMMON_WORDS = frozenset("""long short regular standard one free light clear plain natural classic original new
old may can will all any no yes up out off on in it us go men women kid kids small large big little fit""".split())
# Frequent English words are never taken for a catalog word with a typo ("back" is not "black").
_FREQUENT_WORDS = frozenset("""about above after again against along already also always among another answer
anyone anything around asked asking away back bad because been before being below best better between bill
bills both bought box boxes bring broke broken brought call called came cannot card care case cause change
charge check close come comes coming could course cover cost costs day days deal dear did does doing done
door down each early else email empty end enough even ever every exact fact fast find fine first five fix
found four friday from front full gave get gets getting give given glad goes going gone good got great had
half hand happy hard has have having hear help her here hers high him his hold home hope hour hours house
how however idea item items just keep kind knew know last late later least leave left less let letter
like line list little live look looks looking lost lot love made mail make many mark may maybe mean meet
might mind mine miss money month more most much must name near need needs never next nice night none not
note nothing now number off often okay once only open order orders other our over own page paid part pay
people phone pick place plan please point post price put quite rather read ready real really reason
receive received refund reply right said same saw say says second see seen sell send sending sent set
shall she ship shipped shop should show side since size sold some soon sorry sound speak start state
still stop store such sure take taken talk tell than thank thanks that the their them then there these
they thing things think this those though three through till time times today told too took track tried
true try trying turn two under until upon use used very wait waiting want wanted was way week weeks
well went were what when where which while who whole why wish with within without word work would write
wrong year years yet you your""".split())
_PRONOUNS = frozenset({"i", "a"})


# ---- patterns -------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:[/'][^\W_]+)*")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

_ORDER_PREFIXED = re.compile(r"(?<![\w-])([A-Z]{1,4})-(\d{4,12})(?![\w-])")
_ORDER_HASH = re.compile(r"(?<![\w&])#\s?(?P<digits>\d{4,12})(?!\w)")
_ORDER_WORD = re.compile(
    r"\border(?:\s+(?:number|num|no\.?|nr\.?|id|ref(?:erence)?|code|is|was|#))*\s*[:#]?\s*(?P<digits>\d{4,12})(?!\w)",
    re.IGNORECASE)
_ORDER_ALONE = re.compile(r"\s*#?\s*(?P<digits>\d{5,12})\s*[.!?]?\s*$")
_TRACKING_BEFORE = re.compile(r"tracking(?:\s+(?:number|no\.?|id|code))?(?:\s+is)?\s*[:#]?\s*$", re.IGNORECASE)

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
           "nov": 11, "dec": 12}
_MONTH = (r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_ISO_DATE = re.compile(r"(?<![\w-])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\w-])")
_NUMERIC_DATE = re.compile(r"(?<![\w./-])(?P<a>\d{1,2})([/.])(?P<b>\d{1,2})\2(?P<y>\d{4}|\d{2})(?![\w/-]|\.\d)")
_DAY_MONTH = re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<y>\d{{4}}))?(?!\w)",
                        re.IGNORECASE)
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(?:the\s+)?(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?(?![\w:.]\d|\w)",
                        re.IGNORECASE)
_RELATIVE_DAY = re.compile(r"\b(?P<word>(?:the\s+)?day\s+after\s+tomorrow|(?:the\s+)?day\s+before\s+yesterday|today|"
                           r"tonight|tomorrow|tmrw|tomorow|yesterday)\b", re.IGNORECASE)
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2}
_IN_DAYS = re.compile(r"\bin\s+(?P<n>\d{1,3}|a couple of|couple of|an?|one|two|three|four|five|six|seven|eight|nine|"
                      r"ten)\s+(?P<unit>days?|weeks?)\b", re.IGNORECASE)
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_WEEKDAY = re.compile(r"\b(?:(?P<which>next|this|coming|last|on)\s+)?(?P<day>monday|tuesday|wednesday|thursday|friday|"
                      r"saturday|sunday)s?\b", re.IGNORECASE)

_NUMBER = r"\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SYMBOLS = {"us$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_CODES = ("usd", "eur", "gbp", "chf", "cad", "aud", "jpy")
_WORDS = {"dollar": "USD", "dollars": "USD", "buck": "USD", "bucks": "USD", "euro": "EUR", "euros": "EUR",
          "pounds": "GBP", "quid": "GBP", "franc": "CHF", "francs": "CHF"}
_SYMBOL = r"(?P<sym>US\$|\$|€|£|¥)"
_CODE = r"(?P<code>usd|eur|gbp|chf|cad|aud|jpy)"
_CURRENCY_WORD = r"(?P<word>dollars?|bucks?|euros?|pounds|quid|francs?)"
_AMOUNT = (rf"(?:{_SYMBOL}\s?(?P<n1>{_NUMBER})|(?P<n2>{_NUMBER})\s?(?:{_SYMBOL.replace('sym', 'sym2')}|"
           rf"{_CODE.replace('code', 'code2')}\b|{_CURRENCY_WORD}\b)|{_CODE}\s?(?P<n3>{_NUMBER})|(?P<n4>{_NUMBER}))")
_AMOUNT_RE = re.compile(rf"(?<![\w.,]){_AMOUNT}(?![\w])", re.IGNORECASE)
_MONEY = re.compile(rf"(?<![\w.,])(?:{_SYMBOL}\s?(?P<n1>{_NUMBER})|(?P<n2>{_NUMBER})\s?(?:"
                    rf"{_SYMBOL.replace('sym', 'sym2')}|{_CODE.replace('code', 'code2')}\b|{_CURRENCY_WORD}\b)|"
                    rf"\b{_CODE}\s?(?P<n3>{_NUMBER}))(?![\w])", re.IGNORECASE)


def _amount_group(name: str) -> str:
    # the same amount pattern again, its groups renamed so that one range holds two amounts
    return rf"(?P<{name}>(?:US\$|\$|€|£|¥)\s?(?:{_NUMBER})|(?:{_NUMBER})(?:\s?(?:US\$|\$|€|£|¥|(?:usd|eur|gbp|chf|cad|" \
           rf"aud|jpy)\b|(?:dollars?|bucks?|euros?|pounds|quid|francs?)\b))?|(?:usd|eur|gbp|chf|cad|aud|jpy)\s?(?:{_NUMBER}))"


_A, _B = _amount_group("a"), _amount_group("b")
_EDGE = r"(?<![\w.,$€£¥])"
_END = r"(?![\w])"
_RANGE_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(rf"\bbetween\s+{_A}\s*(?:and|&|to|-|–)\s*{_B}{_END}", re.IGNORECASE), "between"),
    (re.compile(rf"\bfrom\s+{_A}\s*(?:to|-|–|—|until|till)\s*{_B}{_END}", re.IGNORECASE), "between"),
    (re.compile(rf"{_EDGE}{_A}\s*(?:to|-|–|—)\s*{_B}{_END}", re.IGNORECASE), "between"),
    (re.compile(rf"\b(?:under|below|less\s+than|lower\s+than|cheaper\s+than|up\s+to|at\s+most|no\s+more\s+than|"
                rf"not\s+more\s+than|no\s+higher\s+than|max(?:imum)?(?:\s+of)?|within|budget\s+(?:is\s+|of\s+)?"
                rf"(?:about\s+|around\s+)?)\s*{_A}{_END}|(?:<=?|≤)\s*{_A.replace('P<a>', 'P<a2>')}{_END}",
                re.IGNORECASE), "max"),
    (re.compile(rf"{_EDGE}{_A}\s+(?:or\s+(?:less|under|below|cheaper)|max(?:imum)?|tops|at\s+most)\b", re.IGNORECASE),
     "max"),
    (re.compile(rf"\b(?:over|above|more\s+than|greater\s+than|higher\s+than|at\s+least|min(?:imum)?(?:\s+of)?|"
                rf"starting\s+(?:at|from))\s*{_A}{_END}|(?:>=?|≥)\s*{_A.replace('P<a>', 'P<a2>')}{_END}",
                re.IGNORECASE), "min"),
    (re.compile(rf"\bfrom\s+{_A}{_END}", re.IGNORECASE), "from"),
    (re.compile(rf"{_EDGE}{_A}\s*(?:or\s+(?:more|above|over|higher)|\+|plus\b|and\s+(?:up|above|over)\b)",
                re.IGNORECASE), "min"),
    (re.compile(rf"(?:\b(?:around|about|approximately|approx\.?|roughly|circa|close\s+to)\s*|~\s*){_A}{_END}",
                re.IGNORECASE), "around"),
]
_RANGE_WORD = re.compile(r"\b(?:between|from)\b", re.IGNORECASE)
_PRICE_CONTEXT = re.compile(r"\b(?:price[sd]?|cost[s]?|budget|spend|cheap\w*|expensive|afford\w*|range|pay)\b",
                            re.IGNORECASE)
_UNIT_AFTER = re.compile(
    r"\s*(?:%|percent|days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|seconds?|items?|pieces?|pcs|pairs?|"
    r"people|persons?|times?|kg|g|lbs?|oz|cm|mm|km|m|l|ml|liters?|litres?|degrees?|°|orders?|units?|x|am|pm|"
    r"a\.m|p\.m|o'clock|h)\b",
    re.IGNORECASE)


def _unit_follows(text: str, end: int) -> bool:
    return bool(_UNIT_AFTER.match(text, end))


def _money(match: re.Match, default_currency: str | None) -> Money | None:
    groups = {k: v for k, v in match.groupdict().items() if v}
    number = groups.get("n1") or groups.get("n2") or groups.get("n3") or groups.get("n4")
    amount = _number(number) if number else None
    if amount is None:
        return None
    currency = default_currency
    if symbol := groups.get("sym") or groups.get("sym2"):
        currency = _SYMBOLS[symbol.lower()]
    elif code := groups.get("code") or groups.get("code2"):
        currency = code.upper()
    elif word := groups.get("word"):
        currency = _WORDS[word.lower()]
    return Money(amount, currency)


def _number(written: str) -> Decimal | None:
    """ "1,299.00", "1.299,00", "1299", "12,50", "1.299" (thousands) → a Decimal; None when unreadable."""
    text = written.strip()
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_mark = "." if last_dot > last_comma else ","
        grouping = "," if decimal_mark == "." else "."
        text = text.replace(grouping, "").replace(decimal_mark, ".")
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        parts = text.split(mark)
        if len(parts) > 2 or (len(parts[-1]) == 3 and 1 <= len(parts[0]) <= 3):
            text = text.replace(mark, "")  # grouping: "1,299" or "1.299.000"
        else:
            text = text.replace(mark, ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _bounds(kind: str, amounts: list[Decimal], currency: str | None) -> PriceRange | None:
    if kind == "between":
        low, high = sorted(amounts[:2])
        return PriceRange(low, high, currency)
    value = amounts[0]
    if kind == "max":
        return PriceRange(None, value, currency)
    if kind in ("min", "from"):
        return PriceRange(value, None, currency)
    spread = value * APPROXIMATE_SPREAD
    return PriceRange((value - spread).quantize(Decimal("0.01")), (value + spread).quantize(Decimal("0.01")),
                      currency, approximate=True)


def _combine(ranges: list[PriceRange]) -> PriceRange | None:
    """One range from what the message said: "over $50 but under $100" is 50–100. Contradicting bounds
    (a minimum above the maximum) keep the first range said."""
    if not ranges:
        return None
    low = max((r.minimum for r in ranges if r.minimum is not None), default=None)
    high = min((r.maximum for r in ranges if r.maximum is not None), default=None)
    if low is not None and high is not None and low > high:
        return ranges[0]
    currency = next((r.currency for r in ranges if r.currency), None)
    return PriceRange(low, high, currency, approximate=any(r.approximate for r in ranges))


def _describe(value: PriceRange) -> str:
    return f"{_str_or_none(value.minimum) or ''}..{_str_or_none(value.maximum) or ''} {value.currency or ''}".strip()


# ---- date readers ---------------------------------------------------------------------------------


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _without_year(today: date, month: int, day: int, past: bool) -> date | None:
    """A day and month without a year: the latest on or before today when the customer speaks of the
    past ("ordered on 2 March"), else the first on or after today ("deliver by 24 December")."""
    candidates = [d for d in (_safe_date(today.year + k, month, day) for k in (-1, 0, 1)) if d is not None]
    if past:
        return max((d for d in candidates if d <= today), default=None)
    return min((d for d in candidates if d >= today), default=None)


_PAST_CUE = re.compile(r"\b(?:ordered|bought|purchased|paid|placed|received|got|sent|shipped|returned|delivered|was|"
                       r"were|did|had|since|ago|last)\b", re.IGNORECASE)


def _speaks_of_the_past(match: re.Match) -> bool:
    return bool(_PAST_CUE.search(match.string[max(0, match.start() - 40):match.start()]))


def _year(written: str | None) -> int | None:
    if not written:
        return None
    year = int(written)
    return year + 2000 if year < 100 else year


def _read_iso(match: re.Match, today: date, day_first: bool) -> date | None:
    return _safe_date(int(match["y"]), int(match["m"]), int(match["d"]))


def _read_numeric(match: re.Match, today: date, day_first: bool) -> date | None:
    a, b, year = int(match["a"]), int(match["b"]), _year(match["y"])
    if year is None:
        return None
    day, month = (a, b) if day_first else (b, a)
    if month > 12 >= day:  # only one reading is a date
        day, month = month, day
    return _safe_date(year, month, day)


def _month_number(written: str) -> int:
    return _MONTHS[written.lower()[:3]]


def _read_day_month(match: re.Match, today: date, day_first: bool) -> date | None:
    month, day, year = _month_number(match["month"]), int(match["day"]), _year(match["y"])
    return _safe_date(year, month, day) if year else _without_year(today, month, day, _speaks_of_the_past(match))


_read_month_day = _read_day_month


def _read_relative(match: re.Match, today: date, day_first: bool) -> date | None:
    word = " ".join(match["word"].lower().split()).removeprefix("the ")
    offsets = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tomorow": 1, "yesterday": -1,
               "day after tomorrow": 2, "day before yesterday": -2}
    return today + timedelta(days=offsets[word])


def _read_in_days(match: re.Match, today: date, day_first: bool) -> date | None:
    written = match["n"].lower()
    n = int(written) if written.isdigit() else _NUMBER_WORDS[written]
    days = n * (7 if match["unit"].lower().startswith("week") else 1)
    return today + timedelta(days=days) if days <= 366 else None


def _read_weekday(match: re.Match, today: date, day_first: bool) -> date | None:
    target = _WEEKDAYS[match["day"].lower()]
    which = (match["which"] or "").lower()
    ahead = (target - today.weekday()) % 7
    if which == "last":
        return today - timedelta(days=(today.weekday() - target) % 7 or 7)
    if which == "next":
        return today + timedelta(days=ahead or 7)
    return today + timedelta(days=ahead)


def words_of(text: str) -> Iterable[str]:
    """The words of a text as entity extraction reads them (for callers that mask or highlight)."""
    return _WORD.findall(text)
