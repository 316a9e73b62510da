"""A day of the contact center in simulated time (SimPy), routed by `routing.policy`: the same
functions the live router calls, so a supervisor can try a routing policy or a staffing plan on
tomorrow's forecast before changing anything on the desk.

Queue-then-assign, as the live system does it: on each arrival the contact is offered through
`policy.choose_agent`; when no one qualifies it queues (in `policy.contact_order_key` order). Whenever
an agent gains capacity (a contact finished, a shift started) `policy.next_contact_for` gives them
the next contact. A queued contact is offered again at the moments its options widen: when its sticky
wait for its last agent ends and when it overflows. It abandons when its patience runs out in queue.
Agents still finish their open contacts after their shift ends, but take no new ones.

Scenario file (JSON)::

    {
      "name": "Weekday",                       # optional
      "date": "2025-03-03",                    # optional, the simulated day (UTC)
      "start": "08:00",                        # clock time of the first interval (default 00:00)
      "interval_minutes": 30,                  # 15, 30 or 60
      "service_level_target_s": 20,            # T of "80 % answered within T"
      "seed": 7, "replications": 10,           # optional (defaults 1 and 10)
      "routing": {                             # optional; RoutingRules and the policies to compare
        "policies": ["best_skill", "longest_idle"],
        "sticky_wait_s": 30, "overflow_after_s": 120, "overflow_team": "generalists",
        "sla_at_risk_within_s": 300, "in_call_blocks_chat": true
      },
      "queues": [{
        "name": "billing voice", "work_kind": "voice",          # voice, chat or message
        "required_skills": {"billing": 3}, "team": "billing",   # team optional
        "priority": 1, "vip_share": 0.05, "returning_share": 0.1,   # optional (0, 0, 0)
        "target_s": 20,                                         # optional, else the day's T
        "arrivals": [12, 30, 41, ...],          # expected contacts per interval (Poisson within it)
        "handle_time": {"distribution": "lognormal", "mean_s": 300, "cv": 0.8},
                                                # or "exponential" with mean_s, or "fixed" with mean_s
        "patience": {"distribution": "exponential", "mean_s": 120},   # or null: nobody abandons
        "concurrency_slowdown": 0.2             # optional: each chat already open adds 20 % to handle time
      }],
      "agents": [{
        "name": "billing", "count": 12, "skills": {"billing": 4, "orders": 2},
        "teams": ["billing"], "capacity": {"voice": 1, "chat": 0, "message": 0},  # default 1 / 3 / 10
        "shift": {"start": "08:00", "end": "16:30"}              # default: the whole day
      }]
    }

The day has as many intervals as the longest `arrivals` list. A contact counts in the interval it
arrived in (KPIS.md). Returning customers (`returning_share`) had their last contact with an agent
who answered this queue earlier in the day, which exercises sticky routing. Simulated contacts carry
no SLA due time (the queue's service level stands for it), so their contact order is fixed when they
arrive.

Reported per interval, per queue and for the day, for each policy: offered, answered, abandoned,
service level V2 (the default: answered within T / (offered - abandoned within T)) and V1 (answered
within T / offered), ASA, abandonment rate and occupancy. Occupancy counts an agent with n of c
contacts of a kind open as n/c busy, summed over kinds and capped at 1 (for voice, talk time /
logged-in time); logged-in time is the shift plus any time spent finishing work after it. The day's
SL, ASA, abandonment and occupancy also come as mean ± t·s/√n over the replications. Every policy sees
the same contacts in each replication (common random numbers), so differences come from routing.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from time import perf_counter
from typing import Any

import simpy

from touchpoint.routing import policy as routing
from touchpoint.routing.policy import AgentState, ContactState, RoutingRules

DEFAULT_DATE = date(2025, 1, 6)
DEFAULT_REPLICATIONS = 10
INTERVAL_MINUTES = (15, 30, 60)
DISTRIBUTIONS = ("exponential", "lognormal", "fixed")


class ScenarioError(ValueError):
    """A scenario file that cannot be simulated; the message says what to fix, and where."""


# ---- the scenario -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """Handle time or patience in seconds."""

    kind: str
    mean_s: float
    cv: float = 1.0

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.mean_s
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.mean_s)
        sigma2 = math.log(1 + self.cv * self.cv)
        return rng.lognormvariate(math.log(self.mean_s) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(frozen=True)
class QueueSpec:
    name: str
    work_kind: str
    required_skills: Mapping[str, int]
    team: str | None
    priority: int
    vip_share: float
    returning_share: float
    target_s: float
    arrivals: tuple[float, ...]
    handle_time: Distribution
    patience: Distribution | None
    concurrency_slowdown: float


@dataclass(frozen=True)
class AgentGroup:
    name: str
    count: int
    skills: Mapping[str, int]
    teams: tuple[str, ...]
    capacity: Mapping[str, int]
    shift_start_s: float  # seconds after the first interval starts
    shift_end_s: float


@dataclass(frozen=True)
class Scenario:
    name: str
    day_start: datetime
    interval_s: int
    target_s: float
    queues: tuple[QueueSpec, ...]
    agent_groups: tuple[AgentGroup, ...]
    policies: tuple[str, ...]
    rules: RoutingRules
    overflow_team: str | None
    in_call_blocks_chat: bool
    seed: int
    replications: int
    team_ids: Mapping[str, int] = field(default_factory=dict)

    @property
    def intervals(self) -> int:
        return max(len(q.arrivals) for q in self.queues)

    def interval_label(self, index: int) -> str:
        return (self.day_start + timedelta(seconds=index * self.interval_s)).strftime("%H:%M")

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read the scenario file: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        return _ScenarioReader(data).read()


class _ScenarioReader:
    """Turns the JSON into a Scenario, naming the exact place of the first mistake."""

    def __init__(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise ScenarioError("a scenario is a JSON object with 'queues' and 'agents' (see the format)")
        self.data = data

    def read(self) -> Scenario:
        d = self.data
        interval_minutes = self.number(d, "interval_minutes", "scenario", default=30)
        if interval_minutes not in INTERVAL_MINUTES:
            raise ScenarioError(f"interval_minutes must be 15, 30 or 60, not {interval_minutes}")
        day = self.date(d.get("date"))
        start = self.clock(d.get("start", "00:00"), "start")
        day_start = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(seconds=start)
        target_s = self.number(d, "service_level_target_s", "scenario", default=20)
        queues_raw = d.get("queues")
        if not isinstance(queues_raw, list) or not queues_raw:
            raise ScenarioError("'queues' is missing or empty: give at least one queue with its arrivals")
        queues = tuple(self.queue(q, i, target_s) for i, q in enumerate(queues_raw))
        day_length = interval_minutes * 60 * max(len(q.arrivals) for q in queues)
        agents_raw = d.get("agents")
        if not isinstance(agents_raw, list) or not agents_raw:
            raise ScenarioError("'agents' is missing or empty: give at least one group of agents")
        groups = tuple(self.agent_group(a, i, start, day_length) for i, a in enumerate(agents_raw))
        if sum(g.count for g in groups) == 0:
            raise ScenarioError("no agents: every agent group has count 0")
        routing_raw = d.get("routing", {})
        if not isinstance(routing_raw, dict):
            raise ScenarioError("'routing' must be an object (policies, sticky_wait_s, overflow_after_s, ...)")
        policies = self.policies(routing_raw.get("policies", [routing.DEFAULT_POLICY]))
        team_names = sorted({q.team for q in queues if q.team} | {t for g in groups for t in g.teams}
                            | ({routing_raw["overflow_team"]} if routing_raw.get("overflow_team") else set()))
        team_ids = {name: i + 1 for i, name in enumerate(team_names)}
        overflow_team = routing_raw.get("overflow_team")
        if overflow_team is not None and not isinstance(overflow_team, str):
            raise ScenarioError("routing.overflow_team must be a team name")
        overflow_after = self.number(routing_raw, "overflow_after_s", "routing", default=None)
        rules = RoutingRules(
            sticky_wait=timedelta(seconds=self.number(routing_raw, "sticky_wait_s", "routing", default=30)),
            overflow_after=None if overflow_after is None else timedelta(seconds=overflow_after),
            overflow_team_id=team_ids.get(overflow_team) if overflow_team else None,
            sla_at_risk_within=timedelta(
                seconds=self.number(routing_raw, "sla_at_risk_within_s", "routing", default=300)),
        )
        replications = self.number(d, "replications", "scenario", default=DEFAULT_REPLICATIONS)
        seed = d.get("seed", 1)
        if not isinstance(replications, int) or replications < 1:
            raise ScenarioError("replications must be a whole number of at least 1")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ScenarioError("seed must be a whole number")
        return Scenario(
            name=str(d.get("name", "scenario")), day_start=day_start, interval_s=interval_minutes * 60,
            target_s=target_s, queues=queues, agent_groups=groups, policies=policies, rules=rules,
            overflow_team=overflow_team, in_call_blocks_chat=bool(routing_raw.get("in_call_blocks_chat", False)),
            seed=seed, replications=replications, team_ids=team_ids,
        )

    @staticmethod
    def number(obj: Mapping[str, Any], key: str, where: str, *, default: Any) -> Any:
        value = obj.get(key, default)
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or not math.isfinite(value):
            raise ScenarioError(f"{where}: '{key}' must be a number of at least 0, not {value!r}")
        return value

    @staticmethod
    def date(value: Any) -> date:
        if value is None:
            return DEFAULT_DATE
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ScenarioError(f"date must look like 2025-03-03, not {value!r}") from None

    @staticmethod
    def clock(value: Any, where: str) -> int:
        """'HH:MM' as seconds after midnight; hours up to 47 for shifts that end after midnight."""
        try:
            hours, minutes = (int(part) for part in str(value).split(":"))
        except ValueError:
            raise ScenarioError(f"{where} must be a clock time like 08:30, not {value!r}") from None
        if not (0 <= hours < 48 and 0 <= minutes < 60):
            raise ScenarioError(f"{where} must be a clock time like 08:30, not {value!r}")
        return hours * 3600 + minutes * 60

    @staticmethod
    def skills(value: Any, where: str, *, minimum: int) -> dict[str, int]:
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and minimum <= v <= 5
            for k, v in value.items()
        ):
            raise ScenarioError(f"{where}: skills map a skill name to a proficiency {minimum}-5, e.g. {{\"billing\": 3}}")
        return dict(value)

    def distribution(self, value: Any, where: str) -> Distribution:
        if not isinstance(value, dict) or value.get("distribution") not in DISTRIBUTIONS:
            raise ScenarioError(f"{where} needs 'distribution': one of {', '.join(DISTRIBUTIONS)}, and 'mean_s'")
        mean = self.number(value, "mean_s", where, default=None)
        if not mean:
            raise ScenarioError(f"{where}: 'mean_s' must be a number of seconds above 0")
        cv = self.number(value, "cv", where, default=1.0)
        if value["distribution"] == "lognormal" and cv == 0:
            raise ScenarioError(f"{where}: a lognormal needs 'cv' above 0 (or use \"fixed\")")
        return Distribution(value["distribution"], float(mean), float(cv))

    def queue(self, q: Any, index: int, default_target_s: float) -> QueueSpec:
        if not isinstance(q, dict):
            raise ScenarioError(f"queues[{index}] must be an object")
        where = f"queue {q.get('name', index)!r}"
        if not isinstance(q.get("name"), str) or not q["name"]:
            raise ScenarioError(f"queues[{index}] needs a 'name'")
        if q.get("work_kind") not in routing.WORK_KINDS:
            raise ScenarioError(f"{where}: 'work_kind' must be one of {', '.join(routing.WORK_KINDS)}")
        arrivals = q.get("arrivals")
        if not isinstance(arrivals, list) or not arrivals:
            raise ScenarioError(f"{where}: 'arrivals' is missing: a list of expected contacts per interval")
        for i, rate in enumerate(arrivals):
            if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0 or not math.isfinite(rate):
                raise ScenarioError(f"{where}: arrivals[{i}] must be a number of contacts of at least 0, not {rate!r}")
        if "handle_time" not in q:
            raise ScenarioError(f"{where}: 'handle_time' is missing, e.g. {{\"distribution\": \"exponential\", "
                                f"\"mean_s\": 300}}")
        patience_raw = q.get("patience")
        patience = None if patience_raw in (None, "none") or (
            isinstance(patience_raw, dict) and patience_raw.get("distribution") == "none"
        ) else self.distribution(patience_raw, f"{where} patience")
        priority = q.get("priority", 0)
        if priority not in (0, 1, 2, 3):
            raise ScenarioError(f"{where}: 'priority' is 0 (low) to 3 (urgent)")
        shares = {key: self.number(q, key, where, default=0.0) for key in ("vip_share", "returning_share")}
        if any(share > 1 for share in shares.values()):
            raise ScenarioError(f"{where}: vip_share and returning_share are shares between 0 and 1")
        team = q.get("team")
        if team is not None and not isinstance(team, str):
            raise ScenarioError(f"{where}: 'team' must be a team name")
        return QueueSpec(
            name=q["name"], work_kind=q["work_kind"],
            required_skills=self.skills(q.get("required_skills"), where, minimum=1), team=team,
            priority=priority, vip_share=shares["vip_share"], returning_share=shares["returning_share"],
            target_s=self.number(q, "target_s", where, default=default_target_s),
            arrivals=tuple(float(a) for a in arrivals),
            handle_time=self.distribution(q["handle_time"], f"{where} handle_time"), patience=patience,
            concurrency_slowdown=self.number(q, "concurrency_slowdown", where, default=0.0),
        )

    def agent_group(self, a: Any, index: int, day_start_s: int, day_length_s: int) -> AgentGroup:
        if not isinstance(a, dict):
            raise ScenarioError(f"agents[{index}] must be an object")
        where = f"agent group {a.get('name', index)!r}"
        count = a.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ScenarioError(f"{where}: 'count' must be a whole number of agents (0 or more)")
        capacity = dict(routing.DEFAULT_CAPACITY)
        for kind, slots in (a.get("capacity") or {}).items():
            if kind not in routing.WORK_KINDS or isinstance(slots, bool) or not isinstance(slots, int) or slots < 0:
                raise ScenarioError(f"{where}: capacity maps voice, chat or message to a whole number of slots")
            capacity[kind] = slots
        shift = a.get("shift") or {}
        if not isinstance(shift, dict):
            raise ScenarioError(f"{where}: 'shift' is an object with 'start' and 'end' clock times")
        start = self.clock(shift["start"], f"{where} shift start") - day_start_s if "start" in shift else 0
        end = self.clock(shift["end"], f"{where} shift end") - day_start_s if "end" in shift else day_length_s
        if end <= start:
            raise ScenarioError(f"{where}: the shift ends before it starts")
        teams = a.get("teams", [])
        if not isinstance(teams, list) or not all(isinstance(t, str) for t in teams):
            raise ScenarioError(f"{where}: 'teams' is a list of team names")
        return AgentGroup(
            name=str(a.get("name", f"group {index + 1}")), count=count,
            skills=self.skills(a.get("skills"), where, minimum=1), teams=tuple(teams), capacity=capacity,
            shift_start_s=max(0, start), shift_end_s=end,
        )

    @staticmethod
    def policies(value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise ScenarioError("routing.policies is a list of policy names, e.g. [\"best_skill\"]")
        for name in value:
            if name not in routing.POLICIES:
                raise ScenarioError(f"unknown routing policy {name!r}; choose one of: {', '.join(routing.POLICIES)}")
        return tuple(value)


# ---- results ----------------------------------------------------------------------------------


@dataclass
class Counts:
    """What happened to the contacts that arrived in one interval (or a sum of intervals)."""

    offered: int = 0
    answered: int = 0
    answered_in_target: int = 0
    abandoned: int = 0
    abandoned_in_target: int = 0
    unanswered: int = 0  # still waiting when the day closed: no agent left and no patience
    answered_wait_s: float = 0.0
    abandoned_wait_s: float = 0.0
    busy_s: float = 0.0  # agent-seconds busy (occupancy): per interval and day, not per queue
    staffed_s: float = 0.0  # agent-seconds logged in

    def add(self, other: Counts) -> Counts:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @property
    def service_level(self) -> float | None:
        """V2 (KPIS.md default): answered within T / (offered - abandoned within T)."""
        base = self.offered - self.abandoned_in_target
        return self.answered_in_target / base if base else None

    @property
    def service_level_v1(self) -> float | None:
        return self.answered_in_target / self.offered if self.offered else None

    @property
    def asa_s(self) -> float | None:
        return self.answered_wait_s / self.answered if self.answered else None

    @property
    def abandonment_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def occupancy(self) -> float | None:
        return self.busy_s / self.staffed_s if self.staffed_s else None

    def as_dict(self, replications: int = 1) -> dict[str, Any]:
        """Counts as a mean per replication, with the rates of the pooled counts."""
        return {
            "offered": self.offered / replications, "answered": self.answered / replications,
            "abandoned": self.abandoned / replications, "unanswered": self.unanswered / replications,
            "service_level": self.service_level, "service_level_v1": self.service_level_v1,
            "asa_s": self.asa_s, "abandonment_rate": self.abandonment_rate, "occupancy": self.occupancy,
        }


@dataclass(frozen=True)
class Replication:
    """One simulated day: counts per queue and interval, and occupancy per interval."""

    by_queue: tuple[tuple[Counts, ...], ...]  # [queue][interval]
    busy_s: tuple[float, ...]  # [interval]: agent-seconds busy
    staffed_s: tuple[float, ...]  # [interval]: agent-seconds logged in

    def interval(self, index: int) -> Counts:
        total = Counts(busy_s=self.busy_s[index], staffed_s=self.staffed_s[index])
        for queue in self.by_queue:
            total.add(queue[index])
        return total

    def queue_day(self, queue: int) -> Counts:
        total = Counts()
        for counts in self.by_queue[queue]:
            total.add(counts)
        return total

    def day(self, skip_intervals: int = 0) -> Counts:
        """The day's totals; `skip_intervals` leaves out a warm-up from an empty start."""
        total = Counts()
        for index in range(skip_intervals, len(self.by_queue[0])):
            total.add(self.interval(index))
        return total


