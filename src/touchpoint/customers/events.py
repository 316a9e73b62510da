from dataclasses import dataclass

from touchpoint.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CustomerCreated(DomainEvent):
    name = "customer.created"
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class CustomerUpdated(DomainEvent):
    name = "customer.updated"
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class CustomerMerged(DomainEvent):
    name = "customer.merged"
    source_id: int
    target_id: int
