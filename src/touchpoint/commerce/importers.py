"""Bulk import of products, stock, orders and shipments from CSV or JSON files (and the API's batch).

All or nothing: every row of every file is checked by running it through the same services the API
uses, inside one transaction, each row in its own savepoint; when any row is refused, or on a dry run,
the transaction is rolled back and nothing is written. The report lists every refused row by its
number and counts what was (or would be) created, updated, left unchanged and ignored as stale.
Importing the same files again changes nothing (every record is an upsert by its natural key).

Files are applied in the order products, inventory, orders, shipments, so stock may name SKUs, orders
may name products, and shipments may name orders from the same import.

CSV files are UTF-8 (a byte-order mark is fine), comma- or semicolon-separated, with a header row.
Decimals use a point (19.99); dates are YYYY-MM-DD; times ISO 8601 with a zone (2026-03-01T09:30:00Z);
true/false may be written true/false, yes/no or 1/0. Unknown columns are refused, so a misspelt one
is not silently dropped. The columns (required ones first):

products   handle, name, type, sku, price, currency; description, url, active, variant_active, quantity,
           restock_date, updated_at, and any option:<name> (a variant's option, e.g. option:color) or
           attribute:<name> (the product's, e.g. attribute:material). One row per variant; the rows
           of a product share its handle and must agree on its columns (or leave them empty).
inventory  sku, quantity; restock_date, updated_at.
orders     number, email, placed_at, currency, total, sku, quantity, unit_price; name, status,
           subtotal, discount, shipping, tax, taxes_included, customer_external_id, customer_name,
           updated_at. One row per order line; the rows of an order share its number and agree on
           its columns.
shipments  order_number, carrier, tracking_number, status; tracking_url, shipped_at,
           estimated_delivery, delivered_at, updated_at.

JSON files hold an array of records shaped like the API's bodies (a product with its `variants`, an
order with its `lines`), or an object with that array under the kind's name ({"products": [...]}).
"""

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from touchpoint.commerce import services
from touchpoint.commerce.errors import ImportRefused
from touchpoint.commerce.schemas import InventoryIn, OrderIn, ProductIn, ShipmentIn
from touchpoint.commerce.services import (
    InventoryRecord,
    LineRecord,
    OrderRecord,
    Outcome,
    ProductRecord,
    ShipmentRecord,
    VariantRecord,
)
from touchpoint.core.errors import DomainError
from touchpoint.core.permissions import Actor, Role

