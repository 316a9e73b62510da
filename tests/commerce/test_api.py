"""/api/v1/commerce through HTTP with bearer tokens: the store's pushes, the desk's reads, who may write,
refusals as problems that change nothing, and no way into another workspace's catalog or orders."""

import json

import pytest
from django.apps import apps

from tests.apiclient import api_as, assert_problem
from touchpoint.commerce.models import Order, Product
from touchpoint.core.permissions import Role
from touchpoint.customers import services as customers

JACKET = {
    "handle": "ridgeline-rain-jacket", "name": "Ridgeline Rain Jacket", "type": "Jacket",
    "url": "https://shop.example/products/ridgeline-rain-jacket", "attributes": {"material": "recycled nylon"},
    "updated_at": "2026-03-01T09:00:00Z",
    "variants": [
        {"sku": "RRJ-BLK-M", "price": "129.00", "currency": "USD", "attributes": {"color": "black", "size": "M"},
         "stock": {"quantity": 0, "restock_date": "2099-04-01"}},
        {"sku": "RRJ-RED-M", "price": 129, "currency": "usd", "attributes": {"color": "red", "size": "M"},
         "stock": {"quantity": 3}},
    ],
}
ORDER = {
    "number": "NW-100234", "email": "Maria@Example.com", "customer_name": "Maria Garcia", "status": "paid",
    "currency": "USD", "placed_at": "2026-03-02T10:30:00+01:00",
    "lines": [{"sku": "RRJ-RED-M", "quantity": 1, "unit_price": "129.00"},
              {"sku": "CAP-OLD", "name": "Logo Cap (retired)", "quantity": 2, "unit_price": "15.00"}],
    "shipping": "5.00", "tax": "13.92", "total": "177.92",
}
PARCEL = {"order_number": "nw-100234", "carrier": "UPS", "tracking_number": "1Z999AA10123456784",
          "tracking_url": "https://track.example/1Z999AA10123456784", "status": "in_transit",
          "shipped_at": "2026-03-03T08:00:00Z", "estimated_delivery": "2026-03-06"}


def commerce_rows() -> dict:
    return {m._meta.label: sorted(m.objects.values_list(), key=repr) for m in apps.get_app_config("commerce").get_models()}


@pytest.fixture
def admin(desk):
    return api_as(desk.admin)


@pytest.fixture
def agent(desk):
    return api_as(desk.agent)


@pytest.fixture
def store(admin):
    """The shop's back end pushed one product, one order and its parcel."""
    assert admin.post("/commerce/products", JACKET).status_code == 201
    assert admin.post("/commerce/orders", ORDER).status_code == 201
    assert admin.post("/commerce/shipments", PARCEL).status_code == 201
    return Order.objects.get(number="NW-100234")


def test_a_product_push_answers_what_happened_and_reads_back_with_stock(admin, agent):
    created = admin.post("/commerce/products", JACKET)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["outcome"] == "created"
    product = body["product"]
    assert (product["handle"], product["type"], product["active"]) == ("ridgeline-rain-jacket", "jacket", True)
    variants = {v["sku"]: v for v in product["variants"]}
    assert variants["RRJ-BLK-M"]["price"] == "129.00" and variants["RRJ-RED-M"]["currency"] == "USD"
    assert variants["RRJ-BLK-M"]["in_stock"] is False and variants["RRJ-BLK-M"]["stock"]["restock_date"] == "2099-04-01"
    assert variants["RRJ-RED-M"]["stock"]["quantity"] == 3 and variants["RRJ-RED-M"]["in_stock"] is True

    again = admin.post("/commerce/products", JACKET)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    older = admin.post("/commerce/products", {**JACKET, "name": "Old", "updated_at": "2026-02-01T00:00:00Z"})
    assert older.status_code == 200 and older.json()["outcome"] == "stale"
    assert older.json()["product"]["name"] == "Ridgeline Rain Jacket"

    listed = agent.get("/commerce/products", type="JACKET")
    assert [p["handle"] for p in listed.json()["items"]] == ["ridgeline-rain-jacket"]
    got = agent.get(f"/commerce/products/{product['id']}")
    assert got.status_code == 200 and got.json() == {**product, "updated_at": got.json()["updated_at"]}


def test_stock_push(admin, agent):
    admin.post("/commerce/products", JACKET)
    response = admin.post("/commerce/inventory", {"sku": "RRJ-BLK-M", "quantity": 7, "updated_at": "2026-03-02T00:00:00Z"})
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "updated"
    assert response.json()["inventory"] == {**response.json()["inventory"], "sku": "RRJ-BLK-M", "quantity": 7,
                                            "restock_date": None}
    assert_problem(admin.post("/commerce/inventory", {"sku": "RRJ-BLK-M", "quantity": -1}), 422, "negative_quantity")
    assert_problem(admin.post("/commerce/inventory", {"sku": "NOPE", "quantity": 1}), 422, "unknown_sku")


