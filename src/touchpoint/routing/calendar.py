"""Business calendars: when a desk is open, and how much *working* time lies between two moments.

SLA targets are promises in business time ("first response within 4 business hours"), so every due
time is computed here: start + duration, counting only the hours the desk is open. Pure Python on
plain values (no database, no clock): the SLA engine (`routing.sla`), the router and the simulator
ask the same calendar the same question and get the same answer.

The calendar is built from a workspace's settings, in the format `core.clock.within_business_hours`
reads: the time zone, weekly hours ``{"mon": [["09:00", "17:00"]], ...}`` (days left out are closed,
a range may end at ``"23:59"`` or ``"24:00"`` to mean midnight), custom holidays as ISO dates, and
optionally a public-holiday calendar of the ``holidays`` package named by country and subdivision
("US", "GB-ENG", "DE-BY").

Rules, precisely
    - Hours are wall-clock times in the workspace's time zone; holidays are local dates. Business time
      is real elapsed time inside the open ranges, so across a DST change an open range that spans
      the change is an hour shorter or longer, and a 9-17 day stays eight hours.
    - An opening time the clocks skip (02:30 on a spring-forward night) opens when the clocks jump past
      it; a closing time they skip closes at that jump. An opening time that happens twice (01:30 on a
      fall-back night) opens the first time, a closing time that happens twice closes the second time.
    - ``add_business_time(start, d)`` is the *earliest* moment by which ``d`` of working time has
      passed since ``start``: a duration used up exactly at closing time is due at closing time, not
      at the next opening. ``add_business_time(start, 0)`` is ``start``.
    - A calendar open every day around the clock with no holidays counts calendar time (no stepping).
    - A calendar with no working hours at all never accrues business time: ``business_time_between``
      is zero and ``is_open`` false, and ``add_business_time`` and ``next_open`` raise `NoWorkingHours`
      (a due time that never comes is a setting to fix, not a value to store). The same error is raised
      when hours exist but every working day for two years is a holiday.

Efficiency: the calendar steps by whole open ranges, one local day at a time, and keeps each day's
ranges (already in UTC) in a small cache, so a due time a working week away costs a few dozen steps.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import holidays as public_holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_SECONDS = 24 * 3600
# Looking this far ahead for working time and finding none means the settings are wrong.
MAX_CLOSED_DAYS = 731
_CACHED_DAYS = 2048

# A local day's open ranges, in UTC, earliest first.
Ranges = tuple[tuple[datetime, datetime], ...]
WeeklyHours = Mapping[str, Sequence[Sequence[str]]]


class CalendarError(ValueError):
    """A business calendar that cannot answer; the message says what to change."""


class InvalidCalendar(CalendarError):
    """Hours, a time zone, a holiday date or a holiday calendar code that cannot be read."""


class NoWorkingHours(CalendarError):
    """No working time to count: a business-hours due time would never come."""


class BusinessCalendar:
    """The desk's opening hours in its own time zone, with its closed days. Immutable once built."""

    def __init__(
        self,
        *,
        timezone: str = "UTC",
        hours: WeeklyHours | None = None,
        holidays: Iterable[str | date] = (),
        holiday_country: str = "",
    ) -> None:
        self.timezone = timezone or "UTC"
        self._tz = _zone(self.timezone)
        self._week = _weekly_ranges(hours or {})
        self._custom_holidays = frozenset(_holiday_date(value) for value in holidays)
        self._country, self._subdivision = _holiday_calendar(holiday_country)
        self._days: dict[date, Ranges] = {}
        self.has_working_hours = any(self._week)
        self.always_open = (
            all(day == ((0, _DAY_SECONDS),) for day in self._week)
            and not self._custom_holidays
            and not self._country
        )

    @classmethod
    def around_the_clock(cls, timezone: str = "UTC") -> BusinessCalendar:
        """Calendar time: what an SLA target outside business hours counts."""
        return cls(timezone=timezone, hours={day: [["00:00", "24:00"]] for day in WEEKDAYS})

    @classmethod
    def for_workspace(cls, workspace: Any) -> BusinessCalendar:
        """From anything with a workspace's `timezone`, `business_hours`, `holidays` and
        `holiday_country` (the model row, or a plain stand-in in tests)."""
        return cls(
            timezone=workspace.timezone,
            hours=workspace.business_hours,
            holidays=workspace.holidays or (),
            holiday_country=getattr(workspace, "holiday_country", "") or "",
        )

    def __repr__(self) -> str:
        mode = "24/7" if self.always_open else f"{sum(len(day) for day in self._week)} weekly ranges"
        return f"<BusinessCalendar {self.timezone} {mode}>"

    # ---- questions ---------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        at = _utc(at)
        if self.always_open:
            return True
        local_day = at.astimezone(self._tz).date()
        return any(
            start <= at < end
            for offset in (-1, 0, 1)
            for start, end in self._ranges_on(local_day + timedelta(days=offset))
        )

    def is_holiday(self, day: date) -> bool:
        """A closed day whatever the weekly hours say: a custom date or a public holiday."""
        if day in self._custom_holidays:
            return True
        return bool(self._country) and day in _public_holiday_dates(self._country, self._subdivision, day.year)

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when the desk is open, else the moment it next opens (UTC)."""
        at = _utc(at)
        if self.always_open:
            return at
        self._require_working_hours()
        return next(self._open_ranges(at))[0]

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The due time (UTC): the earliest moment by which `duration` of working time has passed."""
        start = _utc(start)
        if duration < timedelta(0):
            raise ValueError(f"A duration to add must not be negative, not {duration}.")
        if self.always_open or not duration:
            return start + duration
        self._require_working_hours()
        left = duration
        for opens, closes in self._open_ranges(start):
            if left <= closes - opens:
                return opens + left
            left -= closes - opens
        raise AssertionError("unreachable: _open_ranges raises when it finds no working time")

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end`; zero when `end` is not after `start`."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        return sum((min(closes, end) - opens for opens, closes in self.open_ranges(start, end)), timedelta(0))

    def open_ranges(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open ranges overlapping [start, end), clipped to `start` (their ends may pass `end`)."""
        start, end = _utc(start), _utc(end)
        if self.always_open:
            if end > start:
                yield start, end
            return
        if not self.has_working_hours:
            return
        for opens, closes in self._open_ranges(start, until=end):
            if opens >= end:
                return
            yield opens, closes

    # ---- stepping ------------------------------------------------------------------------------

    def _require_working_hours(self) -> None:
        if not self.has_working_hours:
            raise NoWorkingHours(
                "The business calendar has no working hours on any day, so business time never passes "
                "and a business-hours target would never come due. Add opening hours for at least one day, "
                "or have the SLA policy count calendar time."
            )

    def _open_ranges(self, start: datetime, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        """Open ranges from `start` on, earliest first, never overlapping (the first clipped to `start`).
        Unbounded unless `until` is given; unbounded, it gives up after MAX_CLOSED_DAYS without work."""
        day = start.astimezone(self._tz).date() - timedelta(days=1)
        last_day = until.astimezone(self._tz).date() + timedelta(days=1) if until else None
        cursor, closed_days = start, 0
        while last_day is None or day <= last_day:
            closed_days += 1
            for opens, closes in self._ranges_on(day):
                if closes > cursor:
                    yield max(opens, cursor), closes
                    cursor, closed_days = closes, 0
            if last_day is None and closed_days > MAX_CLOSED_DAYS:
                raise NoWorkingHours(
                    f"The business calendar has no working time in the {MAX_CLOSED_DAYS} days after "
                    f"{start:%Y-%m-%d}: every working day is a holiday. Check the holiday list."
                )
            day += timedelta(days=1)

    def _ranges_on(self, day: date) -> Ranges:
        ranges = self._days.get(day)
        if ranges is None:
            ranges = () if self.is_holiday(day) else self._to_utc(day, self._week[day.weekday()])
            if len(self._days) >= _CACHED_DAYS:
                self._days.clear()
            self._days[day] = ranges
        return ranges

    def _to_utc(self, day: date, ranges: tuple[tuple[int, int], ...]) -> Ranges:
        if not ranges:
            return ()
        midnight = datetime.combine(day, time())
        offset = self._tz.utcoffset(midnight)
        if offset == self._tz.utcoffset((midnight + timedelta(days=1)).replace(fold=1)):
            # No clock change today (nearly every day): plain arithmetic, no zone lookups.
            start = (midnight - offset).replace(tzinfo=UTC)
            return tuple((start + timedelta(seconds=opens), start + timedelta(seconds=closes))
                         for opens, closes in ranges)
        instants = ((self._instant(day, opens, opening=True), self._instant(day, closes, opening=False))
                    for opens, closes in ranges)
        return tuple((opens, closes) for opens, closes in instants if opens < closes)

    def _instant(self, day: date, seconds: int, *, opening: bool) -> datetime:
        """The real moment a local wall-clock time of `day` stands for (see the module's DST rules)."""
        wall = datetime.combine(day, time()) + timedelta(seconds=seconds)
        first = wall.replace(tzinfo=self._tz).astimezone(UTC)
        second = wall.replace(tzinfo=self._tz, fold=1).astimezone(UTC)
        if first == second:
            return first
        if first < second:  # clocks went back: this wall time happens twice
            return first if opening else second
        return _clock_change(self._tz, second, first)  # clocks went forward over it


# ---- building blocks ---------------------------------------------------------------------------


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"A business calendar needs timezone-aware datetimes, not {at!r}.")
    return at.astimezone(UTC)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidCalendar(f"Unknown time zone {name!r}; use an IANA name such as \"Europe/Berlin\".") from error


def _clock_change(zone: zoneinfo.ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The moment the UTC offset changes between `before` (old offset) and `after` (new offset), to
    the second: where a skipped wall-clock time really begins or ends."""
    old_offset = before.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == old_offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _weekly_ranges(hours: WeeklyHours) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Seconds after local midnight per weekday (Monday first), sorted and merged."""
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise InvalidCalendar(f"Unknown day {unknown[0]!r} in business hours; use {', '.join(WEEKDAYS)}.")
    return tuple(_day_ranges(day, hours.get(day) or ()) for day in WEEKDAYS)


def _day_ranges(day: str, ranges: Sequence[Sequence[str]]) -> tuple[tuple[int, int], ...]:
    parsed = []
    for pair in ranges:
        if isinstance(pair, str) or len(pair) != 2:
            raise InvalidCalendar(f"Business hours for {day!r}: each range is [opens, closes], e.g. [\"09:00\", \"17:00\"].")
        opens, closes = _seconds(day, pair[0], closing=False), _seconds(day, pair[1], closing=True)
        if opens >= closes:
            raise InvalidCalendar(
                f"Business hours for {day!r}: {pair[0]}-{pair[1]} closes before it opens. Split a night "
                f"shift over two days, e.g. \"22:00\"-\"23:59\" and \"00:00\"-\"06:00\" the next day."
            )
        parsed.append((opens, closes))
    merged: list[tuple[int, int]] = []
    for opens, closes in sorted(parsed):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return tuple(merged)


def _seconds(day: str, text: Any, *, closing: bool) -> int:
    """"HH:MM" as seconds after midnight. A closing "23:59" or "24:00" means midnight, as the
    workspace format (and `core.clock.within_business_hours`) has the last minute open."""
    hour, _, minute = str(text).partition(":")
    if not (len(hour) == 2 and len(minute) == 2 and hour.isdigit() and minute.isdigit()):
        raise InvalidCalendar(f"Business hours for {day!r}: {text!r} is not a time; write HH:MM, e.g. \"09:00\".")
    seconds = int(hour) * 3600 + int(minute) * 60
    if closing and text in ("23:59", "24:00"):
        return _DAY_SECONDS
    if int(hour) > 23 or int(minute) > 59:
        raise InvalidCalendar(f"Business hours for {day!r}: {text!r} is not a time of day (00:00 to 23:59).")
    return seconds


def _holiday_date(value: str | date) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise InvalidCalendar(f"Holiday {value!r} is not a date; write it as YYYY-MM-DD, e.g. \"2025-12-24\".") from error


def _holiday_calendar(code: str) -> tuple[str, str]:
    """"DE-BY" -> ("DE", "BY"), checked against the `holidays` package so a typo fails when saved."""
    country, _, subdivision = (code or "").strip().upper().partition("-")
    if country and not _is_public_calendar(country, subdivision):
        raise InvalidCalendar(
            f"Unknown public holiday calendar {code!r}; use a country code such as \"US\", optionally with a "
            f"subdivision such as \"DE-BY\" or \"GB-ENG\"."
        )
    return country, subdivision


@lru_cache(maxsize=256)
def _is_public_calendar(country: str, subdivision: str) -> bool:
    try:
        public_holidays.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=1024)
def _public_holiday_dates(country: str, subdivision: str, year: int) -> frozenset[date]:
    """One year of a country's public holidays (observed days included), shared by every calendar."""
    return frozenset(public_holidays.country_holidays(country, subdiv=subdivision or None, years=year))