KINDS = ("products", "inventory", "orders", "shipments")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def max_bytes() -> int:
    return int(getattr(settings, "COMMERCE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


@dataclass(frozen=True)
class RowError:
    source: str  # the file's name, or the kind for the API's batch
    row: int  # CSV: the spreadsheet's row number (the header is row 1); JSON: the record's position from 1
    message: str
    key: str = ""  # which record, e.g. "order NW-100234"

    def __str__(self) -> str:
        what = f" ({self.key})" if self.key else ""
        return f"{self.source} row {self.row}{what}: {self.message}"


@dataclass
class Parsed:
    """One record read from a file: what the services get, or why it could not be read."""

    row: int
    record: Any = None
    error: str = ""
    key: str = ""


@dataclass
class Source:
    kind: str
    name: str
    rows: list[Parsed]


@dataclass
class ImportReport:
    dry_run: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return not self.dry_run and not self.errors


_WRITE: dict[str, Callable[..., services.Upserted]] = {
    "products": services.upsert_product, "inventory": services.set_inventory,
    "orders": services.upsert_order, "shipments": services.upsert_shipment,
}


def import_commerce(*, actor: Actor, sources: Iterable[Source], dry_run: bool = False) -> ImportReport:
    """Run every record through its service in one transaction; keep it only if all were accepted."""
    actor.require(Role.ADMIN)
    by_kind = {s.kind: s for s in sources}
    report = ImportReport(dry_run=dry_run)
    with transaction.atomic():
        for kind in KINDS:
            source = by_kind.get(kind)
            if source is None:
                continue
            counts = report.counts.setdefault(kind, {o.value: 0 for o in Outcome})
            for parsed in source.rows:
                outcome = _apply(actor, kind, source.name, parsed, report.errors)
                if outcome is not None:
                    counts[outcome] += 1
        if report.errors or dry_run:
            transaction.set_rollback(True)
    return report


def _apply(actor: Actor, kind: str, name: str, parsed: Parsed, errors: list[RowError]) -> str | None:
    if parsed.error:
        errors.append(RowError(name, parsed.row, parsed.error, parsed.key))
        return None
    try:
        with transaction.atomic():
            return _WRITE[kind](actor=actor, record=parsed.record).outcome.value
    except DomainError as refused:
        errors.append(RowError(name, parsed.row, refused.message, parsed.key))
    except DatabaseError:
        errors.append(RowError(name, parsed.row, "a value is too long or out of range to be stored.", parsed.key))
    return None


# ---- reading files ----------------------------------------------------------------------------------


def read_file(kind: str, path: str | Path, *, limit: int | None = None) -> Source:
    """The records of one file, by its extension (.csv or .json). A file that cannot be read at all
    (missing, too large, not UTF-8, bad header, not JSON) is refused with what to do about it."""
    path = Path(path)
    limit = max_bytes() if limit is None else limit
    if not path.is_file():
        raise ImportRefused(f"{path} does not exist or is not a file.")
    size = path.stat().st_size
    if size > limit:
        raise ImportRefused(f"{path.name} is {size / 1_048_576:.1f} MB; an import reads at most "
                            f"{limit / 1_048_576:.1f} MB per file. Split the file, or raise the limit.")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ImportRefused(f"{path.name}: name the file .csv or .json so its format is known.")
    text = decode(path.read_bytes(), path.name)
    rows = parse_csv(kind, text, path.name) if suffix == ".csv" else parse_json(kind, text, path.name)
    return Source(kind=kind, name=path.name, rows=rows)


def decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRefused(f"{name} is not UTF-8 text: line {line} has the byte 0x{data[error.start]:02X}. Save it "
                            "as UTF-8 (in a spreadsheet: CSV UTF-8) and import it again.") from None


# ---- JSON ------------------------------------------------------------------------------------------

_SCHEMAS: dict[str, type[BaseModel]] = {"products": ProductIn, "inventory": InventoryIn, "orders": OrderIn,
                                        "shipments": ShipmentIn}


def parse_json(kind: str, text: str, name: str) -> list[Parsed]:
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ImportRefused(f"{name} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.") \
            from None
    except ValueError as error:
        raise ImportRefused(f"{name}: {error}") from None
    if isinstance(data, dict) and set(data) == {kind}:
        data = data[kind]
    if not isinstance(data, list):
        raise ImportRefused(f"{name} must hold an array of {kind} records (or {{\"{kind}\": [...]}}).")
    return [parse_item(kind, item, n) for n, item in enumerate(data, 1)]


def _no_constant(value: str) -> None:
    raise ValueError(f"{value} is not a number JSON allows")


def parse_item(kind: str, item: Any, n: int) -> Parsed:
    """One JSON record through the API's own schema, so a file and the API accept exactly the same."""
    key = _json_key(kind, item)
    try:
        return Parsed(row=n, record=_SCHEMAS[kind].model_validate(item).record(), key=key)
    except PydanticError as error:
        return Parsed(row=n, error=_pydantic_message(error), key=key)


def _json_key(kind: str, item: Any) -> str:
    if not isinstance(item, dict):
        return ""
    field_name, label = {"products": ("handle", "product"), "inventory": ("sku", "SKU"),
                         "orders": ("number", "order"), "shipments": ("tracking_number", "tracking")}[kind]
    value = item.get(field_name)
    return f"{label} {value}" if isinstance(value, str) and value.strip() else ""


def _pydantic_message(error: PydanticError) -> str:
    parts = []
    for problem in error.errors()[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()))
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    more = len(error.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


# ---- CSV ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    prefixes: tuple[str, ...] = ()


COLUMNS = {
    "products": Columns(("handle", "name", "type", "sku", "price", "currency"),
                        ("description", "url", "active", "variant_active", "quantity", "restock_date", "updated_at"),
                        ("option:", "attribute:")),
    "inventory": Columns(("sku", "quantity"), ("restock_date", "updated_at")),
    "orders": Columns(("number", "email", "placed_at", "currency", "total", "sku", "quantity", "unit_price"),
                      ("name", "status", "subtotal", "discount", "shipping", "tax", "taxes_included",
                       "customer_external_id", "customer_name", "updated_at")),
    "shipments": Columns(("order_number", "carrier", "tracking_number", "status"),
                         ("tracking_url", "shipped_at", "estimated_delivery", "delivered_at", "updated_at")),
}
# The columns that describe the product (or the order) rather than the row's variant (or line).
_PRODUCT_COLUMNS = ("name", "type", "description", "url", "active", "updated_at")
_ORDER_COLUMNS = ("email", "placed_at", "currency", "total", "status", "subtotal", "discount", "shipping", "tax",
                  "taxes_included", "customer_external_id", "customer_name", "updated_at")


class BadValue(ValueError):
    """A cell that cannot be read as what its column holds; the message says what to write."""


def parse_csv(kind: str, text: str, name: str) -> list[Parsed]:
    lines = text.splitlines()
    delimiter = ";" if lines and lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused(f"{name} is empty; it needs a header row naming the columns.") from None
    header = _check_header(kind, [h.strip().lower() for h in header], name)
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[Parsed] = []
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue  # a blank line
            if len(values) != len(header):
                errors.append(Parsed(row=number, error=f"has {len(values)} values, but the header names "
                                                       f"{len(header)} columns; check the separators and quotes."))
                continue
            rows.append((number, {h: v.strip() for h, v in zip(header, values, strict=True)}))
    except csv.Error as error:
        raise ImportRefused(f"{name} is not a readable CSV file near line {reader.line_num}: {error}.") from None
    parse = {"products": _products, "inventory": _inventory, "orders": _orders, "shipments": _shipments}[kind]
    return sorted(errors + parse(rows), key=lambda p: p.row)


def _check_header(kind: str, header: list[str], name: str) -> list[str]:
    columns = COLUMNS[kind]
    missing = [c for c in columns.required if c not in header]
    if missing:
        raise ImportRefused(f"{name} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}. A {kind} "
                            f"file needs {', '.join(columns.required)}; it has {', '.join(h for h in header if h)}.")
    known = set(columns.required) | set(columns.optional)
    unknown = [h for h in header if h not in known and not any(h.startswith(p) and len(h) > len(p)
                                                                for p in columns.prefixes)]
    if unknown:
        allowed = ", ".join([*columns.optional, *(f"{p}<name>" for p in columns.prefixes)])
        raise ImportRefused(f"{name} has unknown column{'s' if len(unknown) > 1 else ''} "
                            f"{', '.join(repr(u) for u in unknown)}; besides {', '.join(columns.required)} "
                            f"a {kind} file may have {allowed}.")
    doubled = sorted({h for h in header if header.count(h) > 1})
    if doubled:
        raise ImportRefused(f"{name} names the column {doubled[0]} twice.")
    return header


def _grouped(rows: list[tuple[int, dict[str, str]]], key: str) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """Rows sharing a key (a product's handle, an order's number), in the order they first appear."""
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, row in rows:
        groups.setdefault(row[key].upper() if key == "number" else row[key], []).append((number, row))
    return groups


def _disagreement(group: list[tuple[int, dict[str, str]]], columns: Iterable[str]) -> str:
    first_row, first = group[0]
    for number, row in group[1:]:
        for column in columns:
            if column in row and row[column] and first.get(column) and row[column] != first[column]:
                return (f"row {number} gives {column} {row[column]!r} but row {first_row} gave {first[column]!r}; the "
                        "rows of one record must agree (or leave the column empty after the first row).")
    return ""


def _first(group: list[tuple[int, dict[str, str]]], column: str) -> str:
    return next((row[column] for _, row in group if row.get(column)), "")


def _products(rows: list[tuple[int, dict[str, str]]]) -> list[Parsed]:
    parsed = []
    for handle, group in _grouped(rows, "handle").items():
        start, key = group[0][0], f"product {handle}" if handle else ""
        if not handle:
            parsed += [Parsed(row=n, error="handle is empty; every row names its product.") for n, _ in group]
            continue
        product_columns = [*_PRODUCT_COLUMNS, *(c for c in group[0][1] if c.startswith("attribute:"))]
        problem = _disagreement(group, product_columns)
        if problem:
            parsed.append(Parsed(row=start, error=problem, key=key))
            continue
        try:
            variants = [_variant(row, number) for number, row in group]
            attributes = {c.removeprefix("attribute:"): v for c in product_columns if c.startswith("attribute:")
                          and (v := _first(group, c))}
            record = ProductRecord(
                handle=handle, name=_first(group, "name"), product_type=_first(group, "type"),
                description=_first(group, "description"), url=_first(group, "url"), attributes=attributes,
                active=_bool(_first(group, "active"), "active", default=True), variants=variants,
                updated_at=_time(_first(group, "updated_at"), "updated_at"),
            )
            parsed.append(Parsed(row=start, record=record, key=key))
        except BadValue as error:
            parsed.append(Parsed(row=start, error=str(error), key=key))
    return parsed


def _variant(row: dict[str, str], number: int) -> VariantRecord:
    try:
        options = {c.removeprefix("option:"): v for c, v in row.items() if c.startswith("option:") and v}
        quantity = _int(row.get("quantity", ""), "quantity") if row.get("quantity") else None
        return VariantRecord(sku=row["sku"], price=_decimal(row["price"], "price"), currency=row["currency"],
                             attributes=options, active=_bool(row.get("variant_active", ""), "variant_active",
                                                              default=True),
                             quantity=quantity, restock_date=_date(row.get("restock_date", ""), "restock_date"))
    except BadValue as error:
        raise BadValue(f"row {number}: {error}") from None


def _inventory(rows: list[tuple[int, dict[str, str]]]) -> list[Parsed]:
    parsed = []
    for number, row in rows:
        key = f"SKU {row['sku']}" if row["sku"] else ""
        try:
            record = InventoryRecord(sku=row["sku"], quantity=_int(row["quantity"], "quantity"),
                                     restock_date=_date(row.get("restock_date", ""), "restock_date"),
                                     updated_at=_time(row.get("updated_at", ""), "updated_at"))
            parsed.append(Parsed(row=number, record=record, key=key))
        except BadValue as error:
            parsed.append(Parsed(row=number, error=str(error), key=key))
    return parsed


def _orders(rows: list[tuple[int, dict[str, str]]]) -> list[Parsed]:
    parsed = []
    for number_key, group in _grouped(rows, "number").items():
        start = group[0][0]
        number = group[0][1]["number"]
        key = f"order {number}" if number else ""
        if not number_key:
            parsed += [Parsed(row=n, error="number is empty; every row names its order.") for n, _ in group]
            continue
        problem = _disagreement(group, _ORDER_COLUMNS)
        if problem:
            parsed.append(Parsed(row=start, error=problem, key=key))
            continue
        try:
            parsed.append(Parsed(row=start, record=_order(number, group), key=key))
        except BadValue as error:
            parsed.append(Parsed(row=start, error=str(error), key=key))
    return parsed


def _order(number: str, group: list[tuple[int, dict[str, str]]]) -> OrderRecord:
    lines = []
    for n, row in group:
        try:
            lines.append(LineRecord(sku=row["sku"], name=row.get("name", ""), quantity=_int(row["quantity"], "quantity"),
                                    unit_price=_decimal(row["unit_price"], "unit_price")))
        except BadValue as error:
            raise BadValue(f"row {n}: {error}") from None
    optional = {column: _decimal(value, column) for column in ("discount", "shipping", "tax")
                if (value := _first(group, column))}
    subtotal = _first(group, "subtotal")
    return OrderRecord(
        number=number, email=_first(group, "email"), placed_at=_time(_first(group, "placed_at"), "placed_at"),
        currency=_first(group, "currency"), lines=lines, total=_decimal(_first(group, "total"), "total"),
        status=_first(group, "status") or "placed", subtotal=_decimal(subtotal, "subtotal") if subtotal else None,
        taxes_included=_bool(_first(group, "taxes_included"), "taxes_included", default=False),
        customer_external_id=_first(group, "customer_external_id"), customer_name=_first(group, "customer_name"),
        updated_at=_time(_first(group, "updated_at"), "updated_at"), **optional,
    )


def _shipments(rows: list[tuple[int, dict[str, str]]]) -> list[Parsed]:
    parsed = []
    for number, row in rows:
        key = f"tracking {row['tracking_number']}" if row["tracking_number"] else ""
        try:
            record = ShipmentRecord(
                order_number=row["order_number"], carrier=row["carrier"], tracking_number=row["tracking_number"],
                status=row["status"], tracking_url=row.get("tracking_url", ""),
                shipped_at=_time(row.get("shipped_at", ""), "shipped_at"),
                estimated_delivery=_date(row.get("estimated_delivery", ""), "estimated_delivery"),
                delivered_at=_time(row.get("delivered_at", ""), "delivered_at"),
                updated_at=_time(row.get("updated_at", ""), "updated_at"),
            )
            parsed.append(Parsed(row=number, record=record, key=key))
        except BadValue as error:
            parsed.append(Parsed(row=number, error=str(error), key=key))
    return parsed


# ---- cells -----------------------------------------------------------------------------------------


def _decimal(value: str, column: str) -> Decimal:
    text = value.strip()
    if not text:
        raise BadValue(f"{column} is empty.")
    if "," in text:
        raise BadValue(f"{column} {text!r}: write decimals with a point and no thousands separator, e.g. 1299.00.")
    try:
        number = Decimal(text)
    except ArithmeticError:
        raise BadValue(f"{column} {text!r} is not a number; write it like 19.99, without a currency sign.") from None
    if not number.is_finite():
        raise BadValue(f"{column} {text!r} is not a number.")
    return number


def _int(value: str, column: str) -> int:
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        raise BadValue(f"{column} {text!r} is not a whole number.") from None


def _bool(value: str, column: str, *, default: bool) -> bool:
    text = value.strip().lower()
    if not text:
        return default
    if text in ("true", "yes", "1", "y"):
        return True
    if text in ("false", "no", "0", "n"):
        return False
    raise BadValue(f"{column} {value!r}: write true or false.")


def _date(value: str, column: str) -> date | None:
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadValue(f"{column} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-03-14.") from None


def _time(value: str, column: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(f"{column} {text!r} is not a time; write ISO 8601 with a zone, e.g. "
                       "2026-03-01T09:30:00Z.") from None
    if at.tzinfo is None:
        raise BadValue(f"{column} {text!r} has no time zone; add one, e.g. 2026-03-01T09:30:00Z or +01:00.")
    return at
