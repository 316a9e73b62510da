"""The reads the bot builds on: vocabulary, product finder, stock, verified orders and their summary."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from touchpoint.commerce import selectors, services
from touchpoint.commerce.models import CatalogState, InventoryLevel, Product
from touchpoint.commerce.services import InventoryRecord
from touchpoint.conversations.services import Content, receive_message
from touchpoint.customers import services as customers

from .conftest import CATALOG, LATER, SOON, line, order, product, variant

# ---- vocabulary -------------------------------------------------------------------------------------


def test_vocabulary_lists_types_options_and_names_of_what_is_offered(desk, catalog):
    vocabulary = selectors.catalog_vocabulary(desk.id)
    assert vocabulary.product_types == ("boots", "jacket", "socks")
    assert vocabulary.attributes["color"] == ("black", "blue", "green", "grey", "red")
    assert vocabulary.attributes["size"] == ("42", "43", "L", "M", "S")
    assert vocabulary.attributes["material"] == ("recycled nylon",)
    assert "waterproof" not in vocabulary.attributes  # true/false describes, it is not a word to match
    assert vocabulary.product_names == ("Granite Hiking Boots", "Merino Hiking Socks", "Ridgeline Rain Jacket",
                                        "Summit Down Jacket", "Trail Fleece Jacket")


def test_vocabulary_of_an_empty_catalog_is_empty(desk):
    vocabulary = selectors.catalog_vocabulary(desk.id)
    assert vocabulary == selectors.Vocabulary(product_types=(), attributes={}, product_names=())


def test_vocabulary_is_cached_and_rebuilt_when_the_catalog_changes(desk, catalog):
    first = selectors.catalog_vocabulary(desk.id)
    with CaptureQueriesContext(connection) as queries:
        again = selectors.catalog_vocabulary(desk.id)
    assert again is first and len(queries) == 1  # only the version is read
    # The test's transaction never commits, so no on-commit hook drops the cache: the version alone
    # tells this process that the catalog changed, as it would tell any other process.
    services.upsert_product(actor=desk.admin_actor, record=product(
        "lantern", "Camp Lantern", "lantern", [variant("CL-1", "25.00", 3, color="orange")]))
    changed = selectors.catalog_vocabulary(desk.id)
    assert "lantern" in changed.product_types and "orange" in changed.attributes["color"]
    assert "Camp Lantern" in changed.product_names


def test_a_stock_change_or_an_unchanged_push_does_not_rebuild_the_vocabulary(desk, catalog):
    version = selectors.catalog_version(desk.id)
    services.set_inventory(actor=desk.admin_actor, record=InventoryRecord(sku="GB-43", quantity=9))
    services.upsert_product(actor=desk.admin_actor, record=CATALOG[0])
    assert selectors.catalog_version(desk.id) == version


def test_vocabulary_leaves_out_inactive_products_and_other_workspaces(desk, other_desk, catalog):
    services.upsert_product(actor=other_desk.admin_actor, record=product(
        "kayak", "Sea Kayak", "kayak", [variant("SK-1", "999.00", 1, color="yellow")]))
    retired = CATALOG[3]
    services.upsert_product(actor=desk.admin_actor, record=product(
        retired.handle, retired.name, retired.product_type, list(retired.variants), active=False))
    vocabulary = selectors.catalog_vocabulary(desk.id)
    assert "kayak" not in vocabulary.product_types and "yellow" not in vocabulary.attributes["color"]
    assert "boots" not in vocabulary.product_types and "42" not in vocabulary.attributes["size"]
    assert selectors.catalog_vocabulary(other_desk.id).product_types == ("kayak",)


# ---- product finder -----------------------------------------------------------------------------------


def _names(matches) -> list[str]:
    return [m.name for m in matches]


def test_find_by_type_puts_what_is_in_stock_first_then_the_cheapest(desk, catalog):
    matches = selectors.find_products(desk.id, product_type="jacket")
    assert _names(matches) == ["Trail Fleece Jacket", "Ridgeline Rain Jacket", "Summit Down Jacket"]
    down = matches[-1]
    assert not down.in_stock and down.restock_date == SOON  # the earliest of its variants
    assert matches[0].in_stock and matches[0].restock_date is None
    assert matches[0].price_from == Decimal("59.50") and matches[0].currency == "USD"
    assert matches[0].url == "https://shop.example/products/trail-fleece" and matches[0].type == "jacket"


def test_find_accepts_plural_and_any_case(desk, catalog):
    assert _names(selectors.find_products(desk.id, product_type="Jackets")) == _names(
        selectors.find_products(desk.id, product_type="jacket"))
    assert _names(selectors.find_products(desk.id, product_type="boot")) == ["Granite Hiking Boots"]


def test_find_by_attributes_keeps_only_matching_variants(desk, catalog):
    matches = selectors.find_products(desk.id, product_type="jacket", attributes={"Color": "BLACK"})
    assert _names(matches) == ["Ridgeline Rain Jacket", "Summit Down Jacket"]
    assert [v.sku for v in matches[0].matching_variants] == ["RJ-BLK-S", "RJ-BLK-M"]  # in stock first
    sku, attributes, price, quantity = matches[0].matching_variants[1]
    assert (sku, attributes, price, quantity) == ("RJ-BLK-M", {"color": "black", "size": "M"}, Decimal("79.00"), 0)
    black_m = selectors.find_products(desk.id, attributes={"color": "black", "size": "m"})
    assert _names(black_m) == ["Ridgeline Rain Jacket", "Summit Down Jacket"]
    assert not black_m[0].in_stock and black_m[0].restock_date == SOON  # only its black M counts
    # Product-level attributes match too; an unknown option matches nothing.
    assert _names(selectors.find_products(desk.id, attributes={"material": "Recycled Nylon"})) == ["Ridgeline Rain Jacket"]
    assert selectors.find_products(desk.id, attributes={"color": "purple"}) == []


def test_find_by_price_range(desk, catalog):
    assert _names(selectors.find_products(desk.id, product_type="jacket", price_max=Decimal("80"))) == [
        "Trail Fleece Jacket", "Ridgeline Rain Jacket"]
    assert _names(selectors.find_products(desk.id, price_min=Decimal("100"), price_max=Decimal("150"))) == [
        "Granite Hiking Boots"]
    assert _names(selectors.find_products(desk.id, price_min=Decimal("79.00"), price_max=Decimal("79.00"))) == [
        "Ridgeline Rain Jacket"]
    assert selectors.find_products(desk.id, price_max=Decimal("10")) == []


def test_find_by_text_tolerates_typos_and_ranks_by_relevance(desk, catalog):
    matches = selectors.find_products(desk.id, text="ridgline jaket")
    assert _names(matches) == ["Ridgeline Rain Jacket"]  # the other jackets match half as well: left out
    down = selectors.find_products(desk.id, text="down jacket")
    assert down[0].name == "Summit Down Jacket" and not down[0].in_stock  # the match, though sold out ...
    assert {m.name for m in down[1:]} == {"Ridgeline Rain Jacket", "Trail Fleece Jacket"}  # ... then the others
    assert down[0].relevance > down[1].relevance and all(m.in_stock for m in down[1:])
    assert _names(selectors.find_products(desk.id, text="goose down"))[0] == "Summit Down Jacket"
    assert _names(selectors.find_products(desk.id, text="merino sokcs")) == ["Merino Hiking Socks"]
    assert selectors.find_products(desk.id, text="zzzz qqqq") == []


def test_find_respects_the_limit_and_leaves_out_inactive_variants(desk, catalog):
    assert len(selectors.find_products(desk.id, limit=2)) == 2
    assert selectors.find_products(desk.id, limit=0) == []
    ridgeline = CATALOG[0]
    services.upsert_product(actor=desk.admin_actor, record=product(
        ridgeline.handle, ridgeline.name, ridgeline.product_type, [ridgeline.variants[0]]))
    match = selectors.find_products(desk.id, text="ridgeline")[0]
    assert [v.sku for v in match.matching_variants] == ["RJ-BLK-S"]  # the others were left out of the push


def test_find_never_shows_another_workspaces_products(desk, other_desk, catalog):
    services.upsert_product(actor=other_desk.admin_actor, record=product(
        "globex-jacket", "Globex Jacket", "jacket", [variant("GX-1", "10.00", 5)]))
    assert "Globex Jacket" not in _names(selectors.find_products(desk.id, product_type="jacket"))
    assert _names(selectors.find_products(other_desk.id, product_type="jacket")) == ["Globex Jacket"]


def test_a_variant_without_stock_data_counts_as_out_of_stock(desk):
    services.upsert_product(actor=desk.admin_actor, record=product(
        "bottle", "Steel Bottle", "water bottle", [variant("SB-1", "22.00", None)]))
    match = selectors.find_products(desk.id, product_type="water bottles")[0]
    assert not match.in_stock and match.restock_date is None and match.matching_variants[0].quantity == 0


def test_a_restock_date_in_the_past_announces_nothing(desk, catalog):
    services.set_inventory(actor=desk.admin_actor, record=InventoryRecord(
        sku="GB-43", quantity=0, restock_date=date.today() - timedelta(days=3)))
    assert selectors.stock_for(desk.id, text="granite boots", attributes={"size": "43"})[0].restock_date is None


# ---- stock -------------------------------------------------------------------------------------------


def test_stock_for_a_product_by_id_or_by_name(desk, catalog):
    down = catalog["summit-down-jacket"]
    rows = selectors.stock_for(desk.id, product_id=down.pk)
    assert [(r.sku, r.quantity, r.restock_date) for r in rows] == [("SD-BLK-M", 0, LATER), ("SD-BLU-L", 0, SOON)]
    assert rows[0].product_name == "Summit Down Jacket" and rows[0].attributes == {"color": "black", "size": "M"}
    by_name = selectors.stock_for(desk.id, text="sumit down jacket")
    assert [r.sku for r in by_name] == ["SD-BLK-M", "SD-BLU-L"]
    sized = selectors.stock_for(desk.id, text="ridgeline", attributes={"size": "M"})
    assert [(r.sku, r.quantity) for r in sized] == [("RJ-RED-M", 2), ("RJ-BLK-M", 0)]  # in stock first


def test_stock_for_nothing_named_or_another_workspaces_product_is_empty(desk, other_desk, catalog):
    assert selectors.stock_for(desk.id) == []
    assert selectors.stock_for(desk.id, text="   ") == []
    assert selectors.stock_for(other_desk.id, product_id=catalog["granite-boot"].pk) == []
    assert selectors.stock_for(other_desk.id, text="granite boots") == []


# ---- verified orders ---------------------------------------------------------------------------------


def test_the_owner_gets_the_order_by_customer_or_by_checkout_email(desk, placed_order):
    customer_id = placed_order.customer_id
    assert selectors.verified_order(desk.id, order_number="NW-100234", customer_id=customer_id) == placed_order
    assert selectors.verified_order(desk.id, order_number=" nw-100234 ", email="MARIA@example.COM ") == placed_order


@pytest.mark.parametrize("number,email,who", [
    ("NW-100234", "someone@example.com", None),  # the wrong email
    ("NW-100234", None, "stranger"),  # another customer
    ("NW-999999", "maria@example.com", None),  # no such order
    ("NW-999999", None, "owner"),
    ("NW-100234", None, None),  # nothing to verify with
    ("", "maria@example.com", None),
    ("NW-100234", "   ", None),
])
def test_no_order_for_anyone_else_and_the_same_answer_as_for_no_order(desk, placed_order, number, email, who):
    stranger = customers.create_customer(workspace_id=desk.id, name="Eve", identities=[("email", "eve@example.com")])
    customer_id = {"stranger": stranger.pk, "owner": placed_order.customer_id, None: None}[who]
    assert selectors.verified_order(desk.id, order_number=number, customer_id=customer_id, email=email) is None


def test_another_workspace_never_gets_the_order(desk, other_desk, placed_order):
    assert selectors.verified_order(other_desk.id, order_number="NW-100234", email="maria@example.com") is None
    assert selectors.verified_order(other_desk.id, order_number="NW-100234",
                                    customer_id=placed_order.customer_id) is None


def test_a_merged_customer_is_the_owner_too(desk, placed_order):
    """Maria chats in the widget as an anonymous visitor; an agent merges that record into hers."""
    message, _ = receive_message(workspace_id=desk.id, channel="webchat", sender=("visitor", "v_42"),
                                 content=Content(text="Where is my order?"))
    visitor = message.conversation.customer
    assert selectors.verified_order(desk.id, order_number="NW-100234", customer_id=visitor.pk) is None
    customers.merge_customers(actor=desk.agent_actor, source=visitor, target=placed_order.customer)
    assert selectors.verified_order(desk.id, order_number="NW-100234", customer_id=visitor.pk) == placed_order


def test_an_order_merged_away_with_its_customer_stays_the_owners(desk, catalog):
    """The store knew Maria under a second address; merging that record into hers moves its order."""
    services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-1", "m.garcia@work.example", [line("MS-GRY-M", 1, "18.00")], "18.00"))
    maria = customers.create_customer(workspace_id=desk.id, name="Maria", identities=[("email", "maria@example.com")])
    work = selectors.verified_order(desk.id, order_number="NW-1", email="m.garcia@work.example").customer
    customers.merge_customers(actor=desk.agent_actor, source=work, target=maria)
    assert selectors.verified_order(desk.id, order_number="NW-1", customer_id=maria.pk).number == "NW-1"
    assert selectors.verified_order(desk.id, order_number="NW-1", customer_id=work.pk).number == "NW-1"


def test_order_summary_says_status_amounts_lines_and_tracking(desk, placed_order):
    summary = selectors.order_summary(placed_order)
    assert (summary.number, summary.status, summary.currency) == ("NW-100234", "fulfilled", "USD")
    assert summary.placed_at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    assert (summary.total, summary.subtotal, summary.shipping, summary.tax) == (
        Decimal("129.40"), Decimal("115.00"), Decimal("4.95"), Decimal("9.45"))
    assert str(summary.total) == "129.40" and summary.total_display == "$129.40"
    assert [(x.sku, x.name, x.quantity, x.unit_price) for x in summary.lines] == [
        ("RJ-BLK-S", "Ridgeline Rain Jacket (black, S)", 1, Decimal("79.00")),
        ("MS-GRY-M", "Merino Hiking Socks (grey, M)", 2, Decimal("18.00"))]
    (parcel,) = summary.shipments
    assert (parcel.carrier, parcel.tracking_number, parcel.status) == ("UPS", "1Z999AA10123456784", "in_transit")
    assert parcel.tracking_url == "https://track.example/1Z999AA10123456784"
    assert parcel.estimated_delivery == date(2026, 3, 6) and parcel.delivered_at is None
    assert parcel.shipped_at == datetime(2026, 3, 3, 8, tzinfo=UTC)


def test_latest_order_number(desk, placed_order):
    assert selectors.latest_order_number(placed_order.customer_id) == "NW-100234"
    services.upsert_order(actor=desk.admin_actor, record=order(
        "NW-100300", "maria@example.com", [line("MS-GRY-M", 1, "18.00")], "18.00",
        placed_at=datetime(2026, 3, 20, tzinfo=UTC)))
    assert selectors.latest_order_number(placed_order.customer_id) == "NW-100300"
    assert selectors.latest_order_number(999_999) == ""


def test_vocabulary_version_row_is_per_workspace(desk, other_desk, catalog):
    assert CatalogState.objects.filter(workspace_id=desk.id).exists()
    assert not CatalogState.objects.filter(workspace_id=other_desk.id).exists()
    assert selectors.catalog_version(other_desk.id) == 0
    assert Product.objects.filter(workspace_id=desk.id).count() == len(CATALOG)
    assert InventoryLevel.objects.filter(workspace_id=desk.id).count() == 9


def test_a_variants_own_option_overrides_its_products_attribute(desk):
    services.upsert_product(actor=desk.admin_actor, record=product(
        "beanie", "Wool Beanie", "hat", [variant("WB-PLAIN", "25.00", 4), variant("WB-RED", "25.00", 4, color="Red"),
                                         variant("WB-Ö", "25.00", 4, color="Öl")],
        attributes={"color": "black", "gender": "unisex"}))
    black = selectors.find_products(desk.id, attributes={"COLOR": "Black"})
    assert [v.sku for v in black[0].matching_variants] == ["WB-PLAIN"]  # inherits the product's black
    assert [v.sku for v in selectors.find_products(desk.id, attributes={"color": "red"})[0].matching_variants] == [
        "WB-RED"]
    assert [v.sku for v in selectors.find_products(desk.id, attributes={"color": "öl"})[0].matching_variants] == [
        "WB-Ö"]  # compared by Python's case folding, beyond ASCII
    assert len(selectors.find_products(desk.id, attributes={"gender": "unisex"})[0].matching_variants) == 3
