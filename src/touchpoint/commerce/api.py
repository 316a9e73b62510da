"""/api/v1/commerce: the store's back end pushes its catalog, stock, orders and shipments; the desk reads them.

Reads: every member (agents, supervisors, admins). Writes: admins, or an integration with an admin's
API token (services.py says why). Every write is an upsert by the record's natural key, answering 201
when it created the record and 200 otherwise, with `outcome` saying what happened.
"""

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from touchpoint.commerce import importers, selectors, services
from touchpoint.commerce.models import InventoryLevel, Order, Product, Shipment
from touchpoint.commerce.schemas import (
    CustomerOrdersQuery,
    ImportIn,
    ImportOut,
    InventoryIn,
    InventoryUpserted,
    OrderIn,
    OrderOut,
    OrderQuery,
    OrderUpserted,
    ProductIn,
    ProductOut,
    ProductQuery,
    ProductUpserted,
    ShipmentIn,
    ShipmentUpserted,
)
from touchpoint.commerce.selectors import order_key
from touchpoint.core.api import Id, Keyset, Page, actor, page_of, problem
from touchpoint.core.permissions import Role
from touchpoint.customers.selectors import access_customer

router = Router(tags=["commerce"])

PRODUCTS = Keyset("commerce.products", "created_at", descending=False)
ORDERS = Keyset("commerce.orders", "placed_at", descending=True)


def _answer(upserted: services.Upserted, body: dict) -> Status:
    return Status(201 if upserted.outcome == services.Outcome.CREATED else 200, {"outcome": upserted.outcome, **body})


# ---- catalog --------------------------------------------------------------------------------------


@router.get("/commerce/products", response=Page[ProductOut], summary="List products with their variants and stock")
def list_products(request: HttpRequest, params: Query[ProductQuery]) -> dict:
    """Oldest first, so a sync can page forward; filter by part of the name, type, handle or active."""
    who = actor(request)
    who.require(Role.AGENT)
    qs = selectors.products_for(who)
    if params.q:
        qs = qs.filter(name__icontains=params.q.strip())
    if params.type:
        qs = qs.filter(product_type=params.type.strip().casefold())
    if params.handle:
        qs = qs.filter(handle=params.handle.strip())
    if params.active is not None:
        qs = qs.filter(active=params.active)
    return page_of(PRODUCTS, selectors.with_variants(qs), cursor=params.cursor, limit=params.limit)


@router.get("/commerce/products/{product_id}", response=ProductOut, summary="A product with its variants and stock")
def get_product(request: HttpRequest, product_id: Id) -> Product:
    return selectors.access_product(actor(request), product_id)


@router.post("/commerce/products", response={200: ProductUpserted, 201: ProductUpserted},
             summary="Create or update a product by its handle (admin)")
def upsert_product(request: HttpRequest, payload: ProductIn) -> Status:
    """The product with all its variants: variants left out are deactivated. A variant's `stock` sets
    its stock on hand too. A SKU of another product is refused (409 `sku_taken`)."""
    who = actor(request)
    upserted = services.upsert_product(actor=who, record=payload.record())
    return _answer(upserted, {"product": selectors.access_product(who, upserted.obj.pk)})


@router.post("/commerce/inventory", response={200: InventoryUpserted, 201: InventoryUpserted},
             summary="Set a SKU's stock on hand (admin)")
def set_inventory(request: HttpRequest, payload: InventoryIn) -> Status:
    upserted = services.set_inventory(actor=actor(request), record=payload.record())
    level = InventoryLevel.objects.select_related("variant").get(pk=upserted.obj.pk)
    return _answer(upserted, {"inventory": level})


# ---- orders -------------------------------------------------------------------------------------


@router.get("/commerce/orders", response=Page[OrderOut], summary="List orders, newest first")
def list_orders(request: HttpRequest, params: Query[OrderQuery]) -> dict:
    who = actor(request)
    who.require(Role.AGENT)
    qs = selectors.orders_for(who)
    if params.number:
        qs = qs.filter(number_key=order_key(params.number))
    if params.customer_id is not None:
        qs = qs.filter(customer_id=access_customer(who, params.customer_id).pk)
    if params.status is not None:
        qs = qs.filter(status=params.status)
    return page_of(ORDERS, selectors.with_details(qs), cursor=params.cursor, limit=params.limit)


@router.get("/commerce/orders/{order_id}", response=OrderOut, summary="An order with its lines and shipments")
def get_order(request: HttpRequest, order_id: Id) -> Order:
    return selectors.access_order(actor(request), order_id)


@router.post("/commerce/orders", response={200: OrderUpserted, 201: OrderUpserted},
             summary="Create or update an order by its number (admin)")
def upsert_order(request: HttpRequest, payload: OrderIn) -> Status:
    """The order with all its lines. Linked to the customer with that `customer_external_id` or checkout
    `email` (created on first sight). Amounts must add up (422 `totals_mismatch`)."""
    who = actor(request)
    upserted = services.upsert_order(actor=who, record=payload.record())
    return _answer(upserted, {"order": selectors.access_order(who, upserted.obj.pk)})


@router.post("/commerce/shipments", response={200: ShipmentUpserted, 201: ShipmentUpserted},
             summary="Create or update a shipment by carrier and tracking number (admin)")
def upsert_shipment(request: HttpRequest, payload: ShipmentIn) -> Status:
    upserted = services.upsert_shipment(actor=actor(request), record=payload.record())
    return _answer(upserted, {"shipment": Shipment.objects.select_related("order").get(pk=upserted.obj.pk)})


@router.get("/customers/{customer_id}/orders", response=Page[OrderOut], tags=["customers"],
            summary="A customer's orders, newest first")
def customer_orders(request: HttpRequest, customer_id: Id, params: Query[CustomerOrdersQuery]) -> dict:
    """A merged-away id answers with the orders of the customer it was merged into."""
    who = actor(request)
    customer = access_customer(who, customer_id)
    qs = selectors.with_details(selectors.orders_for(who).filter(customer_id=customer.pk))
    return page_of(ORDERS, qs, cursor=params.cursor, limit=params.limit)


# ---- batch ----------------------------------------------------------------------------------------


@router.post("/commerce/import", response=ImportOut, summary="Import many records at once, all or nothing (admin)")
def import_batch(request: HttpRequest, payload: ImportIn) -> dict | HttpResponse:
    """Products, then stock, then orders, then shipments, each through the same checks as the single
    pushes. When any record is refused nothing is written, and the 422 lists every refusal by kind and
    position (`errors`). `dry_run` checks and counts without writing."""
    who = actor(request)
    sources = [importers.Source(kind=kind, name=kind, rows=[
        importers.Parsed(row=n, record=item.record()) for n, item in enumerate(getattr(payload, kind), 1)])
        for kind in importers.KINDS]
    report = importers.import_commerce(actor=who, sources=sources, dry_run=payload.dry_run)
    if report.errors:
        errors = [{"field": f"{e.source}.{e.row}", "code": "refused", "message": e.message} for e in report.errors]
        return problem(422, "import_refused", f"{len(errors)} record{'s' if len(errors) > 1 else ''} refused; nothing "
                       f"was written. First: {report.errors[0]}", errors=errors[:500])
    return {"dry_run": report.dry_run, "written": report.written, "counts": report.counts}
