"""Writes to the store of record: upserts by natural key, stale pushes, identity resolution, amounts that
must add up, refusals that write nothing, who may write, and orders moving with a merged customer."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps

from touchpoint.commerce import services
from touchpoint.commerce.events import OrderPlaced, OrderStatusChanged, ShipmentStatusChanged
from touchpoint.commerce.models import InventoryLevel, Order, OrderLine, Product, Shipment, Variant
from touchpoint.commerce.services import InventoryRecord, LineRecord, Outcome, VariantRecord
from touchpoint.conversations.services import Content, receive_message
from touchpoint.core import events
from touchpoint.core.errors import Conflict, PermissionDenied, ValidationFailed
from touchpoint.customers import services as customers
from touchpoint.customers.models import Customer, Identity

from .conftest import CATALOG, PLACED, line, order, product, shipment, variant

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def rows() -> dict[str, list]:
    """Every commerce and customer row, to show that a refusal wrote nothing."""
    found = {}
    for model in [*apps.get_app_config("commerce").get_models(), Customer, Identity]:
        found[model._meta.label] = sorted(model.objects.values_list(), key=repr)
    return found


@pytest.fixture
def capture(monkeypatch):
    """The domain events published, in order (they are delivered after commit; here we note them)."""
    seen: list = []
    monkeypatch.setattr(services, "publish", lambda event: seen.append(event))
    return seen


# ---- products ------------------------------------------------------------------------------------


def test_a_product_is_created_then_updated_unchanged_or_stale_by_its_handle(desk):
    record = product("tent", "Basecamp 2 Tent", "Tent", [variant("BT-2", "249.00", 4, color="green")],
                     updated_at=T0)
    made = services.upsert_product(actor=desk.admin_actor, record=record)
    assert made.outcome == Outcome.CREATED and made.obj.product_type == "tent"
    assert services.upsert_product(actor=desk.admin_actor, record=record).outcome == Outcome.UNCHANGED
    newer = product("tent", "Basecamp 2 Tent (2026)", "tent", [variant("BT-2", "239.00", 4, color="green")],
                    updated_at=T0 + timedelta(hours=1))
    assert services.upsert_product(actor=desk.admin_actor, record=newer).outcome == Outcome.UPDATED
    older = product("tent", "Old name", "tent", [variant("BT-2", "999.00", 4)], updated_at=T0)
    assert services.upsert_product(actor=desk.admin_actor, record=older).outcome == Outcome.STALE
    stored = Product.objects.get(workspace_id=desk.id, handle="tent")
    assert stored.name == "Basecamp 2 Tent (2026)" and stored.source_updated_at == T0 + timedelta(hours=1)
    assert Variant.objects.get(sku="BT-2").price == Decimal("239.00")
    assert Product.objects.filter(workspace_id=desk.id).count() == 1


def test_variants_left_out_are_deactivated_and_come_back_when_pushed_again(desk, catalog):
    jacket = CATALOG[0]
    services.upsert_product(actor=desk.admin_actor, record=product(
        jacket.handle, jacket.name, jacket.product_type, [jacket.variants[0]]))
    assert set(Variant.objects.filter(product__handle=jacket.handle, active=True).values_list("sku", flat=True)) == {
        "RJ-BLK-S"}
    assert Variant.objects.filter(product__handle=jacket.handle).count() == 3  # kept for old orders
    again = services.upsert_product(actor=desk.admin_actor, record=jacket)
    assert again.outcome == Outcome.UPDATED
    assert Variant.objects.filter(product__handle=jacket.handle, active=True).count() == 3


def test_stock_in_a_product_push_and_alone(desk, catalog):
    level = InventoryLevel.objects.get(variant__sku="RJ-BLK-M")
    assert level.quantity == 0 and level.restock_date is not None
    changed = services.set_inventory(actor=desk.admin_actor, record=InventoryRecord(sku="RJ-BLK-M", quantity=12,
                                                                                  updated_at=T0))
    assert changed.outcome == Outcome.UPDATED and changed.obj.quantity == 12 and changed.obj.restock_date is None
    same = services.set_inventory(actor=desk.admin_actor, record=InventoryRecord(sku="RJ-BLK-M", quantity=12))
    assert same.outcome == Outcome.UNCHANGED
    late = services.set_inventory(actor=desk.admin_actor, record=InventoryRecord(
        sku="RJ-BLK-M", quantity=1, updated_at=T0 - timedelta(minutes=5)))
    assert late.outcome == Outcome.STALE and InventoryLevel.objects.get(variant__sku="RJ-BLK-M").quantity == 12
    new = services.upsert_product(actor=desk.admin_actor, record=product(
        "lamp", "Head Lamp", "lamp", [variant("HL-1", "30.00", None)]))
    assert not InventoryLevel.objects.filter(variant__product=new.obj).exists()
    created = services.set_inventory(actor=desk.admin_actor, record=InventoryRecord(sku="HL-1", quantity=3))
    assert created.outcome == Outcome.CREATED


def test_a_sku_of_another_product_is_refused(desk, catalog):
    before = rows()
    with pytest.raises(Conflict) as refused:
        services.upsert_product(actor=desk.admin_actor, record=product(
            "copy", "Copy Jacket", "jacket", [variant("NEW-1", "10.00"), variant("RJ-BLK-S", "10.00")]))
    assert refused.value.code == "sku_taken" and "ridgeline-jacket" in refused.value.message
    assert rows() == before


def test_a_sku_is_unique_per_workspace_only(desk, other_desk, catalog):
    again = services.upsert_product(actor=other_desk.admin_actor, record=CATALOG[0])
    assert again.outcome == Outcome.CREATED
    assert Variant.objects.filter(sku="RJ-BLK-S").count() == 2


BAD_PRODUCTS = [
    (dict(variants=[VariantRecord(sku="X-1", price="-5.00", currency="USD")]), "negative_amount"),
    (dict(variants=[VariantRecord(sku="X-1", price="5.00", currency="DOLLARS")]), "unknown_currency"),
    (dict(variants=[VariantRecord(sku="X-1", price="5.00", currency="XYZ")]), "unknown_currency"),
    (dict(variants=[VariantRecord(sku="X-1", price="5.001", currency="USD")]), "invalid_amount"),
    (dict(variants=[VariantRecord(sku="X-1", price="5.5", currency="JPY")]), "invalid_amount"),
    (dict(variants=[VariantRecord(sku="X-1", price=5.5, currency="USD")]), "invalid_amount"),  # a float
    (dict(variants=[VariantRecord(sku="X-1", price="abc", currency="USD")]), "invalid_amount"),
    (dict(variants=[VariantRecord(sku="X-1", price="NaN", currency="USD")]), "invalid_amount"),
    (dict(variants=[VariantRecord(sku="X-1", price="1e12", currency="USD")]), "invalid_amount"),
    (dict(variants=[VariantRecord(sku="X-1", price="5.00", currency="USD", quantity=-1)]), "negative_quantity"),
    (dict(variants=[VariantRecord(sku="X 1", price="5.00", currency="USD")]), "validation_failed"),
    (dict(variants=[VariantRecord(sku="X-1", price="5", currency="USD"),
                    VariantRecord(sku="X-1", price="6", currency="USD")]), "validation_failed"),
    (dict(variants=[]), "validation_failed"),
    (dict(variants=[VariantRecord(sku="X-1", price="5", currency="USD", attributes={"color": True})]),
     "validation_failed"),
    (dict(variants=[VariantRecord(sku="X-1", price="5", currency="USD", attributes={"": "x"})]), "validation_failed"),
    (dict(url="javascript:alert(1)"), "validation_failed"),
    (dict(url="ftp://files.example/x"), "validation_failed"),
    (dict(name="  "), "validation_failed"),
    (dict(handle="two words"), "validation_failed"),
    (dict(updated_at=datetime(2026, 3, 1, 9)), "validation_failed"),  # no time zone
    (dict(attributes={"care": {"wash": 30}}), "validation_failed"),
]


@pytest.mark.parametrize("change,code", BAD_PRODUCTS, ids=[f"{i}-{c}" for i, (_, c) in enumerate(BAD_PRODUCTS)])
def test_bad_products_are_refused_with_a_reason_and_nothing_written(desk, change, code):
    fields = dict(handle="x", name="X", product_type="thing", variants=[VariantRecord(sku="X-1", price="5",
                                                                                       currency="USD")])
    fields.update(change)
    before = rows()
    with pytest.raises(ValidationFailed) as refused:
        services.upsert_product(actor=desk.admin_actor, record=services.ProductRecord(**fields))
    assert refused.value.code == code and refused.value.message
    assert rows() == before


def test_money_keeps_the_currencys_decimals(desk):
    made = services.upsert_product(actor=desk.admin_actor, record=product("yen", "Yen Thing", "thing", [
        variant("Y-1", "1500", 1, currency="jpy"), variant("K-1", "2.125", 1, currency="KWD"),
        variant("U-1", "19.990", 1, currency="USD")])).obj
    prices = {v.sku: (v.shown_price, v.currency) for v in made.variants.all()}
    assert prices == {"Y-1": (Decimal("1500"), "JPY"), "K-1": (Decimal("2.125"), "KWD"),
                      "U-1": (Decimal("19.99"), "USD")}
    assert str(prices["Y-1"][0]) == "1500" and str(prices["U-1"][0]) == "19.99"


def test_stock_refusals(desk, catalog):
    before = rows()
    for record, code in [(InventoryRecord(sku="RJ-BLK-S", quantity=-3), "negative_quantity"),
                         (InventoryRecord(sku="RJ-BLK-S", quantity="7"), "invalid_quantity"),
                         (InventoryRecord(sku="NOPE", quantity=1), "unknown_sku")]:
        with pytest.raises(ValidationFailed) as refused:
            services.set_inventory(actor=desk.admin_actor, record=record)
        assert refused.value.code == code
    assert rows() == before


# ---- who may write ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent_actor", "supervisor_actor"])
def test_only_admins_write_the_store_of_record(desk, placed_order, who):
    actor = getattr(desk, who)
    before = rows()
    for call in (lambda: services.upsert_product(actor=actor, record=CATALOG[2]),
                 lambda: services.set_inventory(actor=actor, record=InventoryRecord(sku="TF-GRN-M", quantity=1)),
                 lambda: services.upsert_order(actor=actor, record=order(
                     "NW-5", "x@example.com", [line("TF-GRN-M", 1, "59.50")], "59.50")),
                 lambda: services.upsert_shipment(actor=actor, record=shipment("NW-100234", "T-1", "in_transit"))):
        with pytest.raises(PermissionDenied):
            call()
    assert rows() == before


# ---- orders -----------------------------------------------------------------------------------------


def test_an_order_links_to_the_customer_the_conversations_use(desk, catalog):
    message, _ = receive_message(workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
                                 sender_name="Maria Garcia", content=Content(text="Hello"))
    made = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-1", " MARIA@example.com", [line("RJ-BLK-S", 1, "79.00")], "79.00"))
    assert made.outcome == Outcome.CREATED
    assert made.obj.customer_id == message.conversation.customer_id and made.obj.email == "maria@example.com"
    assert Customer.objects.filter(workspace_id=desk.id).count() == 1


def test_an_unknown_buyer_becomes_a_customer_with_their_email_and_store_id(desk, catalog):
    made = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-2", "tom@example.net", [line("RJ-BLK-S", 1, "79.00")], "79.00", customer_name="Tom Baker",
        customer_external_id="shop-77")).obj
    tom = made.customer
    assert tom.name == "Tom Baker" and made.customer_ref == "shop-77"
    assert set(tom.identities.values_list("kind", "value")) == {("email", "tom@example.net"), ("external", "shop-77")}
    # The store's customer id wins over a new email: the same account holder ordered from another address.
    later = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-3", "tom.work@example.net", [line("RJ-BLK-S", 1, "79.00")], "79.00", customer_external_id="shop-77")).obj
    assert later.customer_id == tom.pk
    assert tom.identities.filter(value="tom.work@example.net").exists()


def test_an_email_owned_by_someone_else_is_not_taken_from_them(desk, catalog):
    pat = customers.create_customer(workspace_id=desk.id, name="Pat", identities=[("email", "shared@example.com")])
    made = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-4", "shared@example.com", [line("RJ-BLK-S", 1, "79.00")], "79.00", customer_external_id="shop-9")).obj
    assert made.customer_id == pat.pk  # the email decides while the store id is new
    other = customers.create_customer(workspace_id=desk.id, name="Sam", identities=[("external", "shop-10")])
    again = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-5", "shared@example.com", [line("RJ-BLK-S", 1, "79.00")], "79.00", customer_external_id="shop-10")).obj
    assert again.customer_id == other.pk and Identity.objects.get(value="shared@example.com").customer_id == pat.pk


def test_an_email_a_chat_visitor_only_typed_is_taken_by_the_orders_customer(desk, catalog):
    """An address typed into the chat widget (a claim) belongs to nobody: whether the order is found by
    its email or by the store's customer id, the address goes with the order, never the order to the
    visitor who typed it."""
    visitor = customers.create_customer(workspace_id=desk.id, name="Visitor")
    customers.add_identity(customer=visitor, kind="email", value="ann@example.net", claimed=True)
    customers.add_identity(customer=visitor, kind="email", value="bo@example.net", claimed=True)
    by_email = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-6", "ann@example.net", [line("RJ-BLK-S", 1, "79.00")], "79.00")).obj
    bo = customers.create_customer(workspace_id=desk.id, name="Bo", identities=[("external", "shop-11")])
    by_store_id = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-7", "bo@example.net", [line("RJ-BLK-S", 1, "79.00")], "79.00", customer_external_id="shop-11")).obj
    assert by_email.customer_id not in (None, visitor.pk) and by_store_id.customer_id == bo.pk
    assert {(i.value, i.customer_id, i.claimed) for i in Identity.objects.filter(kind="email")} == {
        ("ann@example.net", by_email.customer_id, False), ("bo@example.net", bo.pk, False)}
    visitor.refresh_from_db()
    assert visitor.custom_attributes["unverified_email"] == "bo@example.net"  # the latest taken


def test_an_order_is_updated_by_its_number_in_any_case_and_a_late_push_is_ignored(desk, placed_order, capture):
    record = order("nw-100234", "maria@example.com", [line("RJ-BLK-S", 1, "79.00")], "79.00", status="refunded",
                   updated_at=T0 + timedelta(days=1))
    changed = services.upsert_order(actor=desk.admin_actor, record=record)
    assert changed.outcome == Outcome.UPDATED and changed.obj.pk == placed_order.pk
    assert changed.obj.status == "refunded" and changed.obj.number == "nw-100234"
    assert list(changed.obj.lines.values_list("sku", "quantity")) == [("RJ-BLK-S", 1)]  # lines replaced
    assert [type(e) for e in capture] == [OrderStatusChanged]
    assert (capture[0].status, capture[0].previous) == ("refunded", "fulfilled")
    assert services.upsert_order(actor=desk.admin_actor, record=record).outcome == Outcome.UNCHANGED
    stale = order("NW-100234", "maria@example.com", [line("RJ-BLK-S", 1, "79.00")], "79.00", status="placed",
                  updated_at=T0)
    assert services.upsert_order(actor=desk.admin_actor, record=stale).outcome == Outcome.STALE
    assert Order.objects.get(pk=placed_order.pk).status == "refunded"
    assert Order.objects.filter(workspace_id=desk.id).count() == 1


def test_a_new_order_publishes_order_placed(desk, catalog, capture):
    made = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-7", "a@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00")).obj
    assert capture == [OrderPlaced(workspace_id=desk.id, order_id=made.pk, customer_id=made.customer_id)]


def test_lines_with_an_unknown_sku_keep_their_name_and_without_a_name_are_refused(desk, catalog):
    made = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-8", "a@example.com", [line("OLD-CAP", 2, "15.00", name="Summit Cap (retired)"), line("", 1, "5.00",
                                                                                                  name="Gift wrap"),
                                 line("MS-GRY-M", 1, "18.00")], "53.00")).obj
    stored = list(OrderLine.objects.filter(order=made).values_list("sku", "name", "variant__sku"))
    assert stored == [("OLD-CAP", "Summit Cap (retired)", None), ("", "Gift wrap", None),
                      ("MS-GRY-M", "Merino Hiking Socks (grey, M)", "MS-GRY-M")]
    assert made.summary == "2 × Summit Cap (retired), Gift wrap, Merino Hiking Socks (grey, M)"
    before = rows()
    with pytest.raises(ValidationFailed) as refused:
        services.upsert_order(actor=desk.admin_actor, record=order(
            "NW-9", "a@example.com", [line("MS-GRY-M", 1, "18.00"), line("GONE-1", 1, "5.00")], "23.00"))
    assert refused.value.code == "unknown_sku" and "Line 2" in refused.value.message
    assert rows() == before


@pytest.mark.parametrize("fields,ok", [
    (dict(total="129.40", shipping="4.95", tax="9.45"), True),
    (dict(total="129.41", shipping="4.95", tax="9.45"), False),
    (dict(total="115.00"), True),
    (dict(total="103.50", discount="11.50"), True),
    (dict(total="103.50", discount="11.50", subtotal="115.00"), True),
    (dict(total="103.50", discount="11.50", subtotal="110.00"), False),  # the lines make 115.00
    (dict(total="119.95", shipping="4.95", tax="19.99", taxes_included=True), True),  # VAT inside the prices
    (dict(total="139.94", shipping="4.95", tax="19.99", taxes_included=True), False),
])
def test_totals_must_add_up(desk, catalog, fields, ok):
    record = order("NW-10", "a@example.com", [line("RJ-BLK-S", 1, "79.00"), line("MS-GRY-M", 2, "18.00")],
                   fields.pop("total"), **fields)
    if ok:
        assert services.upsert_order(actor=desk.admin_actor, record=record).outcome == Outcome.CREATED
        return
    before = rows()
    with pytest.raises(ValidationFailed) as refused:
        services.upsert_order(actor=desk.admin_actor, record=record)
    assert refused.value.code == "totals_mismatch" and refused.value.field in ("total", "subtotal")
    assert rows() == before


BAD_ORDERS = [
    (dict(currency="EURO"), "unknown_currency"),
    (dict(status="shipped"), "validation_failed"),
    (dict(email="not an email"), "validation_failed"),
    (dict(email=""), "validation_failed"),
    (dict(placed_at=datetime(2026, 3, 1)), "validation_failed"),
    (dict(lines=[]), "validation_failed"),
    (dict(lines=[LineRecord(sku="MS-GRY-M", quantity=0, unit_price="18.00")]), "invalid_quantity"),
    (dict(lines=[LineRecord(sku="MS-GRY-M", quantity=-2, unit_price="18.00")]), "invalid_quantity"),
    (dict(lines=[LineRecord(sku="MS-GRY-M", quantity=1, unit_price="-18.00")], total="-18.00"), "negative_amount"),
    (dict(shipping="-1.00"), "negative_amount"),
    (dict(number="NW 1"), "validation_failed"),
    (dict(customer_external_id="has spaces in it"), "validation_failed"),
]


@pytest.mark.parametrize("change,code", BAD_ORDERS, ids=[f"{i}-{c}" for i, (_, c) in enumerate(BAD_ORDERS)])
def test_bad_orders_are_refused_and_nothing_written(desk, catalog, change, code):
    fields = dict(number="NW-11", email="a@example.com", placed_at=PLACED, currency="USD",
                  lines=[LineRecord(sku="MS-GRY-M", quantity=1, unit_price="18.00")], total="18.00")
    fields.update(change)
    before = rows()
    with pytest.raises(ValidationFailed) as refused:
        services.upsert_order(actor=desk.admin_actor, record=services.OrderRecord(**fields))
    assert refused.value.code == code and refused.value.message
    assert rows() == before


# ---- shipments -------------------------------------------------------------------------------------


def test_a_shipment_is_updated_by_carrier_and_tracking_number_in_any_case(desk, placed_order, capture):
    moved = services.upsert_shipment(actor=desk.admin_actor, record=shipment(
        "NW-100234", "1z999aa10123456784", "out_for_delivery", carrier="ups"))
    assert moved.outcome == Outcome.UPDATED and Shipment.objects.filter(workspace_id=desk.id).count() == 1
    assert [(e.status, e.previous) for e in capture] == [("out_for_delivery", "in_transit")]
    at = datetime(2026, 3, 6, 15, tzinfo=UTC)
    done = services.upsert_shipment(actor=desk.admin_actor, record=shipment(
        "NW-100234", "1Z999AA10123456784", "delivered", updated_at=at))
    assert done.obj.delivered_at == at  # no delivered_at sent: the time of the push
    assert done.obj.shipped_at == datetime(2026, 3, 3, 8, tzinfo=UTC)  # kept from before
    assert isinstance(capture[-1], ShipmentStatusChanged) and capture[-1].customer_id == placed_order.customer_id
    stale = services.upsert_shipment(actor=desk.admin_actor, record=shipment(
        "NW-100234", "1Z999AA10123456784", "in_transit", updated_at=at - timedelta(hours=3)))
    assert stale.outcome == Outcome.STALE and Shipment.objects.get().status == "delivered"


def test_a_parcel_in_transit_without_a_ship_time_is_taken_as_shipped_now(desk, placed_order):
    made = services.upsert_shipment(actor=desk.admin_actor, record=shipment("NW-100234", "DPD-1", "in_transit",
                                                                            carrier="DPD")).obj
    assert made.shipped_at is not None and made.delivered_at is None
    label = services.upsert_shipment(actor=desk.admin_actor, record=shipment("NW-100234", "DPD-2", "label_created",
                                                                             carrier="DPD")).obj
    assert label.shipped_at is None


@pytest.mark.parametrize("change,code", [
    (dict(order_number="NW-404"), "unknown_order"),
    (dict(status="lost"), "validation_failed"),
    (dict(status="in_transit", delivered_at=datetime(2026, 3, 5, tzinfo=UTC)), "validation_failed"),
    (dict(status="delivered", shipped_at=datetime(2026, 3, 5, tzinfo=UTC),
          delivered_at=datetime(2026, 3, 4, tzinfo=UTC)), "validation_failed"),
    (dict(tracking_url="javascript:alert(1)"), "validation_failed"),
    (dict(carrier=""), "validation_failed"),
    (dict(estimated_delivery="tomorrow"), "validation_failed"),
])
def test_bad_shipments_are_refused_and_nothing_written(desk, placed_order, change, code):
    fields = dict(order_number="NW-100234", carrier="UPS", tracking_number="NEW-1", status="in_transit")
    fields.update(change)
    before = rows()
    with pytest.raises(ValidationFailed) as refused:
        services.upsert_shipment(actor=desk.admin_actor, record=services.ShipmentRecord(**fields))
    assert refused.value.code == code
    assert rows() == before


def test_another_workspace_cannot_ship_an_order_it_does_not_have(desk, other_desk, placed_order):
    with pytest.raises(ValidationFailed) as refused:
        services.upsert_shipment(actor=other_desk.admin_actor, record=shipment("NW-100234", "X-1", "in_transit"))
    assert refused.value.code == "unknown_order"
    # ... and its order with the same number is its own.
    services.upsert_product(actor=other_desk.admin_actor, record=CATALOG[4])
    theirs = services.upsert_order(actor=other_desk.admin_actor, record=order(
        "NW-100234", "maria@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00")).obj
    assert theirs.pk != placed_order.pk and theirs.customer.workspace_id == other_desk.id
    assert Order.objects.get(pk=placed_order.pk).total == Decimal("129.40")


# ---- merge ------------------------------------------------------------------------------------------


def test_orders_move_with_a_merged_customer(desk, placed_order):
    maria = placed_order.customer
    message, _ = receive_message(workspace_id=desk.id, channel="sms", sender=("phone", "+447700900123"),
                                 content=Content(text="Hi, it's Maria"))
    phone_maria = message.conversation.customer
    services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-200", "maria@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00"))
    survivor = customers.merge_customers(actor=desk.agent_actor, source=maria, target=phone_maria)
    assert set(Order.objects.filter(customer=survivor).values_list("number", flat=True)) == {"NW-100234", "NW-200"}
    assert not Order.objects.filter(customer=maria).exists()
    # The next push for that email lands on the survivor too.
    later = services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-201", "maria@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00")).obj
    assert later.customer_id == survivor.pk


def test_restock_dates_are_plausible_dates(desk, catalog):
    with pytest.raises(ValidationFailed):
        services.set_inventory(actor=desk.admin_actor, record=InventoryRecord(sku="GB-43", quantity=0,
                                                                              restock_date=date(1900, 1, 1)))


def test_events_are_delivered_after_commit(desk, catalog, django_capture_on_commit_callbacks, monkeypatch):
    heard: list = []
    monkeypatch.setitem(events._handlers, OrderPlaced, [heard.append])
    with django_capture_on_commit_callbacks(execute=True):
        services.upsert_order(actor=desk.admin_actor, record=order(
            "NW-300", "e@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00"))
    assert [e.name for e in heard] == ["order.placed"]
