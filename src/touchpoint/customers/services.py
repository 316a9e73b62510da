"""Every write to customers and their identities goes through here."""

from typing import Any

from django.db import IntegrityError, transaction

from touchpoint.core import audit
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, ValidationFailed
from touchpoint.core.events import publish
from touchpoint.core.permissions import Actor, Role
from touchpoint.customers.events import CustomerCreated, CustomerMerged, CustomerUpdated
from touchpoint.customers.identities import normalize
from touchpoint.customers.models import Customer, Identity


class IdentityTaken(Conflict):
    code = "identity_taken"


CONSENT_PURPOSES = ("email_marketing", "sms_marketing", "surveys", "tracking")


def _follow_merges(customer: Customer) -> Customer:
    seen = set()
    while customer.merged_into_id is not None and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


@transaction.atomic
def create_customer(
    *, workspace_id: int, name: str = "", language: str = "", custom_attributes: dict | None = None,
    identities: list[tuple[str, str]] = (), actor: Actor | None = None,
) -> Customer:
    at = now()
    customer = Customer.objects.create(
        workspace_id=workspace_id, name=name.strip()[:200], language=language[:16],
        custom_attributes=_check_attributes(custom_attributes or {}), created_at=at, updated_at=at,
    )
    for kind, value in identities:
        add_identity(customer=customer, kind=kind, value=value)
    publish(CustomerCreated(workspace_id=workspace_id, customer_id=customer.pk))
    return customer


def resolve_customer(*, workspace_id: int, kind: str, value: str, name: str = "", verified: bool = False) -> Customer:
    """The customer who owns this identity, created on first sight. Safe when two messages race."""
    value = normalize(kind, value)
    for _ in range(2):
        try:
            identity = Identity.objects.select_related("customer").get(workspace_id=workspace_id, kind=kind, value=value)
            return _follow_merges(identity.customer)
        except Identity.DoesNotExist:
            pass
        try:
            with transaction.atomic():
                return create_customer(workspace_id=workspace_id, name=name, identities=[(kind, value)])
        except (IntegrityError, IdentityTaken):
            continue  # another request created it first: read theirs
    raise Conflict(f"Could not resolve {kind} {value!r}; try again.")


@transaction.atomic
def update_customer(
    *, actor: Actor, customer: Customer, name: str | None = None, language: str | None = None,
    custom_attributes: dict | None = None, consent: dict[str, bool] | None = None,
) -> Customer:
    _check_workspace(actor, customer)
    if name is not None:
        customer.name = name.strip()[:200]
    if language is not None:
        customer.language = language[:16]
    if custom_attributes is not None:
        # A key set to None is removed; others are set. Agents edit one attribute at a time.
        merged = {**customer.custom_attributes, **_check_attributes(custom_attributes)}
        customer.custom_attributes = {k: v for k, v in merged.items() if v is not None}
    if consent is not None:
        customer.consent = {**customer.consent, **_consent(consent, actor)}
    customer.updated_at = now()
    customer.save()
    publish(CustomerUpdated(workspace_id=customer.workspace_id, customer_id=customer.pk))
    return customer


def _check_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(attributes, dict):
        raise ValidationFailed("Custom attributes must be an object of name → value.", field="custom_attributes")
    for key, value in attributes.items():
        if not isinstance(key, str) or not key or len(key) > 64:
            raise ValidationFailed(f"Attribute name {key!r} must be 1–64 characters.", field="custom_attributes")
        if not (value is None or isinstance(value, str | int | float | bool)):
            raise ValidationFailed(f"Attribute {key!r} must be text, a number or true/false.", field="custom_attributes")
    return attributes


def _consent(consent: dict[str, bool], actor: Actor) -> dict[str, dict]:
    unknown = set(consent) - set(CONSENT_PURPOSES)
    if unknown:
        raise ValidationFailed(f"Unknown consent purpose {sorted(unknown)[0]!r}; use one of {', '.join(CONSENT_PURPOSES)}.",
                               field="consent")
    stamp = now().isoformat()
    return {p: {"granted": bool(g), "at": stamp, "by": actor.membership_id} for p, g in consent.items()}


def add_identity(*, customer: Customer, kind: str, value: str, verified: bool = False, actor: Actor | None = None) -> Identity:
    if actor is not None:
        _check_workspace(actor, customer)
    value = normalize(kind, value)
    existing = Identity.objects.filter(workspace_id=customer.workspace_id, kind=kind, value=value).first()
    if existing is not None:
        if existing.customer_id == customer.pk:
            if verified and not existing.verified:  # e.g. the site now vouches for a known user id
                existing.verified = True
                existing.save(update_fields=["verified"])
            return existing
        raise IdentityTaken(f"{kind} {value} belongs to customer {existing.customer_id}; merge the two customers instead.",
                            field="value")
    with transaction.atomic():
        return Identity.objects.create(
            workspace_id=customer.workspace_id, customer=customer, kind=kind, value=value, verified=verified, created_at=now()
        )


def remove_identity(*, actor: Actor, identity: Identity) -> None:
    _check_workspace(actor, identity)
    identity.delete()
    publish(CustomerUpdated(workspace_id=identity.workspace_id, customer_id=identity.customer_id))


@transaction.atomic
def merge_customers(*, actor: Actor, source: Customer, target: Customer) -> Customer:
    """Fold `source` into `target`: every row that points at source (identities, conversations, and
    whatever later apps hang off a customer) moves to target. Merging again is a no-op."""
    actor.require(Role.AGENT)
    _check_workspace(actor, source, target)
    if source.pk == target.pk:
        raise ValidationFailed("A customer cannot be merged into itself.", code="merge_into_self")
    source = Customer.objects.select_for_update().get(pk=source.pk)
    target = Customer.objects.select_for_update().get(pk=target.pk)
    if source.merged_into_id == target.pk:
        return target  # already done: a retried request changes nothing
    if source.merged_into_id is not None:
        raise Conflict(f"Customer {source.pk} was merged into customer {source.merged_into_id} already.", code="already_merged")
    if target.merged_into_id is not None:
        raise Conflict(f"Customer {target.pk} was merged into customer {target.merged_into_id}; merge into that one.",
                       code="already_merged")
    moved = _move_related_rows(source, target)
    target.name = target.name or source.name
    target.language = target.language or source.language
    target.custom_attributes = {**source.custom_attributes, **target.custom_attributes}
    target.consent = {**source.consent, **target.consent}
    target.updated_at = now()
    target.save()
    source.merged_into = target
    source.updated_at = now()
    source.save(update_fields=["merged_into", "updated_at"])
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="customer.merged", obj=target,
                 data={"source_id": source.pk, "source_name": source.name, "moved": moved})
    publish(CustomerMerged(workspace_id=target.workspace_id, source_id=source.pk, target_id=target.pk))
    return target


def _move_related_rows(source: Customer, target: Customer) -> dict[str, int]:
    moved: dict[str, int] = {}
    # include_hidden: relations declared with related_name="+" point at the customer too.
    for rel in Customer._meta.get_fields(include_hidden=True):
        if rel.concrete or not (rel.one_to_many or rel.one_to_one) or rel.related_model is Customer:
            continue
        count = rel.related_model._base_manager.filter(**{rel.field.name: source}).update(**{rel.field.name: target})
        if count:
            moved[rel.related_model._meta.label_lower] = count
    return moved


def _check_workspace(actor: Actor, *objs: Any) -> None:
    for obj in objs:
        if obj.workspace_id != actor.workspace_id:
            raise NotFound("No such customer in this workspace.")
