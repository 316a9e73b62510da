"""Business calendars on plain values: nights, weekends, holidays, DST both ways, no hours, 24/7."""

import time as stopwatch
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from touchpoint.core.clock import within_business_hours
from touchpoint.routing.calendar import BusinessCalendar, InvalidCalendar, NoWorkingHours

WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)


def local(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def office(zone: str = "UTC", **kwargs) -> BusinessCalendar:
    return BusinessCalendar(timezone=zone, hours=WEEKDAYS_9_TO_5, **kwargs)


# ---- nights, weekends, the edges of a day -----------------------------------------------------------


def test_a_due_time_carries_over_the_night():
    # Monday 3 March 2025, 16:00: one hour today, one tomorrow morning.
    assert office().add_business_time(utc(2025, 3, 3, 16), 2 * HOUR) == utc(2025, 3, 4, 10)


def test_a_due_time_carries_over_the_weekend():
    assert office().add_business_time(utc(2025, 3, 7, 16, 30), HOUR) == utc(2025, 3, 10, 9, 30)


def test_time_started_while_closed_counts_from_the_next_opening():
    calendar = office()
    assert calendar.add_business_time(utc(2025, 3, 8, 12), 30 * timedelta(minutes=1)) == utc(2025, 3, 10, 9, 30)
    assert calendar.add_business_time(utc(2025, 3, 4, 6), HOUR) == utc(2025, 3, 4, 10)


def test_a_duration_used_up_at_closing_time_is_due_at_closing_time():
    calendar = office()
    assert calendar.add_business_time(utc(2025, 3, 7, 13), 4 * HOUR) == utc(2025, 3, 7, 17)
    assert calendar.add_business_time(utc(2025, 3, 7, 13), 4 * HOUR + timedelta(seconds=1)) == utc(2025, 3, 10, 9, 0, 1)


def test_adding_nothing_is_the_start_itself_even_when_closed():
    saturday = utc(2025, 3, 8, 12)
    assert office().add_business_time(saturday, timedelta(0)) == saturday


def test_forty_business_hours_is_one_working_week():
    calendar = office()
    assert calendar.add_business_time(utc(2025, 3, 3, 9), 40 * HOUR) == utc(2025, 3, 7, 17)
    assert calendar.add_business_time(utc(2025, 3, 5, 12), 40 * HOUR) == utc(2025, 3, 12, 12)


def test_business_time_between_skips_nights_and_weekends():
    calendar = office()
    assert calendar.business_time_between(utc(2025, 3, 7, 16), utc(2025, 3, 10, 10)) == 2 * HOUR
    assert calendar.business_time_between(utc(2025, 3, 3, 0), utc(2025, 3, 10, 0)) == 40 * HOUR
    assert calendar.business_time_between(utc(2025, 3, 8, 1), utc(2025, 3, 9, 23)) == timedelta(0)
    assert calendar.business_time_between(utc(2025, 3, 10, 10), utc(2025, 3, 7, 16)) == timedelta(0)


def test_is_open_and_next_open():
    calendar = office()
    assert calendar.is_open(utc(2025, 3, 3, 9))
    assert calendar.is_open(utc(2025, 3, 3, 16, 59, 59))
    assert not calendar.is_open(utc(2025, 3, 3, 17))
    assert not calendar.is_open(utc(2025, 3, 8, 12))
    assert calendar.next_open(utc(2025, 3, 3, 12)) == utc(2025, 3, 3, 12)
    assert calendar.next_open(utc(2025, 3, 3, 17)) == utc(2025, 3, 4, 9)
    assert calendar.next_open(utc(2025, 3, 7, 18)) == utc(2025, 3, 10, 9)


def test_several_ranges_a_day_and_overlaps_merge():
    calendar = BusinessCalendar(hours={"mon": [["13:00", "17:00"], ["08:00", "12:00"], ["11:00", "12:30"]]})
    assert calendar.business_time_between(utc(2025, 3, 3), utc(2025, 3, 4)) == 8 * HOUR + 30 * timedelta(minutes=1)
    assert calendar.add_business_time(utc(2025, 3, 3, 12), HOUR) == utc(2025, 3, 3, 13, 30)
    assert not calendar.is_open(utc(2025, 3, 3, 12, 45))


def test_a_range_closing_at_23_59_runs_to_midnight_like_the_workspace_check():
    calendar = BusinessCalendar(hours={"mon": [["20:00", "23:59"]], "tue": [["00:00", "02:00"]]})
    assert calendar.is_open(utc(2025, 3, 3, 23, 59, 30))
    assert within_business_hours({"mon": [["20:00", "23:59"]]}, "UTC", [], utc(2025, 3, 3, 23, 59, 30))
    # One open stretch from Monday 20:00 to Tuesday 02:00.
    assert calendar.add_business_time(utc(2025, 3, 3, 23), 2 * HOUR) == utc(2025, 3, 4, 1)


def test_times_are_read_in_the_workspace_time_zone():
    calendar = office("America/New_York")
    # 09:00 in New York in March (EST, before the change) is 14:00 UTC.
    assert not calendar.is_open(utc(2025, 3, 3, 13, 59))
    assert calendar.is_open(utc(2025, 3, 3, 14))
    assert calendar.add_business_time(utc(2025, 3, 3, 12), HOUR) == utc(2025, 3, 3, 15)


def test_results_are_utc_whatever_zone_the_start_is_in():
    due = office("Europe/Berlin").add_business_time(local(BERLIN, 2025, 3, 3, 16), 2 * HOUR)
    assert due.tzinfo is UTC
    assert due == local(BERLIN, 2025, 3, 4, 10)


# ---- holidays ---------------------------------------------------------------------------------------


def test_a_custom_holiday_is_closed_all_day():
    calendar = office(holidays=["2025-03-04"])
    assert calendar.is_holiday(date(2025, 3, 4))
    assert not calendar.is_open(utc(2025, 3, 4, 12))
    assert calendar.add_business_time(utc(2025, 3, 3, 16), 2 * HOUR) == utc(2025, 3, 5, 10)
    assert calendar.business_time_between(utc(2025, 3, 3, 0), utc(2025, 3, 10, 0)) == 32 * HOUR


def test_holidays_are_local_dates():
    # 5 March 2025 in Sydney starts at 13:00 UTC on the 4th: the desk is closed from then.
    calendar = BusinessCalendar(timezone="Australia/Sydney", hours={"tue": [["00:00", "23:59"]],
                                                                    "wed": [["00:00", "23:59"]]},
                                holidays=["2025-03-05"])
    assert calendar.is_open(utc(2025, 3, 4, 12, 59))
    assert not calendar.is_open(utc(2025, 3, 4, 13))


def test_a_country_calendar_closes_its_public_holidays():
    # Friday 4 July 2025, Independence Day: Thursday 16:00 + 2 h is Monday 10:00 in New York.
    calendar = office("America/New_York", holiday_country="US")
    assert calendar.is_holiday(date(2025, 7, 4))
    assert calendar.add_business_time(local(NEW_YORK, 2025, 7, 3, 16), 2 * HOUR) == local(NEW_YORK, 2025, 7, 7, 10)
    # 2026: 4 July is a Saturday, observed on Friday the 3rd.
    assert calendar.is_holiday(date(2026, 7, 3))
    assert office("America/New_York").add_business_time(local(NEW_YORK, 2025, 7, 3, 16), 2 * HOUR) == local(
        NEW_YORK, 2025, 7, 4, 10
    )


def test_a_subdivision_has_its_own_holidays():
    # Epiphany (Monday 6 January 2025) is a holiday in Bavaria, not in Berlin.
    bavaria = office("Europe/Berlin", holiday_country="DE-BY")
    berlin = office("Europe/Berlin", holiday_country="de-be")
    monday_noon = local(BERLIN, 2025, 1, 6, 12)
    assert not bavaria.is_open(monday_noon)
    assert berlin.is_open(monday_noon)
    assert bavaria.is_holiday(date(2025, 12, 26)) and berlin.is_holiday(date(2025, 12, 26))


def test_english_bank_holidays_with_custom_days_beside_them():
    calendar = office("Europe/London", holiday_country="GB-ENG", holidays=["2025-12-24"])
    # Tuesday 23 December 16:00: Wednesday 24 (custom), 25 and 26 (bank holidays) are closed.
    due = calendar.add_business_time(datetime(2025, 12, 23, 16, tzinfo=ZoneInfo("Europe/London")), 2 * HOUR)
    assert due == utc(2025, 12, 29, 10)


def test_a_holiday_calendar_that_does_not_exist_is_refused_with_a_hint():
    with pytest.raises(InvalidCalendar, match=r"Unknown public holiday calendar 'XX'.*DE-BY"):
        office(holiday_country="XX")
    with pytest.raises(InvalidCalendar, match="Unknown public holiday calendar 'DE-ZZ'"):
        office(holiday_country="DE-ZZ")


# ---- daylight saving time ----------------------------------------------------------------------------


def test_berlin_spring_forward_over_the_weekend():
    # Clocks go from 02:00 to 03:00 on Sunday 30 March 2025: Friday is UTC+1, Monday UTC+2.
    calendar = office("Europe/Berlin")
    friday_4pm = local(BERLIN, 2025, 3, 28, 16)
    assert friday_4pm == utc(2025, 3, 28, 15)
    due = calendar.add_business_time(friday_4pm, 2 * HOUR)
    assert due == local(BERLIN, 2025, 3, 31, 10) == utc(2025, 3, 31, 8)
    assert calendar.business_time_between(friday_4pm, due) == 2 * HOUR


def test_a_day_around_the_clock_is_23_hours_in_spring_and_25_in_autumn():
    for zone, spring, autumn in (
        ("Europe/Berlin", date(2025, 3, 30), date(2025, 10, 26)),
        ("America/New_York", date(2025, 3, 9), date(2025, 11, 2)),
    ):
        calendar = BusinessCalendar(timezone=zone, hours={"sun": [["00:00", "24:00"]]})
        tz = ZoneInfo(zone)
        for day, length in ((spring, 23 * HOUR), (autumn, 25 * HOUR)):
            start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
            end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
            assert calendar.business_time_between(start, end) == length, (zone, day)
            assert calendar.add_business_time(start, length) == end


def test_a_range_spanning_the_change_is_an_hour_shorter_or_longer():
    calendar = BusinessCalendar(timezone="Europe/Berlin", hours={"sun": [["01:00", "05:00"]]})
    spring, autumn = local(BERLIN, 2025, 3, 30), local(BERLIN, 2025, 10, 26)
    assert calendar.business_time_between(spring, spring + 24 * HOUR) == 3 * HOUR
    assert calendar.business_time_between(autumn, autumn + 25 * HOUR) == 5 * HOUR
    # 01:00 CET + 2 h of work in spring is 04:00 CEST: the skipped hour is not work.
    assert calendar.add_business_time(local(BERLIN, 2025, 3, 30, 1), 2 * HOUR) == local(BERLIN, 2025, 3, 30, 4)


def test_new_york_autumn_back_over_a_weekday_night_shift():
    # A night desk 00:00-06:00 every day; clocks go back from 02:00 EDT to 01:00 EST on Sunday 2 November 2025.
    calendar = BusinessCalendar(timezone="America/New_York", hours={day: [["00:00", "06:00"]] for day in
                                                                    ("sat", "sun", "mon")})
    sunday = local(NEW_YORK, 2025, 11, 2)
    assert calendar.business_time_between(sunday, sunday + 12 * HOUR) == 7 * HOUR
    assert calendar.add_business_time(local(NEW_YORK, 2025, 11, 1, 5), 7 * HOUR) == local(NEW_YORK, 2025, 11, 2, 5)


def test_an_opening_time_the_clocks_skip_opens_when_they_jump():
    # 02:30 does not exist on 9 March 2025 in New York: the desk opens at 03:00 EDT (07:00 UTC).
    calendar = BusinessCalendar(timezone="America/New_York", hours={"sun": [["02:30", "04:00"]]})
    assert calendar.next_open(local(NEW_YORK, 2025, 3, 9)) == utc(2025, 3, 9, 7)
    assert calendar.business_time_between(local(NEW_YORK, 2025, 3, 9), local(NEW_YORK, 2025, 3, 10)) == HOUR


def test_a_closing_time_the_clocks_skip_closes_when_they_jump():
    calendar = BusinessCalendar(timezone="America/New_York", hours={"sun": [["00:00", "02:30"]]})
    assert calendar.business_time_between(local(NEW_YORK, 2025, 3, 9), local(NEW_YORK, 2025, 3, 10)) == 2 * HOUR
    assert not calendar.is_open(utc(2025, 3, 9, 7))


def test_a_time_that_happens_twice_opens_the_first_time_and_closes_the_second():
    # 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST) on 2 November 2025.
    opening = BusinessCalendar(timezone="America/New_York", hours={"sun": [["01:30", "03:00"]]})
    assert opening.next_open(local(NEW_YORK, 2025, 11, 2)) == utc(2025, 11, 2, 5, 30)
    assert opening.business_time_between(local(NEW_YORK, 2025, 11, 2), local(NEW_YORK, 2025, 11, 3)) == 2.5 * HOUR
    closing = BusinessCalendar(timezone="America/New_York", hours={"sun": [["00:00", "01:30"]]})
    assert closing.business_time_between(local(NEW_YORK, 2025, 11, 2), local(NEW_YORK, 2025, 11, 3)) == 2.5 * HOUR
    assert closing.is_open(utc(2025, 11, 2, 6, 29)) and not closing.is_open(utc(2025, 11, 2, 6, 30))


# ---- no working hours, 24/7 ---------------------------------------------------------------------------


def test_a_calendar_without_working_hours_never_loops_and_says_what_to_fix():
    calendar = BusinessCalendar(timezone="Europe/Berlin", hours={"mon": [], "tue": []})
    assert not calendar.has_working_hours
    monday = utc(2025, 3, 3, 12)
    with pytest.raises(NoWorkingHours, match="no working hours on any day.*Add opening hours"):
        calendar.add_business_time(monday, HOUR)
    with pytest.raises(NoWorkingHours):
        calendar.next_open(monday)
    assert not calendar.is_open(monday)
    assert calendar.business_time_between(monday, monday + timedelta(days=400)) == timedelta(0)
    assert list(calendar.open_ranges(monday, monday + timedelta(days=7))) == []
    assert calendar.add_business_time(monday, timedelta(0)) == monday


def test_hours_that_holidays_cover_for_two_years_are_no_working_hours_either():
    mondays = [(date(2025, 3, 3) + timedelta(weeks=week)).isoformat() for week in range(3 * 53)]
    calendar = BusinessCalendar(hours={"mon": [["09:00", "17:00"]]}, holidays=mondays)
    with pytest.raises(NoWorkingHours, match="every working day is a holiday"):
        calendar.add_business_time(utc(2025, 3, 3), HOUR)


def test_around_the_clock_counts_calendar_time_across_weekends_and_dst():
    calendar = BusinessCalendar.around_the_clock("Europe/Berlin")
    assert calendar.always_open
    saturday = local(BERLIN, 2025, 3, 29, 12).astimezone(UTC)
    assert calendar.add_business_time(saturday, 24 * HOUR) == saturday + 24 * HOUR
    # Sunday has 23 hours on the wall clock; calendar time counts the 48 real ones.
    assert calendar.business_time_between(saturday, saturday + 48 * HOUR) == 48 * HOUR
    assert calendar.business_time_between(saturday, local(BERLIN, 2025, 3, 31, 12)) == 47 * HOUR
    assert calendar.is_open(saturday) and calendar.next_open(saturday) == saturday


def test_all_week_hours_are_the_same_shortcut_but_a_holiday_is_not():
    every_day = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert BusinessCalendar(hours=every_day).always_open
    with_holiday = BusinessCalendar(hours=every_day, holidays=["2025-12-25"])
    assert not with_holiday.always_open
    assert with_holiday.business_time_between(utc(2025, 12, 24), utc(2025, 12, 27)) == 48 * HOUR


# ---- bad settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"hours": {"mon": [["9:00", "17:00"]]}}, r"'9:00' is not a time; write HH:MM"),
        ({"hours": {"mon": [["09:00", "25:00"]]}}, r"not a time of day"),
        ({"hours": {"mon": [["17:00", "09:00"]]}}, r"closes before it opens. Split a night shift"),
        ({"hours": {"mon": [["09:00"]]}}, r"each range is \[opens, closes\]"),
        ({"hours": {"monday": [["09:00", "17:00"]]}}, r"Unknown day 'monday'"),
        ({"timezone": "Mars/Olympus"}, r"Unknown time zone 'Mars/Olympus'"),
        ({"holidays": ["25/12/2025"]}, r"write it as YYYY-MM-DD"),
    ],
)
def test_bad_settings_are_refused_with_a_message_a_person_can_act_on(settings_, message):
    with pytest.raises(InvalidCalendar, match=message):
        BusinessCalendar(**settings_)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        office().is_open(datetime(2025, 3, 3, 12))