@lru_cache(maxsize=256)
def student_t_quantile(confidence: float, df: int) -> float:
    """t such that P(|T| <= t) = confidence for Student's t with df degrees of freedom.

    Closed form for whole df (Abramowitz & Stegun 26.7.3-4) inverted by bisection: the standard library
    has the normal distribution but not Student's, and a table would fix the confidence level."""
    if not 0 < confidence < 1 or df < 1:
        raise ValueError("confidence is between 0 and 1, df at least 1")

    def two_sided(t: float) -> float:
        theta = math.atan(t / math.sqrt(df))
        s, c2 = math.sin(theta), math.cos(theta) ** 2
        if df % 2:
            total = term = math.cos(theta) if df > 1 else 0.0
            for j in range(1, (df - 1) // 2):
                term *= 2 * j / (2 * j + 1) * c2
                total += term
            return 2 / math.pi * (theta + s * total)
        total = term = 1.0
        for j in range(1, df // 2):
            term *= (2 * j - 1) / (2 * j) * c2
            total += term
        return s * total

    low, high = 0.0, 1.0
    while two_sided(high) < confidence:
        high *= 2
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if two_sided(mid) < confidence else (low, mid)
    return (low + high) / 2


@dataclass(frozen=True)
class Estimate:
    """Mean over replications ± half-width of the confidence interval (None with one replication)."""

    mean: float
    half_width: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None], confidence: float) -> Estimate | None:
        known = [v for v in values if v is not None]
        if not known:
            return None
        n = len(known)
        mean = sum(known) / n
        if n < 2:
            return cls(mean, None, n)
        s = math.sqrt(sum((v - mean) ** 2 for v in known) / (n - 1))
        return cls(mean, student_t_quantile(confidence, n - 1) * s / math.sqrt(n), n)

    def covers(self, value: float) -> bool:
        return self.half_width is not None and abs(value - self.mean) <= self.half_width

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "half_width": self.half_width, "n": self.n}


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    replications: tuple[Replication, ...]
    confidence: float

    def interval(self, index: int) -> Counts:
        total = Counts()
        for rep in self.replications:
            total.add(rep.interval(index))
        return total

    def queue_day(self, queue: int) -> Counts:
        total = Counts()
        for rep in self.replications:
            total.add(rep.queue_day(queue))
        return total

    def day(self, skip_intervals: int = 0) -> Counts:
        total = Counts()
        for rep in self.replications:
            total.add(rep.day(skip_intervals))
        return total

    def estimate(self, kpi: str, skip_intervals: int = 0) -> Estimate | None:
        """Mean ± CI over replications of a day KPI: service_level, service_level_v1, asa_s,
        abandonment_rate or occupancy."""
        return Estimate.of([getattr(r.day(skip_intervals), kpi) for r in self.replications], self.confidence)


