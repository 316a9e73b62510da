"""What the commerce app publishes after a write commits: proactive playbooks (order delayed, delivery
arrived) and webhooks listen here."""

from dataclasses import dataclass

from touchpoint.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CatalogChanged(DomainEvent):
    name = "catalog.changed"


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    name = "order.placed"
    order_id: int
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class OrderStatusChanged(DomainEvent):
    name = "order.status_changed"
    order_id: int
    customer_id: int
    status: str
    previous: str


@dataclass(frozen=True, kw_only=True)
class ShipmentStatusChanged(DomainEvent):
    name = "shipment.status_changed"
    shipment_id: int
    order_id: int
    customer_id: int
    status: str
    previous: str  # "" for a new shipment
