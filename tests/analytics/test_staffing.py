"""Erlang C staffing against KPIS.md's worked check and its edge cases."""

import math
from decimal import Decimal
from fractions import Fraction

import pytest

from touchpoint.analytics.staffing import (
    asa,
    erlang_b,
    erlang_c,
    occupancy,
    offered_load,
    required_agents,
    scheduled_agents,
    service_level,
)


def test_the_kpis_worked_check() -> None:
    # 100 calls in 30 min, AHT 180 s, 80 % in 20 s, maximum occupancy 85 %, shrinkage 30 %
    staffing = required_agents(100, 180, 1800, 0.80, 20, max_occupancy=0.85, shrinkage=0.3)
    assert staffing.offered_load == pytest.approx(10.0)
    assert staffing.agents == 14
    assert round(100 * staffing.service_level, 1) == 88.8
    assert round(100 * staffing.occupancy, 1) == 71.4
    assert staffing.scheduled == 20
    # 13 agents would miss the target: 14 is the smallest N
    assert service_level(13, 10.0, 180, 20) < 0.80 <= service_level(14, 10.0, 180, 20)


def test_erlang_c_against_the_textbook_closed_form() -> None:
    # for small N the direct formula is safe, so it can check the recursion
    for n, a in ((1, 0.5), (3, 2.0), (14, 10.0), (20, 17.3)):
        top = a**n / math.factorial(n) * n / (n - a)
        direct = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
        assert erlang_c(n, a) == pytest.approx(direct, rel=1e-12)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: Pw = rho
    assert asa(1, 0.5, 100) == pytest.approx(100.0)  # M/M/1: Wq = rho / (1 - rho) * AHT
    assert erlang_b(2, 1.0) == pytest.approx(0.2)


def test_no_steady_state_when_the_agents_do_not_cover_the_load() -> None:
    for n in (9, 10):
        assert erlang_c(n, 10.0) == 1.0
        assert service_level(n, 10.0, 180, 20) == 0.0
        assert asa(n, 10.0, 180) == math.inf
        assert occupancy(n, 10.0) == 1.0
    assert occupancy(11, 10.0) == pytest.approx(10 / 11)


def test_a_thousand_agents_without_overflow() -> None:
    pw = erlang_c(1000, 950.0)
    assert 0 < pw < 1 and math.isfinite(pw)
    assert 0 < service_level(1000, 950.0, 180, 20) < 1
    assert math.isfinite(asa(1000, 950.0, 180))
    big = required_agents(10_000, 180, 1800, 0.8, 20)  # A = 1000 Erlangs
    assert 1000 < big.agents < 1100 and big.service_level >= 0.8
    assert service_level(big.agents - 1, 1000.0, 180, 20) < 0.8


def test_scheduled_agents_round_up_in_exact_arithmetic() -> None:
    assert 21 / (1 - 0.3) > 30  # the float trap the exact arithmetic avoids
    assert scheduled_agents(21, 0.3) == 30
    assert scheduled_agents(21, Decimal("0.3")) == 30
    assert scheduled_agents(21, Fraction(3, 10)) == 30
    assert scheduled_agents(22, 0.3) == 32
    assert scheduled_agents(14, 0) == 14


def test_occupancy_cap_can_be_the_binding_target() -> None:
    loose = required_agents(100, 180, 1800, 0.5, 60)
    capped = required_agents(100, 180, 1800, 0.5, 60, max_occupancy=0.7)
    assert capped.agents > loose.agents
    assert capped.occupancy <= 0.7 and capped.agents == math.ceil(10 / 0.7)


def test_no_contacts_need_no_agents_and_bad_targets_are_refused() -> None:
    assert required_agents(0, 180, 1800, 0.8, 20).agents == 0
    assert offered_load(100, 180, 1800) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="service-level target"):
        required_agents(100, 180, 1800, 1.0, 20)
    with pytest.raises(ValueError, match="shrinkage"):
        scheduled_agents(10, 1)
    with pytest.raises(ValueError, match="maximum occupancy"):
        required_agents(100, 180, 1800, 0.8, 20, max_occupancy=0)