ESTIMATED_KPIS = ("service_level", "service_level_v1", "asa_s", "abandonment_rate", "occupancy")


@dataclass(frozen=True)
class SimulationReport:
    scenario: Scenario
    results: tuple[PolicyResult, ...]
    seed: int
    wall_s: float
    contacts: int  # simulated contacts, over every policy and replication

    def as_dict(self) -> dict[str, Any]:
        s = self.scenario
        policies = []
        for result in self.results:
            n = len(result.replications)
            policies.append({
                "policy": result.policy,
                "day": result.day().as_dict(n),
                "estimates": {k: (e.as_dict() if (e := result.estimate(k)) else None) for k in ESTIMATED_KPIS},
                "queues": [{"queue": q.name, **result.queue_day(i).as_dict(n)} for i, q in enumerate(s.queues)],
                "intervals": [{"start": s.interval_label(i), **result.interval(i).as_dict(n)}
                              for i in range(s.intervals)],
            })
        return {
            "scenario": s.name, "date": s.day_start.date().isoformat(), "interval_minutes": s.interval_s // 60,
            "service_level_target_s": s.target_s, "seed": self.seed,
            "replications": len(self.results[0].replications), "confidence": self.results[0].confidence,
            "simulated_contacts": self.contacts, "wall_s": self.wall_s, "policies": policies,
        }


