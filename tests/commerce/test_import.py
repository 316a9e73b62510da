"""`touchpoint import commerce`: the example files load, a second run changes nothing, and any bad row —
or a file that cannot be read — is reported by file and row with nothing written."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from touchpoint.commerce import importers, selectors
from touchpoint.commerce.errors import ImportRefused
from touchpoint.commerce.models import InventoryLevel, Order, Product, Shipment, Variant
from touchpoint.customers.models import Customer

EXAMPLES = Path(importers.__file__).parent / "examples"
ALL_CSV = ["--products", str(EXAMPLES / "products.csv"), "--inventory", str(EXAMPLES / "inventory.csv"),
           "--orders", str(EXAMPLES / "orders.csv"), "--shipments", str(EXAMPLES / "shipments.csv")]
PRODUCT_HEADER = "handle,name,type,sku,price,currency,option:color,quantity\n"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", "commerce", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import", "commerce", *args, stdout=out, stderr=err)
    return str(error.value), out.getvalue() + err.getvalue()


def commerce_rows() -> dict:
    found = {m._meta.label: sorted(m.objects.values_list(), key=repr) for m in apps.get_app_config("commerce").get_models()}
    found["customers"] = sorted(Customer.objects.values_list(), key=repr)
    return found


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def test_the_example_csv_files_import_and_a_second_run_changes_nothing(desk):
    out, _ = run("--workspace", "acme", *ALL_CSV)
    assert "products   3 created, 0 updated, 0 unchanged, 0 stale" in out
    assert "orders     3 created" in out and "shipments  2 created" in out and "Imported into Desk acme." in out
    assert Product.objects.filter(workspace_id=desk.id).count() == 3 and Variant.objects.count() == 7
    assert InventoryLevel.objects.get(variant__sku="RRJ-BLK-S").quantity == 5  # the stock file came after
    maria = Order.objects.get(number="NW-100234")
    assert maria.customer.name == "Maria Garcia" and maria.total == Decimal("164.12")
    assert list(maria.lines.values_list("sku", flat=True)) == ["RRJ-BLK-S", "MTS-GRY-M"]
    assert Order.objects.get(number="NW-100236").customer_id == maria.customer_id  # the same buyer
    assert Order.objects.get(number="NW-100236").lines.get().variant is None  # a retired SKU, kept by name
    assert Shipment.objects.get(tracking_number="9400111899223100001234").status == "delivered"
    before = commerce_rows()
    out, _ = run("--workspace", "acme", *ALL_CSV)
    assert "products   0 created, 0 updated, 3 unchanged, 0 stale" in out
    assert "orders     0 created, 0 updated, 3 unchanged" in out and "shipments  0 created, 0 updated, 2 unchanged" in out
    assert commerce_rows() == before


def test_the_example_json_files_import(desk):
    out, _ = run("--workspace", "acme", "--products", str(EXAMPLES / "products.json"),
                 "--orders", str(EXAMPLES / "orders.json"))
    assert "products   2 created" in out and "orders     1 created" in out
    order = Order.objects.get(number="NW-100240")
    assert str(order.money("total")) == "317.70" and order.customer.name == "Léa Martin"
    assert "sleeping bag" in selectors.catalog_vocabulary(desk.id).product_types


def test_a_dry_run_counts_and_writes_nothing(desk):
    before = commerce_rows()
    out, _ = run("--workspace", "acme", "--dry-run", *ALL_CSV)
    assert "products   3 created" in out and "(dry run)" in out and "nothing was written" in out
    assert commerce_rows() == before


def test_bad_rows_are_each_reported_and_nothing_is_written(desk, tmp_path):
    products = write(tmp_path, "products.csv", PRODUCT_HEADER + (
        "tent,Basecamp Tent,tent,BT-1,249.00,USD,green,3\n"
        "bottle,Steel Bottle,water bottle,SB-1,-5.00,USD,green,3\n"  # a negative price
        "bag,Down Bag,sleeping bag,DB-1,12,5,USD,navy,2\n"  # a decimal comma splits the row
        "sock,Wool Sock,socks,WS-1,19.00,DOLLARS,grey,3\n"  # not a currency
        "glove,Glove,gloves,GL-1,29.00,USD,black,-4\n"))  # negative stock
    orders = write(tmp_path, "orders.csv", "number,email,placed_at,currency,total,sku,quantity,unit_price\n"
                   "NW-1,a@example.com,2026-03-01T10:00:00Z,USD,250.00,BT-1,1,249.00\n"  # totals do not add up
                   "NW-2,b@example.com,2026-03-01T10:00:00Z,USD,249.00,NOPE,1,249.00\n")  # an unknown SKU, no name
    before = commerce_rows()
    message, output = refused("--workspace", "acme", "--products", products, "--orders", orders)
    assert "6 rows refused; nothing was written" in message
    assert "products.csv row 3 (product bottle): Variant 1: price: -5.00 is negative" in output
    assert "products.csv row 4: has 9 values, but the header names 8 columns" in output
    assert "products.csv row 5 (product sock): Variant 1: 'DOLLARS' is not an ISO 4217 currency code" in output
    assert "products.csv row 6 (product glove): Variant 1: quantity -4 is negative" in output
    assert "orders.csv row 2 (order NW-1): The order's amounts do not add up" in output
    assert "orders.csv row 3 (order NW-2): Line 1: SKU NOPE is not in the catalog" in output
    assert "products   1 created" in output and "(accepted rows; none written)" in output
    assert commerce_rows() == before


@pytest.mark.parametrize("content,expected", [
    ("handle,name,type,sku,currency\nx,X,t,X-1,USD\n", "lacks the column price"),
    ("handle,name,type,sku,price,currency,colour\nx,X,t,X-1,5.00,USD,red\n", "unknown column 'colour'"),
    ("handle,name,type,sku,price,currency,sku\nx,X,t,X-1,5.00,USD,X-2\n", "names the column sku twice"),
    ("", "is empty"),
    (b"handle,name,type,sku,price,currency\nparka,Parka \xe9t\xe9,jacket,P-1,5.00,USD\n", "is not UTF-8 text: line 2"),
    (b"\xff\xfeh\x00a\x00", "is not UTF-8 text: line 1"),  # UTF-16 from a spreadsheet
])
def test_an_unreadable_file_is_refused_before_any_row(desk, tmp_path, content, expected):
    path = write(tmp_path, "products.csv", content)
    message, _ = refused("--workspace", "acme", "--products", path)
    assert expected in message
    assert not Product.objects.exists()


def test_a_bom_and_semicolons_are_read(desk, tmp_path):
    path = write(tmp_path, "products.csv", "\ufeffhandle;name;type;sku;price;currency;option:size\n"
                                            "sock;Wool Sock;socks;WS-1;19.00;EUR;M\n".encode("utf-8"))
    run("--workspace", "acme", "--products", path)
    variant = Variant.objects.get(sku="WS-1")
    assert (variant.product.handle, variant.attributes, variant.currency) == ("sock", {"size": "M"}, "EUR")


def test_the_rows_of_a_product_must_agree(desk, tmp_path):
    path = write(tmp_path, "products.csv", PRODUCT_HEADER + "tent,Basecamp Tent,tent,BT-1,249.00,USD,green,3\n"
                                                            "tent,Another Tent,tent,BT-2,249.00,USD,grey,3\n")
    message, output = refused("--workspace", "acme", "--products", path)
    assert "row 3 gives name 'Another Tent' but row 2 gave 'Basecamp Tent'" in output


@pytest.mark.parametrize("cell,expected", [
    ("12,50", "row 2: has 9 values"),  # an unquoted decimal comma
    ('"12,50"', "write decimals with a point"),
    ("12.5.0", "is not a number"),
    ("€12.50", "is not a number"),
])
def test_bad_decimals_name_the_row(desk, tmp_path, cell, expected):
    path = write(tmp_path, "products.csv", PRODUCT_HEADER + f"x,X,thing,X-1,{cell},USD,red,1\n")
    _, output = refused("--workspace", "acme", "--products", path)
    assert expected in output and "products.csv row 2" in output


def test_bad_times_dates_and_flags_name_the_row(desk, tmp_path):
    orders = write(tmp_path, "orders.csv", "number,email,placed_at,currency,total,sku,name,quantity,unit_price,"
                   "taxes_included\n"
                   "NW-1,a@example.com,2026-03-01 10:00,USD,5.00,,Gift card,1,5.00,\n"
                   "NW-2,a@example.com,yesterday,USD,5.00,,Gift card,1,5.00,\n"
                   "NW-3,a@example.com,2026-03-01T10:00:00Z,USD,5.00,,Gift card,1,5.00,maybe\n"
                   "NW-4,a@example.com,2026-03-01T10:00:00Z,USD,5.00,,Gift card,one,5.00,\n")
    _, output = refused("--workspace", "acme", "--orders", orders)
    assert "row 2 (order NW-1): placed_at '2026-03-01 10:00' has no time zone" in output
    assert "row 3 (order NW-2): placed_at 'yesterday' is not a time" in output
    assert "row 4 (order NW-3): taxes_included 'maybe': write true or false" in output
    assert "row 5 (order NW-4): row 5: quantity 'one' is not a whole number" in output


def test_an_oversized_file_is_refused(desk, tmp_path):
    path = write(tmp_path, "products.csv", PRODUCT_HEADER + "x,X,thing,X-1,5.00,USD,red,1\n" * 2000)
    message, _ = refused("--workspace", "acme", "--products", path, "--max-size-mb", "0.01")
    assert "an import reads at most 0.0 MB per file" in message or "Split the file" in message
    with pytest.raises(ImportRefused) as error:
        importers.read_file("products", path, limit=1024)
    assert "is 0.1 MB" in error.value.message and "Split the file" in error.value.message


def test_json_files_are_checked_like_the_api(desk, tmp_path):
    bad = write(tmp_path, "orders.json", json.dumps([
        {"number": "NW-1", "email": "a@example.com", "currency": "USD", "placed_at": "2026-03-01T10:00:00Z",
         "lines": [{"name": "Gift card", "quantity": 1, "unit_price": "5.00"}], "total": "5.00"},
        {"number": "NW-2", "email": "a@example.com", "currency": "USD", "placed_at": "2026-03-01T10:00:00Z",
         "lines": [], "total": "5.00"},
        {"number": "NW-3", "email": "a@example.com", "currency": "USD", "placed_at": "2026-03-01T10:00:00Z",
         "lines": [{"name": "Gift card", "quantity": 1, "unit_price": "5.00"}], "total": 5.001}]))
    _, output = refused("--workspace", "acme", "--orders", bad)
    assert "orders.json row 2 (order NW-2): lines: List should have at least 1 item" in output
    assert "orders.json row 3 (order NW-3): total: USD amounts have 2 decimal places" in output
    assert not Order.objects.exists()
    for content, expected in [("{\"orders\": [", "is not valid JSON"), ('{"items": []}', "must hold an array"),
                              ("[NaN]", "not a number JSON allows")]:
        message, _ = refused("--workspace", "acme", "--orders", write(tmp_path, "o.json", content))
        assert expected in message
    run("--workspace", "acme", "--orders", write(tmp_path, "wrapped.json", json.dumps({"orders": []})))


def test_command_refusals(desk, tmp_path):
    assert "No workspace with the slug 'nope'" in refused("--workspace", "nope", *ALL_CSV)[0]
    assert "Name at least one file" in refused("--workspace", "acme")[0]
    assert "does not exist" in refused("--workspace", "acme", "--products", str(tmp_path / "missing.csv"))[0]
    assert "name the file .csv or .json" in refused("--workspace", "acme", "--products",
                                                    write(tmp_path, "p.xlsx", "x"))[0]


def test_an_import_lands_in_its_workspace_only(desk, other_desk):
    run("--workspace", "globex", *ALL_CSV)
    assert not Product.objects.filter(workspace_id=desk.id).exists()
    assert Order.objects.filter(workspace_id=other_desk.id).count() == 3
    assert all(o.customer.workspace_id == other_desk.id for o in Order.objects.all())
