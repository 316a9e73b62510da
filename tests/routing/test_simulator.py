"""The simulator: validated against Erlang C, then abandonment, shifts, overflow, policy comparison and
the `touchpoint simulate` command with its error messages."""

import copy
import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from touchpoint.analytics import staffing
from touchpoint.routing import policy
from touchpoint.routing.simulator import Scenario, ScenarioError, simulate, student_t_quantile

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "scenarios" / "day.json"
AGENTS, AHT_S, TARGET_S = 10, 180.0, 20


def one_skill(load: float, *, intervals: int = 16, replications: int = 20, patience: Any = None) -> dict:
    """Erlang C's world: one voice queue, Poisson arrivals at `load` Erlangs, exponential handle times,
    identical agents all day (their shift outlasts the arrivals, so the last callers are answered)."""
    per_interval = load * 1800 / AHT_S
    return {
        "interval_minutes": 30, "service_level_target_s": TARGET_S, "seed": 2025, "replications": replications,
        "queues": [{"name": "support", "work_kind": "voice", "required_skills": {"support": 1},
                    "arrivals": [per_interval] * intervals,
                    "handle_time": {"distribution": "exponential", "mean_s": AHT_S}, "patience": patience}],
        "agents": [{"name": "support", "count": AGENTS, "skills": {"support": 3},
                    "capacity": {"voice": 1, "chat": 0, "message": 0},
                    "shift": {"start": "00:00", "end": f"{intervals // 2 + 4:02d}:00"}}],
    }


# Six comparisons (SL and ASA at three loads) share one family-wise error of about 5 %: each uses a
# 99 % interval (Bonferroni: 0.05 / 6 ≈ 0.0083). The first half hour is left out as warm-up, since
# Erlang C describes a desk in steady state and the simulated day starts empty.
@pytest.mark.parametrize("occupancy", [0.5, 0.7, 0.85])
def test_service_level_and_asa_agree_with_erlang_c(occupancy: float) -> None:
    load = occupancy * AGENTS
    report = simulate(Scenario.from_dict(one_skill(load)), confidence=0.99)
    result = report.results[0]
    sl, asa = result.estimate("service_level", skip_intervals=1), result.estimate("asa_s", skip_intervals=1)
    expected_sl = staffing.service_level(AGENTS, load, AHT_S, TARGET_S)
    expected_asa = staffing.asa(AGENTS, load, AHT_S)
    assert sl.n == 20
    assert sl.covers(expected_sl), f"SL {sl.mean:.4f} ± {sl.half_width:.4f}, Erlang C {expected_sl:.4f}"
    assert asa.covers(expected_asa), f"ASA {asa.mean:.2f} ± {asa.half_width:.2f}, Erlang C {expected_asa:.2f}"
    # and the interval is sharp enough to tell one agent more or less apart
    for other in (AGENTS - 1, AGENTS + 1):
        assert not sl.covers(staffing.service_level(other, load, AHT_S, TARGET_S))
    day = result.day(skip_intervals=1)
    assert day.occupancy == pytest.approx(occupancy, abs=0.02)
    assert day.abandoned == 0 and day.unanswered == 0
    assert day.service_level == day.service_level_v1  # no abandonment: V1 and V2 agree


def test_patience_brings_abandonment_and_splits_v1_from_v2() -> None:
    scenario = Scenario.from_dict(one_skill(9.5, intervals=8, replications=4,
                                            patience={"distribution": "exponential", "mean_s": 60}))
    day = simulate(scenario).results[0].day()
    assert day.abandoned > 0
    assert 0 < day.abandonment_rate < 0.5
    assert day.abandoned_in_target > 0 and day.service_level > day.service_level_v1
    assert day.offered == day.answered + day.abandoned + day.unanswered
    assert 0 < day.abandoned_wait_s / day.abandoned < 600


