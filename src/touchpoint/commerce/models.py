"""The store of record the desk and the bot read: catalog (products and their variants), stock per
variant, orders with their lines, and shipments.

Touchpoint does not run the shop: the store's back end pushes these records (API, CSV/JSON import) and
Touchpoint keeps the latest version of each. Every record therefore has the store's natural key
(product handle, SKU, order number, carrier + tracking number) unique per workspace, and the time the
store last changed it (`source_updated_at`), so a push that arrives late cannot overwrite a newer one.
All writes go through services.py, which checks amounts and currencies; a row here always adds up.

Amounts are Decimal columns with four decimals (enough for every ISO 4217 currency) and at most ten
digits before the point; services round nothing, they refuse amounts with more decimals than the
currency has.
"""

from decimal import Decimal

from django.db import models

from touchpoint.commerce.money import MINOR_UNITS
from touchpoint.core.models import WorkspaceScopedQuerySet

MONEY = {"max_digits": 14, "decimal_places": 4}


def in_currency(value: Decimal, currency: str) -> Decimal:
    """The amount with the currency's own number of decimals (19.99, not the column's 19.9900)."""
    return value.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2)))


_OPTION_ORDER = {"color": 0, "colour": 0, "size": 1}


def option_text(attributes: dict) -> str:
    """"black, M": color before size, then the rest by name, whatever order the database keeps them in."""
    names = sorted(attributes, key=lambda k: (_OPTION_ORDER.get(k, 2), k))
    return ", ".join(str(attributes[k]) for k in names)



class CatalogState(models.Model):
    """One row per workspace with a catalog, counting its changes: the bot's vocabulary cache compares
    this number, so a catalog written by another process (an import, another server) is seen at once."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"catalog of workspace {self.workspace_id}, version {self.version}"


class Product(models.Model):
    """What the store sells, e.g. "Ridgeline Rain Jacket"; the variants are what goes in the parcel."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    handle = models.CharField(max_length=200)  # the store's handle or external id: the natural key
    name = models.CharField(max_length=200)
    product_type = models.CharField(max_length=80)  # lower case, e.g. "jacket", "sleeping bag"
    description = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    attributes = models.JSONField(default=dict, blank=True)  # shared by all variants, e.g. {"material": "merino"}
    active = models.BooleanField(default=True)  # an inactive product is kept for old orders, never offered
    source_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "handle"], name="product_unique_handle")]
        indexes = [models.Index(fields=["workspace", "product_type"]), models.Index(fields=["workspace", "created_at"])]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """One buyable version of a product: a SKU with its options (color, size) and its price."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64)
    attributes = models.JSONField(default=dict, blank=True)  # {"color": "black", "size": "M"}, text values
    price = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "sku"], name="variant_unique_sku")]
        indexes = [models.Index(fields=["workspace", "price"])]
        ordering = ["sku"]

    def __str__(self) -> str:
        return self.sku

    @property
    def shown_price(self) -> Decimal:
        return in_currency(self.price, self.currency)


class InventoryLevel(models.Model):
    """Stock on hand for one variant, and when more arrives if it has run out."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    variant = models.OneToOneField(Variant, on_delete=models.CASCADE, related_name="inventory")
    quantity = models.PositiveIntegerField(default=0)
    restock_date = models.DateField(null=True, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)  # when the store counted: older counts lose
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.quantity}"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    PAID = "paid", "Paid"
    PARTIALLY_FULFILLED = "partially_fulfilled", "Partially shipped"
    FULFILLED = "fulfilled", "Shipped"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


class Order(models.Model):
    """An order as the store recorded it. `customer` is the Touchpoint customer the order's email (or
    the store's customer id) resolves to: the same record the conversations hang off, so a merge moves
    the orders too, and the bot can tell whether the person asking owns the order."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=64)  # as the store shows it, e.g. NW-100234
    number_key = models.CharField(max_length=64)  # upper case: how a customer may type it
    # RESTRICT: a customer with orders is not deleted by accident; deleting the workspace deletes both.
    customer = models.ForeignKey("customers.Customer", on_delete=models.RESTRICT, related_name="orders")
    email = models.CharField(max_length=320)  # the address given at checkout, lower case
    customer_ref = models.CharField(max_length=200, blank=True)  # the store's own customer id, when it sent one
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY)  # the lines
    discount = models.DecimalField(**MONEY, default=Decimal(0))
    shipping = models.DecimalField(**MONEY, default=Decimal(0))
    tax = models.DecimalField(**MONEY, default=Decimal(0))
    taxes_included = models.BooleanField(default=False)  # prices include the tax (VAT): total excludes it again
    total = models.DecimalField(**MONEY)
    summary = models.CharField(max_length=300, blank=True)  # "2 × Trail Sock, Ridgeline Jacket" for lists
    placed_at = models.DateTimeField()
    source_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "number_key"], name="order_unique_number")]
        indexes = [models.Index(fields=["customer", "-placed_at"]), models.Index(fields=["workspace", "-placed_at"])]
        ordering = ["-placed_at", "-id"]

    def __str__(self) -> str:
        return self.number

    def money(self, field: str) -> Decimal:
        return in_currency(getattr(self, field), self.currency)


class OrderLine(models.Model):
    """One line of an order. The SKU links to the catalog when it is known there; a SKU the catalog no
    longer has (a discontinued product) is kept with the name the store sent."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    sku = models.CharField(max_length=64, blank=True)
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["order", "position"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class ShipmentStatus(models.TextChoices):
    LABEL_CREATED = "label_created", "Label created"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Delivery problem"


class Shipment(models.Model):
    """A parcel of an order with the carrier's tracking. Its natural key is carrier + tracking number,
    compared without regard to case ("UPS" and "ups" are one carrier)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(max_length=60)
    tracking_number = models.CharField(max_length=100)
    tracking_key = models.CharField(max_length=170)  # "ups:1Z999AA10123456784": carrier and number, any case
    tracking_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=24, choices=ShipmentStatus.choices, default=ShipmentStatus.LABEL_CREATED)
    shipped_at = models.DateTimeField(null=True, blank=True)
    estimated_delivery = models.DateField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "tracking_key"], name="shipment_unique_tracking")]
        indexes = [models.Index(fields=["order", "created_at"])]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"
