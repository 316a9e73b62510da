"""Bot benchmark: what a bot turn costs, and what the bot adds to every customer message.

    python bench/bot_turns.py                          # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/bot_turns.py
                                                       # PostgreSQL: creates and drops touchpoint_bench_bot
    python bench/bot_turns.py --samples 50 --products 100     # a quick look

It loads a store through the commerce services (`--products` products of eight types with colour and
size variants and stock, `--orders` orders with shipments), the shipped commerce intents with a linear
model trained on them (and, with the `ml` extra, a second workspace with an ml model), and then, through
the real services:

- *bot turn*: `turns.take_turn` of a customer's message in a conversation the bot holds, from a fixed mix of
  product searches, stock questions, order look-ups with verification, help-center questions and small
  talk; reported per kind (p50 / p95 / p99 ms) and in queries per turn. The turn is what the task
  worker runs; the customer sees its answer this long after the worker picks the task up.
- *customer message*: `receive_message` (with its in-transaction listeners: the delivery outbox, the
  bot's turn enqueued) on a workspace with the bot on and on one with it off: the difference is what
  the bot adds to storing a message; with the bot off it must add nothing (no query).

A measurement, not a test. Budget: a turn p95 < 100 ms with the linear model.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_database  # noqa: E402  (bench/ is on the path above)

BENCH_DB = "touchpoint_bench_bot"
TURN_BUDGET_MS = 100.0
TYPES = ("jacket", "tent", "boots", "backpack", "sleeping bag", "gloves", "socks", "fleece")
COLORS = ("black", "red", "blue", "green", "grey")
SIZES = ("S", "M", "L", "XL")
MIX = {
    "product search": ["do you have black jackets under $150?", "I need a green tent", "show me boots in size M",
                       "any red backpacks between 50 and 120 dollars?", "looking for warm gloves"],
    "stock": ["is the Trail Jacket 3 in stock?", "do you have the Summit Tent 7 in stock?",
              "is the Ridge Boots 12 available in size L?"],
    "order": ["where is my order NW-100042?", "track order NW-100007, my email is buyer7@bench.test"],
    "help center": ["how much does shipping cost?", "what is your returns policy?"],
    "small talk": ["hello", "thanks!"],
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, {platform.system()}"


def store(slug: str, products: int, orders: int):
    from touchpoint.accounts import services as accounts
    from touchpoint.accounts.selectors import actor_for
    from touchpoint.commerce import services as commerce
    from touchpoint.commerce.services import (
        LineRecord,
        OrderRecord,
        ProductRecord,
        ShipmentRecord,
        VariantRecord,
    )
    from touchpoint.core.clock import now
    from touchpoint.core.permissions import Role
    from touchpoint.knowledge import services as knowledge

    workspace, admin = accounts.create_workspace(name=slug, slug=slug, admin_email=f"admin@{slug}.test",
                                                 admin_password="bench-admin-1")
    actor = actor_for(admin)
    supervisor = accounts.seed_member(workspace=workspace, email=f"sup@{slug}.test", password="bench-sup-12",
                                      display_name="Sup", role=Role.SUPERVISOR)
    rng = random.Random(0)
    names = {"jacket": "Trail Jacket", "tent": "Summit Tent", "boots": "Ridge Boots", "backpack": "Day Pack",
             "sleeping bag": "Night Bag", "gloves": "Warm Gloves", "socks": "Wool Socks", "fleece": "Cosy Fleece"}
    for n in range(products):
        kind = TYPES[n % len(TYPES)]
        variants = [VariantRecord(sku=f"P{n}-{color}-{size}", price=Decimal(rng.randrange(20, 300)),
                                  currency="USD", attributes={"color": color, "size": size},
                                  quantity=rng.choice((0, 0, 3, 10, 25)),
                                  restock_date=(now() + timedelta(days=rng.randrange(3, 40))).date())
                    for color in rng.sample(COLORS, 2) for size in SIZES]
        commerce.upsert_product(actor=actor, record=ProductRecord(
            handle=f"p-{n}", name=f"{names[kind]} {n}", product_type=kind, variants=variants,
            url=f"https://shop.example.com/p/{n}", description=f"A {kind} for the outdoors."))
    for n in range(orders):
        number = f"NW-{100000 + n}"
        commerce.upsert_order(actor=actor, record=OrderRecord(
            number=number, email=f"buyer{n}@bench.test", placed_at=now() - timedelta(days=n % 60), currency="USD",
            status="fulfilled", lines=[LineRecord(quantity=1, unit_price=Decimal("50.00"), name="Trail gear")],
            total=Decimal("50.00")))
        commerce.upsert_shipment(actor=actor, record=ShipmentRecord(
            order_number=number, carrier="UPS", tracking_number=f"1Z{n:010d}", status="in_transit",
            tracking_url=f"https://ups.example.com/{n}", estimated_delivery=(now() + timedelta(days=2)).date()))
    sup_actor = actor_for(supervisor)
    for title, body in (("Shipping costs", "Standard shipping costs $5 and is free over $50."),
                        ("Returns policy", "Return unworn items within 30 days for a full refund.")):
        knowledge.create_article(actor=sup_actor, title=title, body=body, locale="en", status="published")
    return workspace, sup_actor


def switch_on(workspace, actor, *, mode: str, on: bool = True) -> float:
    from touchpoint.bot import services, turns

    services.install_default_intents(actor=actor)
    started = time.perf_counter()
    services.train_workspace(workspace_id=workspace.pk, actor=actor, mode=mode)
    trained = time.perf_counter() - started
    if on:
        turns.update_settings(actor=actor, enabled=True, order_number_prefix="NW")
    return trained


def turn_samples(workspace, samples: int, tag: str = "m") -> dict[str, list[tuple[float, int]]]:
    """Each sample: a new conversation (its first message, answered unmeasured), then a measured turn."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult

    from touchpoint.bot.turns import take_turn
    from touchpoint.conversations.services import Content, receive_message

    found: dict[str, list[tuple[float, int]]] = {kind: [] for kind in MIX}
    rng = random.Random(1)
    for i in range(samples):
        kind = list(MIX)[i % len(MIX)]
        text = rng.choice(MIX[kind])
        first, _ = receive_message(workspace_id=workspace.pk, channel="webchat", sender=("visitor", f"{tag}{i:020d}"),
                                   content=Content(text="hi"))
        take_turn(first.pk)
        message, _ = receive_message(workspace_id=workspace.pk, channel="webchat", customer=first.customer,
                                     content=Content(text=text))
        reset_queries()  # the capture counts from the log's length, which stops growing at 9,000
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            take_turn(message.pk)
            elapsed = (time.perf_counter() - started) * 1000
        found[kind].append((elapsed, len(queries.captured_queries)))
    DBTaskResult.objects.all().delete()
    return found


