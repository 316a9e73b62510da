from django.db import models

from touchpoint.core.models import WorkspaceScopedQuerySet


class Customer(models.Model):
    """The one record per customer every channel, event and survey answer hangs off."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=16, blank=True)
    custom_attributes = models.JSONField(default=dict, blank=True)
    # {"email_marketing": {"granted": true, "at": "...", "source": "..."}, ...}
    consent = models.JSONField(default=dict, blank=True)
    # Set when this record was merged into another; kept so old links and ids still lead somewhere.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "name"]), models.Index(fields=["workspace", "-updated_at"])]

    def __str__(self) -> str:
        return self.name or f"Customer {self.pk}"

    @property
    def display_name(self) -> str:
        return str(self)


class IdentityKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    VISITOR = "visitor", "Chat visitor"
    EXTERNAL = "external", "External id"
    SOCIAL = "social", "Social handle"


class Identity(models.Model):
    """A way to recognise a customer. (workspace, kind, value) is unique: one identity, one customer.

    `verified`: a site's signature vouched for it (the widget's user_hash). `claimed`: only an unsigned
    claim put it here, an address a visitor typed into the widget. A claim lets agents find and answer
    that visitor, but it identifies them to nothing else: it belongs to nobody, so any other source that
    names the value (an order, an email, a signed sign-in, an agent, the API, or a later claim) takes it
    over (services.add_identity)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=320)
    verified = models.BooleanField(default=False)
    claimed = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "kind", "value"], name="identity_unique_value")]
        ordering = ["kind", "value"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