def test_built_from_a_workspace_row():
    class Workspace:
        timezone = "Europe/Berlin"
        business_hours = WEEKDAYS_9_TO_5
        holidays = ["2025-03-04"]
        holiday_country = "DE-BY"

    calendar = BusinessCalendar.for_workspace(Workspace())
    assert not calendar.is_open(local(BERLIN, 2025, 3, 4, 12))
    assert not calendar.is_open(local(BERLIN, 2025, 1, 6, 12))
    assert calendar.is_open(local(BERLIN, 2025, 3, 3, 9))


def test_a_due_time_forty_business_hours_away_takes_well_under_a_millisecond():
    # Generous on purpose (a fresh calendar each time, so nothing is cached): it measures about 0.05 ms.
    starts = [utc(2025, 1, 1) + timedelta(hours=7 * n) for n in range(500)]
    began = stopwatch.perf_counter()
    for start in starts:
        BusinessCalendar(timezone="Europe/Berlin", hours=WEEKDAYS_9_TO_5).add_business_time(start, 40 * HOUR)
    assert (stopwatch.perf_counter() - began) / len(starts) < 0.001


# ---- properties ---------------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Ranges in quarter hours, 96 being midnight at the end of the day.
quarter_ranges = st.integers(min_value=0, max_value=95).flatmap(
    lambda opens: st.tuples(st.just(opens), st.integers(min_value=opens + 1, max_value=96))
)


