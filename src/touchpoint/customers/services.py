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
    """The customer who owns this identity, created on first sight. Safe when two messages race.
    Nobody owns a claim (an address typed into the widget): the source resolving it gets a customer
    of its own, who takes the claim over, and the claimant never receives what this source brings."""
    value = normalize(kind, value)
    for _ in range(2):
        identity = Identity.objects.select_related("customer").filter(workspace_id=workspace_id, kind=kind,
                                                                      value=value).first()
        if identity is not None and not identity.claimed:
            return _follow_merges(identity.customer)
        try:
            with transaction.atomic():
                return create_customer(workspace_id=workspace_id, name=name, identities=[(kind, value)])
        except (IntegrityError, IdentityTaken):
            continue  # another request created it, or took the claim, first: read theirs
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


def add_identity(
    *, customer: Customer, kind: str, value: str, verified: bool = False, claimed: bool = False,
    actor: Actor | None = None,
) -> Identity:
    """`claimed`: only an unsigned claim names it (an address a visitor typed into the widget). An
    identity another customer holds is theirs (IdentityTaken), unless they hold it only as a claim:
    then it is taken over, and the claimant keeps the value as a hint (`_take_over_claim`)."""
    if actor is not None:
        _check_workspace(actor, customer)
    value = normalize(kind, value)
    existing = Identity.objects.filter(workspace_id=customer.workspace_id, kind=kind, value=value).first()
    if existing is None:
        with transaction.atomic():
            return Identity.objects.create(workspace_id=customer.workspace_id, customer=customer, kind=kind, value=value,
                                           verified=verified, claimed=claimed, created_at=now())
    if existing.customer_id != customer.pk:
        if not existing.claimed:
            raise IdentityTaken(f"{kind} {value} belongs to customer {existing.customer_id}; merge the two customers "
                                "instead.", field="value")
        return _take_over_claim(existing, customer, verified=verified, claimed=claimed)
    # Already theirs: a source that vouches confirms it (the site now signs a known user id, an order
    # names the address the visitor typed); a claim never undoes that.
    if (verified and not existing.verified) or (existing.claimed and not claimed):
        existing.verified = existing.verified or verified
        existing.claimed = existing.claimed and claimed
        existing.save(update_fields=["verified", "claimed"])
    return existing


@transaction.atomic
def _take_over_claim(identity: Identity, customer: Customer, *, verified: bool, claimed: bool) -> Identity:
    """A claimed identity moves to `customer`. The claimant keeps its conversations, and the value as
    `unverified_<kind>` for agents; what the new holder's source brings never reaches the claimant."""
    claimant = Customer.objects.select_for_update().get(pk=identity.customer_id)
    # Only while it is still a claim: a source that made it its own in the meantime keeps it.
    moved = Identity.objects.filter(pk=identity.pk, customer_id=claimant.pk, claimed=True).update(
        customer=customer, verified=verified, claimed=claimed, created_at=now())
    if not moved:
        raise IdentityTaken(f"{identity.kind} {identity.value} was taken by another customer just now; try again.",
                            field="value")
    claimant.custom_attributes = {**claimant.custom_attributes, f"unverified_{identity.kind}": identity.value}
    claimant.updated_at = now()
    claimant.save(update_fields=["custom_attributes", "updated_at"])
    audit.record(workspace_id=claimant.workspace_id, actor_id=None, action="identity.claim_taken_over", obj=claimant,
                 data={"kind": identity.kind, "value": identity.value, "to_customer_id": customer.pk})
    publish(CustomerUpdated(workspace_id=claimant.workspace_id, customer_id=claimant.pk))
    return Identity.objects.get(pk=identity.pk)


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