def test_an_order_and_its_parcel_are_pushed_and_read_by_the_desk(store, agent, desk):
    got = agent.get(f"/commerce/orders/{store.pk}").json()
    assert got["number"] == "NW-100234" and got["status"] == "paid" and got["email"] == "maria@example.com"
    assert (got["subtotal"], got["shipping"], got["tax"], got["total"]) == ("159.00", "5.00", "13.92", "177.92")
    assert got["placed_at"] == "2026-03-02T09:30:00Z"
    assert [(x["sku"], x["name"], x["quantity"], x["unit_price"], x["variant_id"] is not None) for x in got["lines"]] == [
        ("RRJ-RED-M", "Ridgeline Rain Jacket (red, M)", 1, "129.00", True),
        ("CAP-OLD", "Logo Cap (retired)", 2, "15.00", False)]
    (parcel,) = got["shipments"]
    assert (parcel["carrier"], parcel["status"], parcel["order_number"]) == ("UPS", "in_transit", "NW-100234")
    assert parcel["estimated_delivery"] == "2026-03-06"
    customer_id = got["customer"]["id"]
    assert got["customer"]["name"] == "Maria Garcia"
    mine = agent.get(f"/customers/{customer_id}/orders").json()
    assert [o["number"] for o in mine["items"]] == ["NW-100234"] and mine["next_cursor"] is None
    assert [o["id"] for o in agent.get("/commerce/orders", number=" nw-100234").json()["items"]] == [store.pk]
    assert agent.get("/commerce/orders", status="cancelled").json()["items"] == []
    assert [o["id"] for o in agent.get("/commerce/orders", customer_id=customer_id).json()["items"]] == [store.pk]


def test_a_merged_away_customer_id_answers_with_the_survivors_orders(store, agent, desk):
    duplicate = customers.create_customer(workspace_id=desk.id, name="M. Garcia", identities=[("phone", "+447700900123")])
    customers.merge_customers(actor=desk.agent_actor, source=duplicate, target=store.customer)
    assert [o["number"] for o in agent.get(f"/customers/{duplicate.pk}/orders").json()["items"]] == ["NW-100234"]


def test_orders_page_newest_first_with_a_cursor(admin, agent):
    admin.post("/commerce/products", JACKET)
    for day in range(1, 6):
        body = {**ORDER, "number": f"NW-{day}", "placed_at": f"2026-03-0{day}T10:00:00Z"}
        assert admin.post("/commerce/orders", body).status_code == 201
    first = agent.get("/commerce/orders", limit=3).json()
    second = agent.get("/commerce/orders", limit=3, cursor=first["next_cursor"]).json()
    assert [o["number"] for o in first["items"] + second["items"]] == ["NW-5", "NW-4", "NW-3", "NW-2", "NW-1"]
    assert second["next_cursor"] is None
    assert_problem(agent.get("/commerce/orders", cursor="garbage"), 400, "invalid_cursor")


@pytest.mark.parametrize("who", ["agent", "supervisor", "agent-token-of-an-admin"])
def test_only_admins_and_their_tokens_write(desk, store, who):
    api = {"agent": lambda: api_as(desk.agent), "supervisor": lambda: api_as(desk.supervisor),
           "agent-token-of-an-admin": lambda: api_as(desk.admin, Role.AGENT)}[who]()
    before = commerce_rows()
    for path, body in [("/commerce/products", JACKET), ("/commerce/inventory", {"sku": "RRJ-BLK-M", "quantity": 1}),
                       ("/commerce/orders", {**ORDER, "status": "cancelled"}),
                       ("/commerce/shipments", {**PARCEL, "status": "delivered"}),
                       ("/commerce/import", {"products": [JACKET]})]:
        assert_problem(api.post(path, body), 403, "permission_denied")
    assert commerce_rows() == before
    assert api.get("/commerce/products").status_code == 200  # everyone reads
    assert api.get(f"/commerce/orders/{store.pk}").status_code == 200


