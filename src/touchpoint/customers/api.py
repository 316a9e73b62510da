"""API for the customer 360: profiles, identities, merges and the one timeline."""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from touchpoint.core.api import Id, Keyset, Limit, Page, When, actor, page_of
from touchpoint.core.errors import NotFound
from touchpoint.customers import selectors, services
from touchpoint.customers.models import Customer
from touchpoint.customers.schemas import (
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    IdentityIn,
    IdentityOut,
    MergeIn,
    TimelineOut,
)
from touchpoint.customers.timeline import customer_timeline

router = Router(tags=["customers"])

RECENT = Keyset("customers.recent", "updated_at", descending=True)
SYNC = Keyset("customers.sync", "updated_at", descending=False)


class CustomerQuery(Schema):
    q: str | None = Field(None, min_length=1, max_length=200, description="Name, email, phone or other identity.")
    updated_since: When | None = Field(
        None, description="Only customers changed at or after this time, oldest change first, to sync page by page."
    )
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


class SearchQuery(Schema):
    q: str = Field(min_length=1, max_length=200, description="Name, email, phone or other identity.")
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


def _page(request: HttpRequest, q: str | None, updated_since, cursor: str | None, limit: int) -> dict:
    who = actor(request)
    qs: QuerySet[Customer] = selectors.search_customers(who, q) if q else selectors.customers_for(who)
    keyset = RECENT
    if updated_since is not None:
        qs, keyset = qs.filter(updated_at__gte=updated_since), SYNC
    return page_of(keyset, qs.prefetch_related("identities"), cursor=cursor, limit=limit)


@router.get("/customers", response=Page[CustomerOut], summary="List or search customers")
def list_customers(request: HttpRequest, filters: Query[CustomerQuery]) -> dict:
    """Most recently changed first; with `updated_since`, oldest change first so a sync can page forward."""
    return _page(request, filters.q, filters.updated_since, filters.cursor, filters.limit)


@router.get("/search/customers", response=Page[CustomerOut], tags=["search"], summary="Search customers")
def search_customers(request: HttpRequest, params: Query[SearchQuery]) -> dict:
    return _page(request, params.q, None, params.cursor, params.limit)


@router.post("/customers", response={201: CustomerOut}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn) -> Status:
    who = actor(request)
    customer = services.create_customer(
        workspace_id=who.workspace_id, actor=who, name=payload.name, language=payload.language,
        custom_attributes=payload.custom_attributes, identities=[(i.kind, i.value) for i in payload.identities],
    )
    return Status(201, customer)


@router.get("/customers/{customer_id}", response=CustomerOut, summary="A customer with their identities")
def get_customer(request: HttpRequest, customer_id: Id) -> Customer:
    """A merged-away id answers with the customer it was merged into."""
    return selectors.access_customer(actor(request), customer_id)


@router.patch("/customers/{customer_id}", response=CustomerOut, summary="Change a customer's profile or consent")
def update_customer(request: HttpRequest, customer_id: Id, payload: CustomerPatch) -> Customer:
    who = actor(request)
    return services.update_customer(
        actor=who, customer=selectors.access_customer(who, customer_id), name=payload.name, language=payload.language,
        custom_attributes=payload.custom_attributes, consent=payload.consent,
    )


@router.post("/customers/{customer_id}/identities", response={201: IdentityOut}, summary="Add an identity")
def add_identity(request: HttpRequest, customer_id: Id, payload: IdentityIn) -> Status:
    who = actor(request)
    customer = selectors.access_customer(who, customer_id)
    return Status(201, services.add_identity(customer=customer, kind=payload.kind, value=payload.value, actor=who))


@router.delete("/customers/{customer_id}/identities/{identity_id}", response={204: None}, summary="Remove an identity")
def remove_identity(request: HttpRequest, customer_id: Id, identity_id: Id) -> Status:
    who = actor(request)
    customer = selectors.access_customer(who, customer_id)
    identity = selectors.access_identity(who, identity_id)
    if identity.customer_id != customer.pk:
        raise NotFound(f"Customer {customer_id} has no identity with id {identity_id}.")
    services.remove_identity(actor=who, identity=identity)
    return Status(204, None)


@router.post("/customers/{customer_id}/merge", response=CustomerOut, summary="Merge a duplicate into this customer")
def merge_customer(request: HttpRequest, customer_id: Id, payload: MergeIn) -> Customer:
    """Idempotent: merging the same source again changes nothing and answers the same."""
    who = actor(request)
    target = selectors.access_customer(who, customer_id, follow_merge=False)
    source = selectors.access_customer(who, payload.source_id, follow_merge=False)
    return services.merge_customers(actor=who, source=source, target=target)


@router.get("/customers/{customer_id}/timeline", response=TimelineOut, summary="The customer's timeline, newest first")
def timeline(request: HttpRequest, customer_id: Id, before: When | None = None, limit: Limit = 50) -> dict:
    customer = selectors.access_customer(actor(request), customer_id)
    entries = customer_timeline(customer.pk, before=before, limit=limit)
    return {"items": entries, "next_before": entries[-1].at if len(entries) == limit else None}