def message_samples(workspace, samples: int) -> list[tuple[float, int]]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from touchpoint.conversations.services import Content, receive_message

    first, _ = receive_message(workspace_id=workspace.pk, channel="webchat", sender=("visitor", "s" * 20),
                               content=Content(text="hello"))
    found = []
    for i in range(samples):
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            receive_message(workspace_id=workspace.pk, channel="webchat", customer=first.customer,
                            content=Content(text=f"line {i}"))
            elapsed = (time.perf_counter() - started) * 1000
        found.append((elapsed, len(queries.captured_queries)))
    return found


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def row(label: str, samples: list[tuple[float, int]], budget: float | None = None) -> str:
    times = [t for t, _ in samples]
    queries = statistics.median(q for _, q in samples)
    verdict = ""
    if budget is not None:
        verdict = f" | < {budget:.0f} ({'ok' if quantile(times, 0.95) < budget else 'missed'})"
    return (f"| {label} | {len(times)} | {quantile(times, 0.5):.1f} | {quantile(times, 0.95):.1f} | "
            f"{quantile(times, 0.99):.1f} | {queries:.0f}{verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=400)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    described, clean_up = fresh_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "touchpoint.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from touchpoint.core import embeddings

    try:
        call_command("migrate", verbosity=0)
        connection.force_debug_cursor = False
        started = time.perf_counter()
        workspace, actor = store("bench", args.products, args.orders)
        plain, plain_actor = store("plain", 10, 10)
        loaded = time.perf_counter() - started
        linear_s = switch_on(workspace, actor, mode="linear")
        print(f"bot turns: {described}; {args.products} products × 8 variants, {args.orders} orders; loaded in "
              f"{loaded:.1f} s; linear model trained in {linear_s:.1f} s")
        print(f"machine: {machine()}; load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print()
        print("| linear model | turns | p50 ms | p95 ms | p99 ms | queries | budget p95 |")
        print("|---|---:|---:|---:|---:|---:|---|")
        turn_samples(workspace, len(MIX), "w")  # warm-up: the models load once per process (not measured)
        turns_found = turn_samples(workspace, args.samples)
        for kind, samples in turns_found.items():
            print(row(kind, samples))
        print(row("all turns", [s for found in turns_found.values() for s in found], TURN_BUDGET_MS))
        if embeddings.available():
            ml_ws, ml_actor = store("bench-ml", args.products, 50)
            ml_s = switch_on(ml_ws, ml_actor, mode="ml")
            turn_samples(ml_ws, len(MIX), "w")
            found = turn_samples(ml_ws, max(30, args.samples // 3))
            print(row(f"all turns, ml model (trained in {ml_s:.1f} s)", [s for f in found.values() for s in f]))
        print()
        print("| customer message | messages | p50 ms | p95 ms | p99 ms | queries |")
        print("|---|---:|---:|---:|---:|---:|")
        print(row("bot on (the turn enqueued, not run)", message_samples(workspace, args.samples)))
        switch_on(plain, plain_actor, mode="linear", on=False)
        print(row("bot off", message_samples(plain, args.samples)))
        print(f"\nload average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        clean_up()


if __name__ == "__main__":
    main()