def test_contacts_nobody_is_left_to_answer_are_counted_unanswered() -> None:
    data = one_skill(5, intervals=2, replications=1)
    data["agents"][0]["shift"] = {"start": "00:00", "end": "00:30"}
    result = simulate(Scenario.from_dict(data)).results[0]
    first, second = result.interval(0), result.interval(1)
    assert first.unanswered == 0
    assert second.answered == 0 and second.unanswered == second.offered > 0
    assert second.service_level == 0
    # after their shift the agents only finish the calls they hold: logged in, and busy all that time
    assert 0 < second.staffed_s < AGENTS * 1800
    assert second.busy_s == pytest.approx(second.staffed_s) and 0 < first.occupancy < 1


def overflow_desk(overflow_after_s: float | None) -> Scenario:
    """Billing calls for a billing team of two; a generalist team of six with a little billing skill."""
    return Scenario.from_dict({
        "interval_minutes": 30, "seed": 5, "replications": 3,
        "routing": {"overflow_after_s": overflow_after_s, "overflow_team": "generalists"},
        "queues": [{"name": "billing", "work_kind": "voice", "required_skills": {"billing": 3}, "team": "billing",
                    "arrivals": [40] * 4, "handle_time": {"distribution": "exponential", "mean_s": 300},
                    "patience": {"distribution": "exponential", "mean_s": 240}}],
        "agents": [
            {"name": "billing", "count": 2, "skills": {"billing": 4}, "teams": ["billing"]},
            {"name": "generalists", "count": 6, "skills": {"billing": 1}, "teams": ["generalists"]},
        ],
    })


def test_overflow_lets_the_overflow_team_take_contacts_after_the_wait() -> None:
    closed = simulate(overflow_desk(None)).results[0].day()
    widened = simulate(overflow_desk(60)).results[0].day()
    assert closed.offered == widened.offered  # the same callers: common random numbers
    assert widened.answered > closed.answered
    assert widened.abandonment_rate < closed.abandonment_rate / 2
    assert widened.asa_s < closed.asa_s


