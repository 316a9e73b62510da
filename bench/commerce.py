"""Commerce benchmark: what the bot's catalog and order reads cost, and how fast an import goes.

    python bench/commerce.py                       # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/commerce.py
                                                   # PostgreSQL: creates and drops touchpoint_bench_commerce
    python bench/commerce.py --products 200 --orders 500 --samples 50     # a quick look

Two workspaces: the demo store's catalog (60 products, about 440 variants), and a large one loaded by
`import_commerce` from generated CSV files of `--products` products with four variants each and
`--orders` orders of two lines each (parse, every row through the services, one transaction): rows per
second. Then, `--samples` calls each, on both catalogs, of the selectors the bot calls per message:
`catalog_vocabulary` (cached, and rebuilt after a catalog change), `find_products` by type, option and
price range and by free text with typos, `stock_for` a product named with a typo, and
`verified_order` + `order_summary`. It prints p50 / p95 / max in milliseconds, the load average and
the machine. A measurement, not a test: there is no budget; the bot's reply has to fit in tens of ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_database  # noqa: E402  (bench/ is on the path above)

BENCH_DB = "touchpoint_bench_commerce"
TYPES = ("jacket", "boots", "backpack", "tent", "sleeping bag", "socks", "gloves", "water bottle", "hat", "fleece",
         "trousers", "shorts")
WORDS = ("Ridge", "Summit", "Trail", "Alpine", "Cascade", "Harbor", "Granite", "Meadow", "Storm", "Canyon", "Tundra",
         "Basecamp", "Feather", "Glacier", "Pine", "Aurora")
COLORS = ("black", "red", "blue", "green", "grey", "orange", "navy", "yellow")
SIZES = ("S", "M", "L", "XL")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, {platform.system()}"


def write_files(folder: Path, products: int, orders: int, rng: random.Random) -> tuple[Path, Path, list[str]]:
    catalog = folder / "products.csv"
    skus: list[str] = []
    with catalog.open("w") as out:
        out.write("handle,name,type,sku,price,currency,option:color,option:size,quantity,restock_date\n")
        for n in range(products):
            kind = TYPES[n % len(TYPES)]
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {kind.title()} {n}"
            price = Decimal(rng.randint(10, 400)) - Decimal("0.01")
            color = rng.choice(COLORS)
            for size in SIZES:
                sku = f"P{n:05d}-{color[:3].upper()}-{size}"
                skus.append(sku)
                quantity = 0 if rng.random() < 0.15 else rng.randint(1, 50)
                restock = "2099-01-15" if quantity == 0 else ""
                out.write(f"p-{n},{name},{kind},{sku},{price},USD,{color},{size},{quantity},{restock}\n")
    history = folder / "orders.csv"
    with history.open("w") as out:
        out.write("number,email,placed_at,currency,total,sku,name,quantity,unit_price\n")
        for n in range(orders):
            first, second = Decimal("19.99"), Decimal("5.00")
            total = first + second * 2
            email = f"buyer{n % max(1, orders // 2)}@bench.test"
            out.write(f"B-{n},{email},2026-02-01T10:00:00Z,USD,{total},{rng.choice(skus)},Trail item,1,{first}\n")
            out.write(f"B-{n},,,,,,Gift wrap,2,{second}\n")
    return catalog, history, skus


def timed(samples: list[float], fn: Callable, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    samples.append((time.perf_counter() - started) * 1000)
    return result


def figures(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"  {label:<58} p50 {statistics.median(ordered):7.2f}   p95 {p95:7.2f}   max {ordered[-1]:7.2f} ms"


def measure(label: str, workspace_id: int, samples: int, rng: random.Random, numbers: list[tuple[str, str]]) -> None:
    from touchpoint.commerce import selectors

    print(f"{label}:")
    runs: dict[str, list[float]] = {k: [] for k in ("vocabulary", "rebuild", "finder", "text", "stock", "order")}
    vocabulary = selectors.catalog_vocabulary(workspace_id)
    names = list(vocabulary.product_names)
    types = list(vocabulary.product_types)
    for _ in range(samples):
        timed(runs["vocabulary"], selectors.catalog_vocabulary, workspace_id)
        kind = rng.choice(types)
        timed(runs["finder"], selectors.find_products, workspace_id, product_type=kind,
              attributes={"color": rng.choice(COLORS + ("black",))}, price_max=Decimal(rng.randint(50, 300)))
        name = rng.choice(names)
        typo = name.replace("a", "e", 1).lower()  # "trail jacket" → "treil jacket"
        timed(runs["text"], selectors.find_products, workspace_id, text=f"{typo} under budget")
        timed(runs["stock"], selectors.stock_for, workspace_id, text=typo, attributes={"size": rng.choice(SIZES)})
        number, email = rng.choice(numbers)
        started = time.perf_counter()
        found = selectors.verified_order(workspace_id, order_number=number, email=email)
        assert found is not None
        selectors.order_summary(found)
        runs["order"].append((time.perf_counter() - started) * 1000)
    for _ in range(max(5, samples // 20)):
        selectors.forget_vocabulary(workspace_id)
        timed(runs["rebuild"], selectors.catalog_vocabulary, workspace_id)
    print(figures("catalog_vocabulary, cached (one version read)", runs["vocabulary"]))
    print(figures("catalog_vocabulary, rebuilt after a change", runs["rebuild"]))
    print(figures("find_products(type, color, price_max)", runs["finder"]))
    print(figures("find_products(text with a typo)", runs["text"]))
    print(figures("stock_for(product named with a typo, size)", runs["stock"]))
    print(figures("verified_order(number, email) + order_summary", runs["order"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    described, clean_up = fresh_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "touchpoint.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from touchpoint.accounts import services as accounts
    from touchpoint.commerce import importers
    from touchpoint.commerce.demo import load_commerce_demo
    from touchpoint.commerce.models import Order
    from touchpoint.core.clock import now
    from touchpoint.core.permissions import Actor, Role

    rng = random.Random(5)
    try:
        call_command("migrate", verbosity=0)
        print(f"commerce: {described}; {machine()}")
        demo_ws, _ = accounts.create_workspace(name="Demo", slug="demo", admin_email="a@demo.test",
                                               admin_password="bench-admin-1")
        with transaction.atomic():
            load_commerce_demo(demo_ws, today=now().replace(hour=0, minute=0, second=0, microsecond=0), seed=1)
        big_ws, _ = accounts.create_workspace(name="Big", slug="big", admin_email="a@big.test",
                                              admin_password="bench-admin-1")
        actor = Actor(workspace_id=big_ws.pk, membership_id=None, role=Role.ADMIN)
        with tempfile.TemporaryDirectory() as folder:
            catalog, history, _ = write_files(Path(folder), args.products, args.orders, rng)
            for kind, path, rows in (("products", catalog, args.products * len(SIZES)),
                                     ("orders", history, args.orders * 2)):
                started = time.perf_counter()
                source = importers.read_file(kind, path)
                report = importers.import_commerce(actor=actor, sources=[source])
                seconds = time.perf_counter() - started
                assert not report.errors, report.errors[:3]
                print(f"  import {kind}: {rows:,} CSV rows ({len(source.rows):,} records) in {seconds:.1f} s: "
                      f"{rows / seconds:,.0f} rows/s, {len(source.rows) / seconds:,.0f} records/s")
        numbers = list(Order.objects.filter(workspace=big_ws).values_list("number", "email")[:2000])
        measure("demo catalog (60 products)", demo_ws.pk, args.samples, rng, _demo_orders(demo_ws))
        measure(f"large catalog ({args.products:,} products, {args.products * len(SIZES):,} variants, "
                f"{args.orders:,} orders)", big_ws.pk, args.samples, rng, numbers)
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"load average (1 / 5 / 15 min) at the end: {load}; the machine is shared, so figures vary with it")
    finally:
        clean_up()


def _demo_orders(workspace) -> list[tuple[str, str]]:
    """The demo catalog has no customers here, so its order reads use one pushed order."""
    from touchpoint.commerce import services
    from touchpoint.commerce.models import Variant
    from touchpoint.core.clock import now
    from touchpoint.core.permissions import Actor, Role

    actor = Actor(workspace_id=workspace.pk, membership_id=None, role=Role.ADMIN)
    variant = Variant.objects.filter(workspace=workspace).order_by("sku").first()
    services.upsert_order(actor=actor, record=services.OrderRecord(
        number="NW-1", email="pat@bench.test", placed_at=now(), currency="USD",
        lines=[services.LineRecord(sku=variant.sku, quantity=1, unit_price=variant.price.quantize(Decimal("0.01")))],
        total=variant.price.quantize(Decimal("0.01"))))
    return [("NW-1", "pat@bench.test")]


if __name__ == "__main__":
    main()