def _clock(quarters: int) -> str:
    return f"{quarters // 4:02d}:{quarters % 4 * 15:02d}"


@st.composite
def weekly_hours(draw) -> dict:
    hours = {}
    for day in DAYS:
        ranges = draw(st.lists(quarter_ranges, max_size=2))
        if ranges:
            hours[day] = [[_clock(opens), _clock(closes)] for opens, closes in ranges]
    assume(hours)
    return hours


@st.composite
def calendars(draw) -> BusinessCalendar:
    holidays = draw(st.lists(st.dates(date(2025, 1, 1), date(2025, 12, 31)), max_size=6))
    return BusinessCalendar(timezone=draw(st.sampled_from(ZONES)), hours=draw(weekly_hours()),
                            holidays=[day.isoformat() for day in holidays])


# Instants through 2025, DST changes included.
instants = st.datetimes(datetime(2025, 1, 1), datetime(2025, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(calendar=calendars(), start=instants, span=st.timedeltas(timedelta(0), timedelta(days=20)))
def test_adding_the_time_between_two_moments_lands_on_the_second(calendar, start, span):
    end = start + span
    landed = calendar.add_business_time(start, calendar.business_time_between(start, end))
    # At `end` when the desk is open then; else at the close before it: the same next opening.
    assert landed <= end
    assert calendar.business_time_between(landed, end) == timedelta(0)
    if calendar.is_open(end):
        assert landed == end
    else:
        assert calendar.next_open(landed) == calendar.next_open(end)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars(), start=instants, duration=st.timedeltas(timedelta(0), timedelta(hours=200)))
def test_the_time_between_a_start_and_its_due_time_is_the_duration(calendar, start, duration):
    due = calendar.add_business_time(start, duration)
    assert calendar.business_time_between(start, due) == duration
    assert due == start or calendar.is_open(due - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(calendar=calendars(), moments=st.lists(instants, min_size=3, max_size=3))
def test_business_time_adds_up(calendar, moments):
    first, middle, last = sorted(moments)
    total = calendar.business_time_between(first, last)
    assert total == calendar.business_time_between(first, middle) + calendar.business_time_between(middle, last)
    assert total <= last - first


@settings(max_examples=500, deadline=None)
@given(zone=st.sampled_from(ZONES), hours=weekly_hours(), at=instants,
       holidays=st.lists(st.dates(date(2025, 1, 1), date(2025, 12, 31)), max_size=20))
def test_is_open_agrees_with_the_workspace_check(zone, hours, at, holidays):
    shown = at.astimezone(ZoneInfo(zone))
    # In the hour clocks go back, a wall-clock check cannot tell the two passes apart; the calendar can.
    assume(shown.replace(fold=1 - shown.fold).utcoffset() == shown.utcoffset())
    iso = [day.isoformat() for day in holidays]
    calendar = BusinessCalendar(timezone=zone, hours=hours, holidays=iso)
    assert calendar.is_open(at) == within_business_hours(hours, zone, iso, at)
