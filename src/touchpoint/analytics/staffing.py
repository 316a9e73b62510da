"""Erlang C staffing, exactly as KPIS.md defines it (section "Staffing").

The formulas go through the Erlang B recursion ``B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1))`` and
never compute ``A^N`` or ``N!``, which overflow a float long before a large desk's agent counts
(N = 1000 is an ordinary hour for a big contact center). With N ≤ A the queue has no steady state and
grows without bound, so it is reported as Pw = 1, SL = 0, ASA = ∞, occupancy = 1 instead of a
meaningless negative number.

Erlang C assumes Poisson arrivals, exponential handle times, one skill, first come first served and
no abandonment. `routing.simulator` reproduces those numbers under the same assumptions (its tests
show it) and goes beyond them: skills, shifts, patience, chat concurrency, routing policies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

Number = int | float | Decimal | Fraction


def offered_load(contacts: float, aht_s: float, interval_s: float) -> float:
    """Erlangs: the agents that would be busy all the time if the work were spread perfectly."""
    if interval_s <= 0:
        raise ValueError("the interval must be longer than 0 seconds")
    return contacts * aht_s / interval_s


def erlang_b(n: int, a: float) -> float:
    """Blocking probability with n agents and load a, by the recursion (stable for any n)."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def _erlang_c_from_b(n: int, a: float, b: float) -> float:
    if n <= a:
        return 1.0
    return n * b / (n - a * (1 - b))


def erlang_c(n: int, a: float) -> float:
    """Pw: the probability that a contact waits at all."""
    return _erlang_c_from_b(n, a, erlang_b(n, a))


def _service_level_from_pw(n: int, a: float, pw: float, aht_s: float, target_s: float) -> float:
    if n <= a:
        return 0.0
    return 1 - pw * math.exp(-(n - a) * target_s / aht_s)


def service_level(n: int, a: float, aht_s: float, target_s: float) -> float:
    """The share answered within `target_s` seconds (no abandonment, so V1 = V2 here)."""
    return _service_level_from_pw(n, a, erlang_c(n, a), aht_s, target_s)


def asa(n: int, a: float, aht_s: float) -> float:
    """Average speed of answer in seconds, over every contact (those that did not wait count as 0)."""
    if n <= a:
        return math.inf
    return erlang_c(n, a) * aht_s / (n - a)


def occupancy(n: int, a: float) -> float:
    if n <= a:
        return 1.0
    return a / n


def scheduled_agents(agents: int, shrinkage: Number) -> int:
    """ceil(N / (1 - shrinkage)) in exact arithmetic: in floating point 21 / (1 - 0.3) is
    30.000000000000004, which would schedule a 31st person for nothing. A float shrinkage is read by
    its shortest decimal form (0.3 means 3/10, as the supervisor typed it)."""
    share = Fraction(str(shrinkage)) if isinstance(shrinkage, float) else Fraction(shrinkage)
    if not 0 <= share < 1:
        raise ValueError("shrinkage must be at least 0 and below 1 (e.g. 0.3 for 30 %)")
    return math.ceil(Fraction(agents) / (1 - share))


@dataclass(frozen=True)
class Staffing:
    """What one interval needs: agents on the phones, and the people to schedule for them."""

    offered_load: float
    agents: int  # N: working agents at any moment
    service_level: float
    asa_s: float
    occupancy: float
    scheduled: int  # N grossed up for shrinkage (breaks, training, absence)


def required_agents(
    contacts: float,
    aht_s: float,
    interval_s: float,
    target_sl: float,
    target_s: float,
    max_occupancy: float | None = None,
    shrinkage: Number = 0,
) -> Staffing:
    """The smallest N that meets the service-level target and, when given, the maximum occupancy.

    B(N) is carried forward while N grows, so the search costs one recursion step per N tried even
    for a thousand agents.
    """
    if not 0 < target_sl < 1:
        raise ValueError("the service-level target must be between 0 and 1 (e.g. 0.8 for 80 %)")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError("the maximum occupancy must be above 0 and at most 1 (e.g. 0.85 for 85 %)")
    if contacts < 0 or aht_s <= 0 or target_s < 0:
        raise ValueError("contacts must not be negative, AHT must be positive, the target must not be negative")
    a = offered_load(contacts, aht_s, interval_s)
    if a == 0:
        return Staffing(0.0, 0, 1.0, 0.0, 0.0, 0)
    n, b = 0, 1.0
    while True:
        n += 1
        b = a * b / (n + a * b)
        if n <= a or (max_occupancy is not None and a / n > max_occupancy):
            continue
        pw = _erlang_c_from_b(n, a, b)
        sl = _service_level_from_pw(n, a, pw, aht_s, target_s)
        if sl >= target_sl:
            return Staffing(a, n, sl, pw * aht_s / (n - a), a / n, scheduled_agents(n, shrinkage))