def test_the_simulator_decides_through_the_routing_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"choose_agent": 0, "next_contact_for": 0, "contact_order_key": 0}
    for name in calls:
        real = getattr(policy, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(policy, name, spy)
    day = simulate(Scenario.from_dict(one_skill(9, intervals=4, replications=1))).results[0].day()
    assert calls["choose_agent"] > 0 and calls["next_contact_for"] > 0 and calls["contact_order_key"] > 0
    assert calls["choose_agent"] + calls["next_contact_for"] >= day.answered


def test_a_policy_comparison_runs_every_policy_on_the_same_days() -> None:
    scenario = Scenario.from_file(EXAMPLE)
    report = simulate(scenario, policies=["best_skill", "longest_idle"], replications=2)
    assert [r.policy for r in report.results] == ["best_skill", "longest_idle"]
    best, idle = report.results
    assert best.day().offered == idle.day().offered > 1000
    for result in report.results:
        assert len(result.replications) == 2
        sl = result.estimate("service_level")
        assert 0 < sl.mean <= 1 and sl.half_width is not None
        assert all(result.interval(i).offered > 0 for i in range(scenario.intervals))
    assert report.contacts == 2 * 2 * (best.day().offered // 2)


def test_the_same_seed_gives_the_same_day() -> None:
    scenario = Scenario.from_dict(one_skill(8, intervals=4, replications=2))
    first, second = simulate(scenario).results[0].day(), simulate(scenario).results[0].day()
    assert first == second
    assert simulate(scenario, seed=99).results[0].day() != first


def test_student_t_quantiles() -> None:
    assert student_t_quantile(0.95, 1) == pytest.approx(12.706, abs=1e-3)
    assert student_t_quantile(0.95, 9) == pytest.approx(2.262, abs=1e-3)
    assert student_t_quantile(0.99, 9) == pytest.approx(3.250, abs=1e-3)
    assert student_t_quantile(0.95, 19) == pytest.approx(2.093, abs=1e-3)
    assert student_t_quantile(0.95, 1000) == pytest.approx(1.962, abs=1e-3)


# ---- the command --------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("simulate", *args, stdout=out)
    return out.getvalue()


def test_the_command_on_the_example_day() -> None:
    text = run(str(EXAMPLE), "--replications", "2", "--policy", "best_skill", "least_occupied")
    assert "Policy best_skill" in text and "Policy least_occupied" in text and "Policy longest_idle" not in text
    assert "08:00" in text and "19:30" in text and "billing voice" in text
    assert "Day summary (mean ± 95 % confidence interval over 2 days)" in text
    data = json.loads(run(str(EXAMPLE), "--replications", "1", "--seed", "3", "--json"))
    assert data["seed"] == 3 and data["replications"] == 1
    assert [p["policy"] for p in data["policies"]] == ["best_skill", "longest_idle", "least_occupied"]
    first = data["policies"][0]
    assert len(first["intervals"]) == 24 and first["intervals"][0]["start"] == "08:00"
    assert first["day"]["offered"] == sum(i["offered"] for i in first["intervals"])
    assert first["estimates"]["service_level"]["half_width"] is None  # one day: no interval


def broken(tmp_path: Path, change: Any) -> str:
    data = json.loads(EXAMPLE.read_text())
    change(data)
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("agents"), "'agents' is missing or empty"),
    (lambda d: d.__setitem__("agents", []), "'agents' is missing or empty"),
    (lambda d: [g.__setitem__("count", 0) for g in d["agents"]], "no agents"),
    (lambda d: d["queues"][1].pop("arrivals"), "queue 'billing voice': 'arrivals' is missing"),
    (lambda d: d["queues"][0]["arrivals"].__setitem__(3, -5), "queue 'orders voice': arrivals[3] must be"),
    (lambda d: d["queues"][0].pop("handle_time"), "queue 'orders voice': 'handle_time' is missing"),
    (lambda d: d["queues"][0]["handle_time"].__setitem__("mean_s", -1), "'mean_s' must be a number"),
    (lambda d: d["queues"][0].__setitem__("work_kind", "fax"), "'work_kind' must be one of voice, chat, message"),
    (lambda d: d["routing"].__setitem__("policies", ["fastest"]), "unknown routing policy 'fastest'"),
    (lambda d: d.__setitem__("interval_minutes", 20), "interval_minutes must be 15, 30 or 60"),
    (lambda d: d["agents"][0].__setitem__("shift", {"start": "17:00", "end": "09:00"}), "ends before it starts"),
    (lambda d: d["agents"][0].__setitem__("skills", {"orders": 9}), "proficiency 1-5"),
])
def test_the_command_explains_a_bad_scenario(tmp_path: Path, change: Any, message: str) -> None:
    path = broken(tmp_path, change)
    with pytest.raises(CommandError, match=re.escape(message)) as info:
        run(path)
    assert str(info.value).startswith(path)


def test_the_command_explains_bad_files_and_options(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read the scenario file"):
        run(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"queues": [}')
    with pytest.raises(CommandError, match="not valid JSON: .* at line 1, column 13"):
        run(str(bad))
    with pytest.raises(CommandError, match="unknown routing policy 'fastest'; choose one of: best_skill"):
        run(str(EXAMPLE), "--policy", "fastest")
    with pytest.raises(CommandError, match="--replications must be at least 1"):
        run(str(EXAMPLE), "--replications", "0")


def test_scenario_defaults() -> None:
    data = copy.deepcopy(one_skill(5, intervals=2))
    data.pop("seed")
    data.pop("replications")
    data["agents"][0].pop("capacity")
    data["agents"][0].pop("shift")
    scenario = Scenario.from_dict(data)
    assert scenario.seed == 1 and scenario.replications == 10 and scenario.policies == ("best_skill",)
    assert dict(scenario.agent_groups[0].capacity) == {"voice": 1, "chat": 3, "message": 10}
    assert (scenario.agent_groups[0].shift_start_s, scenario.agent_groups[0].shift_end_s) == (0, 3600)
    assert scenario.rules.sticky_wait.total_seconds() == 30 and scenario.rules.overflow_after is None
    with pytest.raises(ScenarioError, match="a scenario is a JSON object"):
        Scenario.from_dict([1, 2])
