"""`touchpoint simulate SCENARIO.json`: a day of the contact center in simulated time, to compare
routing policies and staffing before changing them on the live desk. The scenario format is
documented in `touchpoint.routing.simulator`; an example ships in docs/scenarios/day.json."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from touchpoint.routing.policy import POLICIES
from touchpoint.routing.simulator import (
    Counts,
    Estimate,
    PolicyResult,
    Scenario,
    ScenarioError,
    SimulationReport,
    simulate,
)

COLUMNS = ("offered", "answered", "abandoned", "SL (V2)", "SL (V1)", "ASA s", "aband.", "occupancy")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _ci(estimate: Estimate | None, *, percent: bool) -> str:
    if estimate is None:
        return "—"
    scale, unit = (100, " %") if percent else (1, " s")
    if estimate.half_width is None:
        return f"{scale * estimate.mean:.1f}{unit}"
    return f"{scale * estimate.mean:.1f} ± {scale * estimate.half_width:.1f}{unit}"


def _row(label: str, counts: Counts, replications: int, *, occupancy: bool = True) -> str:
    cells = (
        f"{counts.offered / replications:.1f}", f"{counts.answered / replications:.1f}",
        f"{counts.abandoned / replications:.1f}", _pct(counts.service_level), _pct(counts.service_level_v1),
        _secs(counts.asa_s), _pct(counts.abandonment_rate), _pct(counts.occupancy) if occupancy else "",
    )
    return f"{label:<16}" + "".join(f"{cell:>11}" for cell in cells)


class Command(BaseCommand):
    help = ("Simulate a contact-center day from a scenario file and report service level, ASA, abandonment "
            "and occupancy per interval and per routing policy.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenario", help="the scenario JSON file (format: touchpoint.routing.simulator)")
        parser.add_argument("--policy", action="extend", nargs="+", dest="policies", metavar="NAME",
                            help=f"routing policy to run, repeatable (one of: {', '.join(POLICIES)}); "
                                 "default: the scenario's")
        parser.add_argument("--replications", type=int, help="simulated days per policy (default: the scenario's)")
        parser.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in options["policies"] or ():
            if name not in POLICIES:
                raise CommandError(f"unknown routing policy {name!r}; choose one of: {', '.join(POLICIES)}")
        if options["replications"] is not None and options["replications"] < 1:
            raise CommandError("--replications must be at least 1 (10 or more for useful confidence intervals)")
        try:
            scenario = Scenario.from_file(options["scenario"])
            report = simulate(scenario, policies=options["policies"], replications=options["replications"],
                              seed=options["seed"])
        except ScenarioError as exc:
            raise CommandError(f"{options['scenario']}: {exc}") from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
            return
        self.stdout.write(self.render(report))

    def render(self, report: SimulationReport) -> str:
        s = report.scenario
        n = len(report.results[0].replications)
        lines = [
            f"{s.name}: {s.day_start:%Y-%m-%d}, {s.intervals} intervals of {s.interval_s // 60} min from "
            f"{s.day_start:%H:%M}, service level target {s.target_s:g} s",
            f"{n} replication{'s' if n != 1 else ''} per policy, seed {report.seed}; "
            f"{report.contacts:,} contacts simulated in {report.wall_s:.1f} s",
        ]
        for result in report.results:
            lines += ["", *self.policy_table(result, s)]
        lines += ["", *self.summary(report)]
        return "\n".join(lines)

    @staticmethod
    def policy_table(result: PolicyResult, s: Scenario) -> list[str]:
        n = len(result.replications)
        header = f"{'interval':<16}" + "".join(f"{c:>11}" for c in COLUMNS)
        lines = [f"Policy {result.policy} (counts are means per simulated day)", header, "-" * len(header)]
        lines += [_row(s.interval_label(i), result.interval(i), n) for i in range(s.intervals)]
        lines += ["-" * len(header), _row("day", result.day(), n)]
        lines += [_row(q.name[:15], result.queue_day(i), n, occupancy=False) for i, q in enumerate(s.queues)]
        return lines

    @staticmethod
    def summary(report: SimulationReport) -> list[str]:
        first = report.results[0]
        n = len(first.replications)
        level = f"{100 * first.confidence:g} %"
        ci_note = f"mean ± {level} confidence interval over {n} days" if n > 1 else "one day: no confidence interval"
        header = f"{'policy':<16}{'SL (V2)':>18}{'SL (V1)':>18}{'ASA':>18}{'abandonment':>18}{'occupancy':>18}"
        lines = [f"Day summary ({ci_note})", header, "-" * len(header)]
        for result in report.results:
            lines.append(
                f"{result.policy:<16}"
                f"{_ci(result.estimate('service_level'), percent=True):>18}"
                f"{_ci(result.estimate('service_level_v1'), percent=True):>18}"
                f"{_ci(result.estimate('asa_s'), percent=False):>18}"
                f"{_ci(result.estimate('abandonment_rate'), percent=True):>18}"
                f"{_ci(result.estimate('occupancy'), percent=True):>18}"
            )
        return lines