# ---- the simulation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Arrival:
    """A contact drawn before the run, so every policy sees the very same day."""

    at_s: float
    queue: int
    handle_s: float
    patience_s: float | None
    vip: bool
    returning: float | None  # where in the queue's answered list to find the last agent


def draw_day(scenario: Scenario, rng: random.Random) -> list[_Arrival]:
    """Poisson arrivals within each interval, with each contact's handle time and patience."""
    arrivals: list[_Arrival] = []
    length = scenario.interval_s
    for qi, queue in enumerate(scenario.queues):
        for index, expected in enumerate(queue.arrivals):
            if expected <= 0:
                continue
            t, end, rate = index * length, (index + 1) * length, expected / length
            while True:
                t += rng.expovariate(rate)
                if t >= end:
                    break
                arrivals.append(_Arrival(
                    t, qi, queue.handle_time.sample(rng),
                    queue.patience.sample(rng) if queue.patience else None,
                    rng.random() < queue.vip_share,
                    rng.random() if rng.random() < queue.returning_share else None,
                ))
    arrivals.sort(key=lambda a: a.at_s)
    return arrivals


class _Waiting:
    __slots__ = ("arrival", "contact", "queue", "interval", "sort_key", "open")

    def __init__(self, arrival: _Arrival, contact: ContactState, queue: _Queue, interval: int) -> None:
        self.arrival = arrival
        self.contact = contact
        self.queue = queue
        self.interval = interval
        self.sort_key: tuple[Any, ...] = ()
        self.open = True  # neither answered nor abandoned yet