def test_another_workspace_reads_nothing_and_answers_like_an_unknown_id(desk, other_desk, store):
    theirs = api_as(other_desk.admin)
    product_id = Product.objects.get(workspace_id=desk.id).pk
    for template, real in [("/commerce/products/{}", product_id), ("/commerce/orders/{}", store.pk),
                           ("/customers/{}/orders", store.customer_id)]:
        mine = assert_problem(theirs.get(template.format(real)), 404, "not_found")
        nothing = assert_problem(theirs.get(template.format(987654321)), 404, "not_found")
        assert mine["detail"].replace(str(real), "<id>") == nothing["detail"].replace("987654321", "<id>")
    assert_problem(theirs.get("/commerce/orders", customer_id=store.customer_id), 404, "not_found")
    for path in ("/commerce/products", "/commerce/orders"):
        assert theirs.get(path).json()["items"] == []
    assert theirs.get("/commerce/orders", number="NW-100234").json()["items"] == []
    # Writing: their push creates their own records; it cannot touch ours.
    assert_problem(theirs.post("/commerce/shipments", PARCEL), 422, "unknown_order")
    before = commerce_rows()
    assert theirs.post("/commerce/products", {**JACKET, "name": "Globex jacket"}).json()["outcome"] == "created"
    assert Product.objects.get(workspace_id=desk.id).name == "Ridgeline Rain Jacket"
    assert len(commerce_rows()["commerce.Product"]) == len(before["commerce.Product"]) + 1


@pytest.mark.parametrize("path,body,status,code", [
    ("/commerce/products", {**JACKET, "variants": [{**JACKET["variants"][0], "price": "-1.00"}]}, 422,
     "negative_amount"),
    ("/commerce/products", {**JACKET, "variants": [{**JACKET["variants"][0], "currency": "EUX"}]}, 422,
     "unknown_currency"),
    ("/commerce/products", {**JACKET, "variants": [{**JACKET["variants"][0], "price": "12,50"}]}, 422,
     "validation_failed"),
    ("/commerce/products", {**JACKET, "variants": []}, 422, "validation_failed"),
    ("/commerce/products", {**JACKET, "colour": "red"}, 422, "validation_failed"),  # a misspelt field
    ("/commerce/products", {**JACKET, "url": "javascript:alert(1)"}, 422, "validation_failed"),
    ("/commerce/products", {**JACKET, "updated_at": "2026-03-01T09:00:00"}, 422, "validation_failed"),
    ("/commerce/orders", {**ORDER, "total": "177.93"}, 422, "totals_mismatch"),
    ("/commerce/orders", {**ORDER, "lines": [{"sku": "GONE", "quantity": 1, "unit_price": "159.00"}],
                          "total": "177.92"}, 422, "unknown_sku"),
    ("/commerce/orders", {**ORDER, "lines": [{"sku": "RRJ-RED-M", "quantity": -1, "unit_price": "129.00"}]}, 422,
     "validation_failed"),
    ("/commerce/orders", {**ORDER, "status": "shipped"}, 422, "validation_failed"),
    ("/commerce/orders", {**ORDER, "currency": "$"}, 422, "validation_failed"),
    ("/commerce/shipments", {**PARCEL, "order_number": "NW-404"}, 422, "unknown_order"),
    ("/commerce/shipments", {**PARCEL, "status": "lost"}, 422, "validation_failed"),
])
def test_bad_input_is_a_problem_that_changes_nothing(admin, store, path, body, status, code):
    before = commerce_rows()
    problem = assert_problem(admin.post(path, body), status, code)
    assert problem["errors"] or problem["detail"]
    assert commerce_rows() == before


def test_malformed_json_is_refused(admin):
    assert_problem(admin.post("/commerce/products", raw='{"handle": "x",'), 400, "malformed_json")


def test_the_batch_import_is_all_or_nothing(admin, desk):
    good = {"products": [JACKET], "orders": [ORDER], "shipments": [PARCEL]}
    bad = {**good, "products": [JACKET, {**JACKET, "handle": "other", "variants": [
        {**JACKET["variants"][0], "sku": "NEW-1", "price": "-3.00"}]}]}
    problem = assert_problem(admin.post("/commerce/import", bad), 422, "import_refused")
    assert problem["errors"][0]["field"] == "products.2" and "negative" in problem["errors"][0]["message"]
    assert commerce_rows() == {label: [] for label in commerce_rows()}  # nothing at all was written
    dry = admin.post("/commerce/import", {**good, "dry_run": True})
    assert dry.status_code == 200 and dry.json()["written"] is False
    assert dry.json()["counts"]["orders"] == {"created": 1, "updated": 0, "unchanged": 0, "stale": 0}
    assert not Order.objects.exists()
    done = admin.post("/commerce/import", good)
    assert done.status_code == 200 and done.json()["written"] is True
    assert done.json()["counts"]["shipments"]["created"] == 1 and Order.objects.filter(workspace_id=desk.id).count() == 1
    again = admin.post("/commerce/import", good).json()
    assert again["counts"]["products"] == {"created": 0, "updated": 0, "unchanged": 1, "stale": 0}


def test_amounts_are_answered_as_strings(store, agent):
    raw = json.loads(agent.get(f"/commerce/orders/{store.pk}").content)
    assert isinstance(raw["total"], str) and isinstance(raw["lines"][0]["unit_price"], str)
