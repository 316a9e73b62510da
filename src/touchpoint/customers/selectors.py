from django.db.models import Q, QuerySet

from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor
from touchpoint.customers.models import Customer, Identity


def customers_for(actor: Actor) -> QuerySet[Customer]:
    """Live customers of the actor's workspace (merged-away records are hidden)."""
    return Customer.objects.filter(workspace_id=actor.workspace_id, merged_into__isnull=True)


def access_customer(actor: Actor, customer_id: int, *, follow_merge: bool = True) -> Customer:
    customer = Customer.objects.filter(workspace_id=actor.workspace_id, pk=customer_id).first()
    if customer is None:
        raise NotFound(f"No customer with id {customer_id} in this workspace.")
    while follow_merge and customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def access_identity(actor: Actor, identity_id: int) -> Identity:
    identity = Identity.objects.filter(workspace_id=actor.workspace_id, pk=identity_id).first()
    if identity is None:
        raise NotFound(f"No identity with id {identity_id} in this workspace.")
    return identity


def search_customers(actor: Actor, query: str) -> QuerySet[Customer]:
    query = query.strip()
    matches = Identity.objects.filter(workspace_id=actor.workspace_id, value__icontains=query.lower()).values("customer_id")
    return customers_for(actor).filter(Q(name__icontains=query) | Q(pk__in=matches)).order_by("-updated_at", "-id")


def identity_owner(actor: Actor, kind: str, value: str) -> Customer | None:
    """Who in the actor's workspace has this identity (as normalized), following merges; None if nobody."""
    from touchpoint.customers.identities import normalize

    identity = Identity.objects.filter(workspace_id=actor.workspace_id, kind=kind, value=normalize(kind, value)).first()
    return access_customer(actor, identity.customer_id) if identity else None