class _Queue:
    def __init__(self, index: int, spec: QueueSpec, team_id: int | None, intervals: int) -> None:
        self.index = index
        self.spec = spec
        self.kind = spec.work_kind
        self.team_id = team_id
        self.waiting: list[tuple[tuple[Any, ...], _Waiting]] = []  # in contact order
        self.free: set[int] = set()  # candidate agents online with a free slot of this kind
        self.answered_by: list[int] = []  # agents who answered here, for returning customers
        self.counts = tuple(Counts() for _ in range(intervals))


class _Agent:
    __slots__ = ("agent_id", "group", "team_ids", "queues", "load", "on_shift", "busy", "staffed")

    def __init__(self, agent_id: int, group: AgentGroup, team_ids: frozenset[int]) -> None:
        self.agent_id = agent_id
        self.group = group
        self.team_ids = team_ids
        self.queues: list[_Queue] = []
        self.load = dict.fromkeys(routing.WORK_KINDS, 0)
        self.on_shift = False
        self.busy = 0.0  # share of the agent busy now, 0..1
        self.staffed = False  # logged in: on shift, or finishing work after it


class _Day:
    """One replication under one policy."""

    def __init__(self, scenario: Scenario, policy: str, arrivals: list[_Arrival]) -> None:
        self.scenario = scenario
        self.policy = policy
        self.rules = scenario.rules
        self.arrivals = arrivals
        self.env = simpy.Environment()
        self.day_start = scenario.day_start
        self.interval_s = scenario.interval_s
        self.intervals = scenario.intervals
        self.queues = [_Queue(i, q, scenario.team_ids.get(q.team) if q.team else None, self.intervals)
                       for i, q in enumerate(scenario.queues)]
        self.agents: list[_Agent] = []
        self.states: dict[int, AgentState] = {}
        for group in scenario.agent_groups:
            team_ids = frozenset(scenario.team_ids[t] for t in group.teams)
            for _ in range(group.count):
                agent = _Agent(len(self.agents) + 1, group, team_ids)
                # Candidates: agents holding every required skill at some level. A superset only:
                # whether they qualify (proficiency, team, overflow) is policy.qualifies' call.
                agent.queues = [q for q in self.queues if all(s in group.skills for s in q.spec.required_skills)]
                self.agents.append(agent)
                self.states[agent.agent_id] = self.agent_state(agent, self.day_start)
        # occupancy: agents busy and logged in now, integrated over each interval
        self.busy_s = [0.0] * self.intervals
        self.staffed_s = [0.0] * self.intervals
        self.busy_total = 0.0
        self.staffed_total = 0
        self.clock = 0.0
        self.clock_interval = 0

    # -- time and state

    def now(self) -> datetime:
        return self.day_start + timedelta(seconds=self.env.now)

    def agent_state(self, agent: _Agent, now: datetime) -> AgentState:
        group = agent.group
        return AgentState(
            agent_id=agent.agent_id, presence=routing.ONLINE if agent.on_shift else routing.OFFLINE,
            skills=group.skills, team_ids=agent.team_ids,
            capacity=group.capacity, load=dict(agent.load), idle_since=now,
            in_call_blocks_chat=self.scenario.in_call_blocks_chat,
        )

    def advance_occupancy(self) -> None:
        now, length = self.env.now, self.interval_s
        while self.clock < now and self.clock_interval < self.intervals:
            boundary = (self.clock_interval + 1) * length
            until = min(now, boundary)
            self.busy_s[self.clock_interval] += self.busy_total * (until - self.clock)
            self.staffed_s[self.clock_interval] += self.staffed_total * (until - self.clock)
            self.clock = until
            if until == boundary:
                self.clock_interval += 1
        self.clock = max(self.clock, now)

    def update_agent(self, agent: _Agent, now: datetime) -> AgentState:
        """After a change of load or shift: new frozen state, occupancy, and the free-slot index."""
        self.advance_occupancy()
        state = self.agent_state(agent, now)
        self.states[agent.agent_id] = state
        capacity = agent.group.capacity
        busy = min(1.0, sum(n / capacity[k] for k, n in agent.load.items() if n and capacity.get(k)))
        self.busy_total += busy - agent.busy
        agent.busy = busy
        staffed = agent.on_shift or any(agent.load.values())
        self.staffed_total += int(staffed) - int(agent.staffed)
        agent.staffed = staffed
        for queue in agent.queues:
            if agent.on_shift and routing.has_capacity(state, queue.kind):
                queue.free.add(agent.agent_id)
            else:
                queue.free.discard(agent.agent_id)
        return state

    # -- events

    def at(self, delay: float, action: Any, *args: Any) -> None:
        event = self.env.timeout(delay)
        event.callbacks.append(lambda _event: action(*args))

    def run(self) -> Replication:
        for agent in self.agents:
            self.at(agent.group.shift_start_s, self.shift_starts, agent)
            self.at(agent.group.shift_end_s, self.shift_ends, agent)
        self.env.process(self.arrival_process())
        self.env.run()
        self.advance_occupancy()
        for queue in self.queues:
            for _, waiting in queue.waiting:
                queue.counts[waiting.interval].unanswered += 1
        return Replication(tuple(q.counts for q in self.queues), tuple(self.busy_s), tuple(self.staffed_s))

    def arrival_process(self) -> Iterator[simpy.Event]:
        env = self.env
        for contact_id, arrival in enumerate(self.arrivals, start=1):
            if arrival.at_s > env.now:
                yield env.timeout(arrival.at_s - env.now)
            self.arrive(contact_id, arrival)

    def arrive(self, contact_id: int, arrival: _Arrival) -> None:
        queue = self.queues[arrival.queue]
        spec = queue.spec
        interval = min(int(arrival.at_s // self.interval_s), self.intervals - 1)
        queue.counts[interval].offered += 1
        last_agent = None
        if arrival.returning is not None and queue.answered_by:
            last_agent = queue.answered_by[int(arrival.returning * len(queue.answered_by))]
        now = self.now()
        contact = ContactState(
            contact_id=contact_id, work_kind=spec.work_kind, required_skills=spec.required_skills,
            team_id=queue.team_id, priority=spec.priority, vip=arrival.vip, waiting_since=now,
            last_agent_id=last_agent,
        )
        waiting = _Waiting(arrival, contact, queue, interval)
        if self.offer(waiting, now):
            return
        waiting.sort_key = routing.contact_order_key(contact, now, self.rules)
        insort(queue.waiting, (waiting.sort_key, waiting))
        if arrival.patience_s is not None:
            self.at(arrival.patience_s, self.abandon, waiting)
        if last_agent is not None:
            self.at(self.rules.sticky_wait.total_seconds(), self.offer_again, waiting)
        if self.rules.overflow_after is not None:
            self.at(self.rules.overflow_after.total_seconds(), self.offer_again, waiting)

    def offer(self, waiting: _Waiting, now: datetime) -> bool:
        """policy.choose_agent among the free candidates (and the customer's last agent, busy or not)."""
        queue, contact = waiting.queue, waiting.contact
        candidates = [self.states[agent_id] for agent_id in queue.free]
        last = contact.last_agent_id
        if last is not None and last not in queue.free:
            candidates.append(self.states[last])
        if not candidates:
            return False
        choice = routing.choose_agent(contact, candidates, now, self.rules, self.policy)
        if choice is None:
            return False
        self.assign(waiting, self.agents[choice.agent_id - 1], now)
        return True

    def offer_again(self, waiting: _Waiting) -> None:
        if waiting.open and waiting.sort_key:
            self.offer(waiting, self.now())

    def leave_queue(self, waiting: _Waiting) -> None:
        queue = waiting.queue.waiting
        index = bisect_left(queue, (waiting.sort_key,))
        if index < len(queue) and queue[index][1] is waiting:
            del queue[index]

    def assign(self, waiting: _Waiting, agent: _Agent, now: datetime) -> None:
        waiting.open = False
        if waiting.sort_key:
            self.leave_queue(waiting)
        queue, arrival = waiting.queue, waiting.arrival
        wait = self.env.now - arrival.at_s
        counts = queue.counts[waiting.interval]
        counts.answered += 1
        counts.answered_wait_s += wait
        if wait <= queue.spec.target_s:
            counts.answered_in_target += 1
        queue.answered_by.append(agent.agent_id)
        kind = queue.kind
        handle = arrival.handle_s * (1 + queue.spec.concurrency_slowdown * agent.load[kind])
        agent.load[kind] += 1
        self.update_agent(agent, now)
        self.at(handle, self.finish, agent, kind)

    def abandon(self, waiting: _Waiting) -> None:
        if not waiting.open:
            return
        waiting.open = False
        self.leave_queue(waiting)
        counts = waiting.queue.counts[waiting.interval]
        wait = self.env.now - waiting.arrival.at_s
        counts.abandoned += 1
        counts.abandoned_wait_s += wait
        if wait <= waiting.queue.spec.target_s:
            counts.abandoned_in_target += 1

    def finish(self, agent: _Agent, kind: str) -> None:
        agent.load[kind] -= 1
        now = self.now()
        self.update_agent(agent, now)
        self.fill(agent, now)

    def shift_starts(self, agent: _Agent) -> None:
        agent.on_shift = True
        now = self.now()
        self.update_agent(agent, now)
        self.fill(agent, now)

    def shift_ends(self, agent: _Agent) -> None:
        agent.on_shift = False
        self.update_agent(agent, self.now())

    @staticmethod
    def in_order(entries: Iterable[tuple[Any, _Waiting]], seen: dict[int, _Waiting]) -> Iterator[ContactState]:
        """The queued contacts, already in contact order, remembering each one handed out."""
        for _, waiting in entries:
            seen[waiting.contact.contact_id] = waiting
            yield waiting.contact

    def fill(self, agent: _Agent, now: datetime) -> None:
        """The agent gained capacity: policy.next_contact_for over their queues, until they are full."""
        while agent.on_shift:
            state = self.states[agent.agent_id]
            lists = [q.waiting for q in agent.queues if q.waiting and routing.has_capacity(state, q.kind)]
            if not lists:
                return
            entries = lists[0] if len(lists) == 1 else heapq.merge(*lists)
            by_id: dict[int, _Waiting] = {}
            contact = routing.next_contact_for(state, self.in_order(entries, by_id), now, self.rules, self.policy,
                                               presorted=True, agents_by_id=self.states)
            if contact is None:
                return
            self.assign(by_id[contact.contact_id], agent, now)


def simulate(
    scenario: Scenario,
    *,
    policies: Sequence[str] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    confidence: float = 0.95,
) -> SimulationReport:
    """Run every policy on the same simulated days; arguments override the scenario's own."""
    policies = tuple(policies or scenario.policies)
    for name in policies:
        routing.ranking_key(name)
    replications = scenario.replications if replications is None else replications
    if replications < 1:
        raise ScenarioError("replications must be at least 1")
    seed = scenario.seed if seed is None else seed
    started = perf_counter()
    runs: dict[str, list[Replication]] = {name: [] for name in policies}
    contacts = 0
    for r in range(replications):
        day = draw_day(scenario, random.Random(f"{seed}:{r}"))
        for name in policies:
            runs[name].append(_Day(scenario, name, day).run())
            contacts += len(day)
    results = tuple(PolicyResult(name, tuple(runs[name]), confidence) for name in policies)
    return SimulationReport(scenario, results, seed, perf_counter() - started, contacts)
