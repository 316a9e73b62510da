"""Orders placed, parcels shipped and parcels delivered on the customer's one timeline.

One query whatever the history holds: the three kinds of entry are read as one UNION, newest first,
with the order's number and total on each row (the order's stored summary says what was in it)."""

from datetime import datetime

from django.db.models import CharField, DateField, F, IntegerField, QuerySet, Value

from touchpoint.commerce.models import Order, OrderStatus, Shipment, ShipmentStatus, in_currency
from touchpoint.commerce.money import format_money
from touchpoint.customers.timeline import TimelineEntry

_COLUMNS = ("kind", "at", "order_id", "number", "status", "total", "currency", "summary", "shipment_id",
            "carrier", "tracking_number", "tracking_url", "estimated_delivery")
# Every column is an annotation in both halves, so the UNION lines them up in this order.
_SELECTED = ("kind", "at", "order_ref", "number_v", "status_v", "total_v", "currency_v", "summary_v", "shipment_ref",
             "carrier_v", "tracking_v", "url_v", "eta")


def _placed(customer_id: int, before: datetime | None) -> QuerySet:
    orders = Order.objects.filter(customer_id=customer_id)
    if before is not None:
        orders = orders.filter(placed_at__lt=before)
    return orders.order_by().annotate(
        kind=Value("order.placed", output_field=CharField()), at=F("placed_at"), order_ref=F("id"),
        number_v=F("number"), status_v=F("status"), total_v=F("total"), currency_v=F("currency"),
        summary_v=F("summary"), shipment_ref=Value(None, output_field=IntegerField()),
        carrier_v=Value("", output_field=CharField()), tracking_v=Value("", output_field=CharField()),
        url_v=Value("", output_field=CharField()), eta=Value(None, output_field=DateField()),
    ).values_list(*_SELECTED)


def _parcels(customer_id: int, before: datetime | None, kind: str, when: str) -> QuerySet:
    shipments = Shipment.objects.filter(order__customer_id=customer_id, **{f"{when}__isnull": False})
    if before is not None:
        shipments = shipments.filter(**{f"{when}__lt": before})
    return shipments.order_by().annotate(
        kind=Value(kind, output_field=CharField()), at=F(when), order_ref=F("order_id"),
        number_v=F("order__number"), status_v=F("status"), total_v=F("order__total"), currency_v=F("order__currency"),
        summary_v=F("order__summary"), shipment_ref=F("id"), carrier_v=F("carrier"), tracking_v=F("tracking_number"),
        url_v=F("tracking_url"), eta=F("estimated_delivery"),
    ).values_list(*_SELECTED)


def timeline_source(customer_id: int, before: datetime | None, limit: int) -> list[TimelineEntry]:
    placed = _placed(customer_id, before)
    shipped = _parcels(customer_id, before, "shipment.shipped", "shipped_at")
    delivered = _parcels(customer_id, before, "shipment.delivered", "delivered_at")
    rows = placed.union(shipped, delivered, all=True).order_by("-at")[:limit]
    return [_entry(dict(zip(_COLUMNS, row, strict=True))) for row in rows]


def _entry(row: dict) -> TimelineEntry:
    total = format_money(in_currency(row["total"], row["currency"]), row["currency"])
    ref = {"order_id": row["order_id"], "order_number": row["number"]}
    if row["kind"] == "order.placed":
        status = OrderStatus(row["status"]).label if row["status"] in OrderStatus.values else row["status"]
        return TimelineEntry(at=row["at"], kind="order.placed", title=f"Order {row['number']} placed · {total}",
                             body=row["summary"], ref={**ref, "status": row["status"], "status_label": status})
    ref.update(shipment_id=row["shipment_id"], carrier=row["carrier"], tracking_number=row["tracking_number"],
               tracking_url=row["tracking_url"], status=row["status"])
    if row["kind"] == "shipment.delivered":
        return TimelineEntry(at=row["at"], kind="shipment.delivered",
                             title=f"Order {row['number']} delivered by {row['carrier']}",
                             body=f"Tracking {row['tracking_number']}", ref=ref)
    eta = row["estimated_delivery"]
    expected = f"; expected {eta.day} {eta:%B %Y}" if eta else ""
    label = ShipmentStatus(row["status"]).label.lower() if row["status"] in ShipmentStatus.values else row["status"]
    return TimelineEntry(at=row["at"], kind="shipment.shipped", title=f"Order {row['number']} shipped with {row['carrier']}",
                         body=f"Tracking {row['tracking_number']} ({label}){expected}", ref=ref)
