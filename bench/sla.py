"""SLA benchmark: what keeping every conversation's SLA current costs on a busy desk.

    python bench/sla.py                              # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/sla.py
                                                     # PostgreSQL: creates and drops touchpoint_bench_sla
    python bench/sla.py --conversations 500 --samples 100     # a quick look

It loads a workspace (Mon-Fri 09:00-17:00, public holidays of one country) with three SLA policies in
business hours, and `--conversations` open conversations of `--messages` messages each (customer and
agent taking turns, a pending spell in every fifth), by bulk insert. Then, through the real services:

- *first evaluation*: `evaluate_sla` of a conversation that has no SLA row yet (policy match, history
  read, clocks, row written, router's due time);
- *re-evaluation, nothing changed*: the same again (a second customer line in the same wait): reads only;
- *customer message*: `receive_message` end to end with its after-commit listeners (router, live
  events, SLA), on a desk with policies and on one without: the difference is what SLAs add per message;
- *periodic check*: every conversation's next check made due at once and `check_slas` run until none is
  left, first when each turns at risk (no escalation configured: a row update), then when each breaches
  (a system event, two notifications and a priority raise each): conversations per second.

A measurement, not a test. Budgets: p99 < 20 ms for an evaluation; the check must clear 1,000 due
conversations turning at risk in half its 15 s period. Breaches with escalation are reported without a
budget: each writes a line in the thread, notifications and their live events, and they are rare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from common import fresh_database  # noqa: E402  (bench/ is on the path above)

BENCH_DB = "touchpoint_bench_sla"
EVALUATION_BUDGET_MS = 20.0
CHECK_PERIOD_S = 15.0


def desk(slug: str, *, policies: bool):
    from touchpoint.accounts import services as accounts
    from touchpoint.accounts.selectors import actor_for
    from touchpoint.core.permissions import Role
    from touchpoint.routing import services as routing

    workspace, admin = accounts.create_workspace(name=slug, slug=slug, admin_email=f"admin@{slug}.test",
                                                 admin_password="bench-admin-1")
    workspace.holiday_country = "US"
    workspace.save(update_fields=["holiday_country"])
    actor = actor_for(admin)
    agent = accounts.seed_member(workspace=workspace, email=f"agent@{slug}.test", password="bench-agent-1",
                                 display_name="Agent", role=Role.AGENT)
    accounts.seed_member(workspace=workspace, email=f"sup@{slug}.test", password="bench-sup-1", display_name="Sup",
                         role=Role.SUPERVISOR)
    if policies:
        routing.save_sla_policy(actor=actor, name="Everyone", first_response_s=4 * 3600, next_response_s=8 * 3600,
                                resolution_s=3 * 86400)
        routing.save_sla_policy(actor=actor, name="Urgent", priorities=["urgent", "high"], first_response_s=3600,
                                next_response_s=2 * 3600, resolution_s=86400)
        routing.save_sla_policy(actor=actor, name="VIP chat", channels=["webchat"], segments=["vip"],
                                first_response_s=600, next_response_s=1800, resolution_s=8 * 3600)
    return workspace, agent


def load(workspace, agent, conversations: int, messages: int) -> list:
    """Open conversations with a history, by bulk insert; each already a few hours old."""
    from touchpoint.conversations.models import Conversation, Message
    from touchpoint.core.clock import now
    from touchpoint.customers.models import Customer
    from touchpoint.routing.models import SlaStatusChange

    at = now()
    customers = Customer.objects.bulk_create([
        Customer(workspace=workspace, name=f"C{i}", custom_attributes={"segment": "vip"} if i % 10 == 0 else {},
                 created_at=at, updated_at=at) for i in range(conversations)])
    opened = at - timedelta(hours=6)
    made = Conversation.objects.bulk_create([
        Conversation(workspace=workspace, customer=c, channel=("webchat", "email")[i % 2], status="open",
                     priority=("normal", "high")[i % 7 == 0], assignee=agent, last_message_at=at, created_at=opened,
                     updated_at=at) for i, c in enumerate(customers)])
    step = timedelta(hours=5) / messages
    Message.objects.bulk_create([
        Message(workspace=workspace, conversation=c, customer_id=c.customer_id,
                kind=("incoming", "outgoing")[n % 2], sender_type=("customer", "agent")[n % 2], author=None,
                channel=c.channel, content_text=f"line {n}", created_at=opened + step * n)
        for c in made for n in range(messages)])
    SlaStatusChange.objects.bulk_create([
        SlaStatusChange(workspace=workspace, conversation=c, status=status, at=opened + step * (messages // 2) + delta)
        for i, c in enumerate(made) if i % 5 == 0
        for status, delta in (("pending", timedelta(minutes=1)), ("open", timedelta(minutes=40)))])
    return list(Conversation.objects.select_related("customer", "workspace").filter(pk__in=[c.pk for c in made]))


def timed(samples: list[float], fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    samples.append((time.perf_counter() - started) * 1000)
    return result


def figures(name: str, samples: list[float], budget: float | None = None) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    line = f"  {name:34s}: p50 {statistics.median(samples):6.2f} ms, p99 {p99:6.2f} ms (n={len(samples)})"
    if budget is not None:
        line += f"  budget p99 < {budget:g} ms: {'met' if p99 < budget else 'MISSED'}"
    return line


def check_all(at) -> tuple[int, float]:
    from touchpoint.routing import services as routing

    started, total = time.perf_counter(), 0
    while True:
        done = routing.check_slas(at=at)
        total += done
        if done < routing.SLA_CHECK_BATCH:
            return total, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    described, clean_up = fresh_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "touchpoint.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from touchpoint.conversations.services import Content, receive_message
    from touchpoint.core.clock import now
    from touchpoint.routing import services as routing
    from touchpoint.routing.models import ConversationSla, SlaPolicy

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        workspace, agent = desk("bench", policies=True)
        plain, _ = desk("plain", policies=False)
        made = load(workspace, agent, args.conversations, args.messages)
        print(f"sla: {described}; {args.conversations} open conversations of {args.messages} messages, "
              f"3 policies in business hours; loaded in {time.perf_counter() - started:.1f} s")

        first, again = [], []
        for conversation in made[: args.samples]:
            timed(first, routing.evaluate_sla, conversation)
        for conversation in made[: args.samples]:
            timed(again, routing.evaluate_sla, conversation)
        print(figures("first evaluation", first, EVALUATION_BUDGET_MS))
        print(figures("re-evaluation, nothing changed", again, EVALUATION_BUDGET_MS))

        for name, target in (("customer message, SLA policies", workspace), ("customer message, no policies", plain)):
            samples = []
            for i in range(args.samples):
                timed(samples, receive_message, workspace_id=target.pk, channel="webchat",
                      sender=("email", f"m{i}@bench.test"), content=Content(text="Where is my order?"))
            print(figures(name, samples))

        for conversation in made:  # every remaining conversation gets its row, as events would have made
            routing.evaluate_sla(conversation)
        rows = ConversationSla.objects.filter(workspace=workspace)
        for when, label in (("at_risk_at", "turning at risk"), ("due", "breaching, with escalation")):
            if when == "due":
                for policy in SlaPolicy.objects.filter(workspace=workspace):
                    policy.escalation = [{"when": "breached", "action": "raise_priority"}]
                    policy.save(update_fields=["escalation"])
            rows.update(next_check_at=now() - timedelta(seconds=1))
            later = now() + (timedelta(days=30) if when == "due" else timedelta(0))
            real_now = timezone.now
            timezone.now = lambda later=later: later  # escalations re-evaluate at the checked moment too
            try:
                count, seconds = check_all(later)
            finally:
                timezone.now = real_now
            rate = count / seconds if seconds else float("inf")
            line = f"  periodic check, {label:27s}: {count} conversations in {seconds:.2f} s = {rate:,.0f}/s"
            if when == "due":  # each breach writes a thread line, notifications and live events: rare by nature
                print(line)
            else:
                verdict = "met" if 1000 / rate < CHECK_PERIOD_S / 2 else "MISSED"
                print(f"{line}  (1,000 due in {1000 / rate:.2f} s; budget < {CHECK_PERIOD_S / 2:g} s: {verdict})")
    finally:
        clean_up()


if __name__ == "__main__":
    main()
