"""Simulator benchmark: how fast `touchpoint simulate` runs a busy day.

    python bench/simulator.py                          # a 10,000-contact day, every policy, 3 runs each
    python bench/simulator.py --contacts 50000 --repeat 1 --policy best_skill

The day is docs/scenarios/day.json (five queues over voice, chat and email, four skills, two teams with
overflow, sticky returning customers, a two-peak day curve over 12 hours, early and late shifts),
scaled so the expected number of contacts is `--contacts`: arrivals and every agent group grow by the
same factor, so the desk stays as busy as in the example. Each run simulates one day with one policy
(a fresh seed each time) and is timed on the wall clock, scenario set-up included.

It prints simulated contacts per second of wall time and the seconds per day against the budget
(10 s for a 10,000-contact day). It is a measurement, not a test: nothing fails when the budget is
missed, but the table says so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inbox import machine  # noqa: E402  (bench/ is on the path when a script in it runs)

from touchpoint.routing.policy import POLICIES  # noqa: E402
from touchpoint.routing.simulator import Scenario, simulate  # noqa: E402

BUDGET_S = 10.0
BUDGET_CONTACTS = 10_000


def scaled_day(contacts: int) -> tuple[Scenario, float]:
    data = json.loads((ROOT / "docs" / "scenarios" / "day.json").read_text())
    expected = sum(sum(q["arrivals"]) for q in data["queues"])
    factor = contacts / expected
    for queue in data["queues"]:
        queue["arrivals"] = [rate * factor for rate in queue["arrivals"]]
    for group in data["agents"]:
        group["count"] = math.ceil(group["count"] * factor)
    return Scenario.from_dict(data), factor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=BUDGET_CONTACTS, help="expected contacts in the day")
    parser.add_argument("--repeat", type=int, default=3, help="timed days per policy")
    parser.add_argument("--policy", action="append", choices=list(POLICIES), help="default: every policy")
    args = parser.parse_args()
    policies = args.policy or list(POLICIES)
    scenario, factor = scaled_day(args.contacts)
    agents = sum(g.count for g in scenario.agent_groups)
    budget = BUDGET_S * args.contacts / BUDGET_CONTACTS
    lines = [
        "Touchpoint simulator benchmark",
        f"machine  : {machine()}",
        f"load avg : {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1 / 5 / 15 min) at the start",
        f"day      : {scenario.name} × {factor:.2f}: {len(scenario.queues)} queues, {agents} agents, "
        f"{scenario.intervals} intervals of {scenario.interval_s // 60} min, ~{args.contacts:,} contacts expected",
        f"runs     : {args.repeat} days per policy, one replication each, a new seed each day",
        "",
        "| policy | contacts/day | wall s (median) | wall s (worst) | contacts/s | budget | SL (V2) | ASA s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in policies:
        walls, counts, sls, asas = [], [], [], []
        for run in range(args.repeat):
            started = time.perf_counter()
            report = simulate(scenario, policies=[name], replications=1, seed=1000 + run)
            walls.append(time.perf_counter() - started)
            day = report.results[0].day()
            counts.append(report.contacts)
            sls.append(day.service_level or 0.0)
            asas.append(day.asa_s or 0.0)
        median, worst = statistics.median(walls), max(walls)
        verdict = "ok" if worst < budget else "MISSED"
        lines.append(
            f"| {name} | {statistics.mean(counts):,.0f} | {median:.2f} | {worst:.2f} | "
            f"{sum(counts) / sum(walls):,.0f} | < {budget:.0f} s ({verdict}) | "
            f"{100 * statistics.mean(sls):.1f} % | {statistics.mean(asas):.1f} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
