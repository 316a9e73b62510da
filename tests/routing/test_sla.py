"""SLA clocks on plain timelines: states over time, pauses, first and next responses, resolution,
late replies, calendar time, and which policy applies."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.routing.calendar import BusinessCalendar, NoWorkingHours
from touchpoint.routing.sla import (
    SlaClock,
    SlaEvent,
    SlaEventKind,
    SlaMetric,
    SlaPolicy,
    SlaState,
    SlaTargets,
    match_policy,
)

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
OFFICE = BusinessCalendar(hours={day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")})
TARGETS = SlaTargets(first_response=4 * HOUR, next_response=2 * HOUR, resolution=16 * HOUR)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2025, UTC: 3 March is a Monday."""
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def opened(when: datetime) -> SlaEvent:
    return SlaEvent(SlaEventKind.OPENED, when)


def customer(when: datetime) -> SlaEvent:
    return SlaEvent(SlaEventKind.CUSTOMER_MESSAGE, when)


def agent(when: datetime) -> SlaEvent:
    return SlaEvent(SlaEventKind.AGENT_REPLY, when)


def bot(when: datetime) -> SlaEvent:
    return SlaEvent(SlaEventKind.BOT_MESSAGE, when)


def status(name: str, when: datetime) -> SlaEvent:
    return SlaEvent.from_status(name, when)


def evaluate(events, now, targets=TARGETS, calendar=OFFICE):
    return SlaClock(targets, calendar).evaluate(events, now)


# ---- first response ---------------------------------------------------------------------------------


def test_first_response_goes_on_track_at_risk_breached_over_time():
    events = [opened(at(3, 10)), customer(at(3, 10))]
    # 4 business hours from Monday 10:00 is 14:00; 80 % of it (3 h 12 min) is at 13:12.
    on_track = evaluate(events, at(3, 11)).first_response
    assert on_track.state == SlaState.ON_TRACK
    assert on_track.due_at == at(3, 14) and on_track.at_risk_at == at(3, 13, 12)
    assert on_track.elapsed == HOUR and on_track.remaining == 3 * HOUR
    assert evaluate(events, at(3, 13, 11)).first_response.state == SlaState.ON_TRACK
    assert evaluate(events, at(3, 13, 12)).first_response.state == SlaState.AT_RISK
    breached = evaluate(events, at(3, 14)).first_response
    assert breached.state == SlaState.BREACHED and breached.breached_at == at(3, 14)
    later = evaluate(events, at(3, 16)).first_response
    assert later.state == SlaState.BREACHED and later.remaining == -2 * HOUR


def test_a_reply_before_the_due_time_meets_the_target():
    report = evaluate([opened(at(3, 10)), agent(at(3, 13, 59))], at(3, 15))
    assert report.first_response.state == SlaState.MET
    assert report.first_response.completed_at == at(3, 13, 59)
    assert report.first_response.remaining == MINUTE
    assert evaluate([opened(at(3, 10)), agent(at(3, 14))], at(3, 15)).first_response.state == SlaState.MET


def test_a_late_reply_stays_breached():
    report = evaluate([opened(at(3, 10)), agent(at(3, 15))], at(3, 16))
    first = report.first_response
    assert first.state == SlaState.BREACHED
    assert first.breached_at == at(3, 14) and first.completed_at == at(3, 15)
    assert first.remaining == -HOUR
    assert report.breaches == (first,)


def test_bot_messages_notes_and_system_events_are_never_a_response():
    events = [opened(at(3, 10)), customer(at(3, 10)), bot(at(3, 10, 1))]
    for kind, sender in (("outgoing", "bot"), ("note", "agent"), ("event", "system")):
        event = SlaEvent.from_message(kind, sender, at(3, 11))
        if event is not None:
            events.append(event)
    assert evaluate(events, at(3, 15)).first_response.state == SlaState.BREACHED
    assert SlaEvent.from_message("note", "agent", at(3, 11)) is None
    assert SlaEvent.from_message("outgoing", "agent", at(3, 11)).kind == SlaEventKind.AGENT_REPLY
    assert SlaEvent.from_message("incoming", "customer", at(3, 11)).kind == SlaEventKind.CUSTOMER_MESSAGE


def test_due_times_skip_the_night_and_the_weekend():
    friday_afternoon = evaluate([opened(at(7, 15))], at(7, 16)).first_response
    assert friday_afternoon.due_at == at(10, 11)
    # The weekend passes without using any of the target.
    saturday = evaluate([opened(at(7, 15))], at(8, 12)).first_response
    assert saturday.state == SlaState.ON_TRACK and saturday.elapsed == 2 * HOUR


def test_a_target_due_at_closing_time_is_breached_over_the_weekend():
    report = evaluate([opened(at(7, 13))], at(8, 10))
    assert report.first_response.due_at == at(7, 17)
    assert report.first_response.state == SlaState.BREACHED


def test_calendar_time_targets_count_nights_and_weekends():
    around_the_clock = SlaTargets(first_response=4 * HOUR, business_hours=False)
    report = evaluate([opened(at(7, 15))], at(7, 18, 30), targets=around_the_clock)
    assert report.first_response.due_at == at(7, 19)
    assert report.first_response.state == SlaState.AT_RISK
    assert evaluate([opened(at(7, 15))], at(8, 0), targets=around_the_clock).first_response.state == SlaState.BREACHED
    # No calendar needed when nothing counts business hours.
    assert SlaClock(around_the_clock).evaluate([opened(at(7, 15))], at(7, 16)).first_response.due_at == at(7, 19)


# ---- pending pauses ---------------------------------------------------------------------------------


def test_pending_pauses_every_clock_and_resuming_recomputes_the_due_time():
    events = [opened(at(3, 10)), status("pending", at(3, 11)), status("open", at(4, 10))]
    paused = evaluate(events, at(3, 15))
    for target in (paused.first_response, paused.resolution):
        assert target.state == SlaState.PAUSED
        assert target.due_at is None and target.at_risk_at is None
        assert target.elapsed == HOUR
    assert paused.next_check_at is None
    resumed = evaluate(events, at(4, 10, 30)).first_response
    # One hour used before the pause, three left from Tuesday 10:00.
    assert resumed.state == SlaState.ON_TRACK
    assert resumed.due_at == at(4, 13)
    assert resumed.elapsed == HOUR + 30 * MINUTE


def test_a_customer_message_resumes_a_pending_conversation():
    events = [opened(at(3, 10)), status("pending", at(3, 11)), customer(at(3, 15))]
    report = evaluate(events, at(3, 16))
    assert report.first_response.state == SlaState.ON_TRACK
    assert report.first_response.elapsed == 2 * HOUR
    assert report.first_response.due_at == at(4, 10)  # 3 h left at 15:00


def test_snoozed_does_not_pause_the_customer_still_waits():
    events = [opened(at(3, 10)), status("snoozed", at(3, 11))]
    assert evaluate(events, at(3, 14, 30)).first_response.state == SlaState.BREACHED


def test_a_breach_survives_a_pause():
    events = [opened(at(3, 10)), status("pending", at(3, 15))]
    first = evaluate(events, at(3, 16)).first_response
    assert first.state == SlaState.BREACHED and first.breached_at == at(3, 14)


def test_pausing_exactly_at_the_due_time_breaches_as_soon_as_the_clock_runs_again():
    events = [opened(at(3, 10)), status("pending", at(3, 14)), status("open", at(4, 10))]
    assert evaluate(events, at(3, 16)).first_response.state == SlaState.PAUSED
    resumed = evaluate(events, at(4, 10)).first_response
    assert resumed.state == SlaState.BREACHED and resumed.breached_at == at(4, 10)


# ---- next response ----------------------------------------------------------------------------------


def test_next_response_waits_start_at_the_customer_message_after_a_reply():
    events = [
        opened(at(3, 9)), customer(at(3, 9)), agent(at(3, 10)),
        customer(at(3, 12)), customer(at(3, 13)),  # one wait: the second message does not restart it
    ]
    report = evaluate(events, at(3, 13, 40))
    assert report.first_response.state == SlaState.MET
    wait = report.next_response
    assert wait.metric == SlaMetric.NEXT_RESPONSE
    assert wait.started_at == at(3, 12) and wait.due_at == at(3, 14)
    assert wait.at_risk_at == at(3, 13, 36) and wait.state == SlaState.AT_RISK
    assert len(report.next_responses) == 1


def test_each_wait_is_judged_on_its_own():
    events = [
        opened(at(3, 9)), agent(at(3, 9, 30)),
        customer(at(3, 10)), agent(at(3, 13)),  # late: due 12:00
        customer(at(3, 14)), agent(at(3, 14, 30)),  # on time
        customer(at(3, 16)),  # running, due Tuesday 10:00
    ]
    report = evaluate(events, at(3, 16, 30))
    late, on_time, running = report.next_responses
    assert (late.state, late.breached_at, late.completed_at) == (SlaState.BREACHED, at(3, 12), at(3, 13))
    assert on_time.state == SlaState.MET
    assert running.state == SlaState.ON_TRACK and running.due_at == at(4, 10)
    assert report.next_response is running
    assert report.breaches == (late,)
    assert [status.metric for status in report.current] == [
        SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE, SlaMetric.RESOLUTION
    ]


def test_a_reply_while_nobody_waits_starts_nothing():
    events = [opened(at(3, 9)), agent(at(3, 9, 30)), agent(at(3, 10))]
    assert evaluate(events, at(3, 16)).next_responses == ()


# ---- resolution -------------------------------------------------------------------------------------


def test_resolution_met_at_resolve_and_reopen_continues_the_same_clock():
    events = [
        opened(at(3, 9)), agent(at(3, 10)),
        status("resolved", at(3, 13)),  # 4 h used
        customer(at(5, 9)),  # reopens; resolved time did not count
    ]
    resolved = evaluate(events, at(4, 12)).resolution
    assert resolved.state == SlaState.MET and resolved.completed_at == at(3, 13)
    assert resolved.elapsed == 4 * HOUR
    reopened = evaluate(events, at(5, 10)).resolution
    assert reopened.state == SlaState.ON_TRACK
    assert reopened.completed_at is None
    assert reopened.elapsed == 5 * HOUR
    assert reopened.due_at == at(6, 13)  # 12 h left from Wednesday 09:00
    # The reopening customer message starts a next response wait.
    assert evaluate(events, at(5, 10)).next_response.started_at == at(5, 9)


def test_reopening_continues_toward_the_resolution_target_and_breaches_at_once_when_none_is_left():
    # Resolved Tuesday 16:00 with 15 of 16 h used: reopened Wednesday 09:00, due 10:00.
    events = [opened(at(3, 9)), status("resolved", at(4, 16)), status("open", at(5, 9))]
    assert evaluate(events, at(4, 18)).resolution.state == SlaState.MET
    reopened = evaluate(events, at(5, 9, 30)).resolution
    assert reopened.state == SlaState.AT_RISK and reopened.due_at == at(5, 10)
    assert evaluate(events, at(5, 10)).resolution.state == SlaState.BREACHED
    # Resolved at the very due time: met, but a reopen has nothing left.
    events = [opened(at(3, 9)), status("resolved", at(4, 17)), status("open", at(5, 9))]
    assert evaluate(events, at(4, 18)).resolution.state == SlaState.MET
    reopened = evaluate(events, at(5, 9)).resolution
    assert reopened.state == SlaState.BREACHED and reopened.breached_at == at(5, 9)


def test_resolution_pauses_while_pending():
    events = [opened(at(3, 9)), status("pending", at(3, 10)), status("open", at(5, 9)), status("resolved", at(6, 10))]
    resolution = evaluate(events, at(6, 12)).resolution
    # 1 h + 8 h + 1 h of the 16 h target.
    assert resolution.state == SlaState.MET and resolution.elapsed == 10 * HOUR


def test_resolving_answers_a_waiting_customer():
    report = evaluate([opened(at(3, 9)), status("resolved", at(3, 10))], at(3, 16))
    assert report.first_response.state == SlaState.MET
    assert report.first_response.completed_at == at(3, 10)


# ---- reading the report -----------------------------------------------------------------------------


def test_next_check_at_is_the_next_state_change_by_time_alone():
    events = [opened(at(3, 10))]
    assert evaluate(events, at(3, 11)).next_check_at == at(3, 13, 12)  # first response turns at risk
    assert evaluate(events, at(3, 13, 30)).next_check_at == at(3, 14)  # ... and is due
    # After the first-response breach, the resolution clock is next.
    # After the first-response breach, the resolution clock is next: 12 h 48 min of work from Monday 10:00.
    assert evaluate(events, at(3, 14, 30)).next_check_at == at(4, 14, 48)


def test_at_risk_before_a_fixed_time_left():
    targets = SlaTargets(first_response=4 * HOUR, at_risk_ratio=None, at_risk_before=30 * MINUTE)
    assert evaluate([opened(at(3, 10))], at(3, 11), targets=targets).first_response.at_risk_at == at(3, 13, 30)
    both = SlaTargets(first_response=4 * HOUR, at_risk_ratio=0.9, at_risk_before=HOUR)
    assert evaluate([opened(at(3, 10))], at(3, 11), targets=both).first_response.at_risk_at == at(3, 13)


def test_targets_left_out_are_not_reported():
    report = evaluate([opened(at(3, 10)), agent(at(3, 11)), customer(at(3, 12))], at(3, 13),
                      targets=SlaTargets(resolution=8 * HOUR))
    assert report.first_response is None and report.next_responses == ()
    assert report.resolution.state == SlaState.ON_TRACK


def test_events_after_now_are_ignored_so_any_moment_can_be_replayed():
    events = [opened(at(3, 10)), agent(at(3, 15))]
    assert evaluate(events, at(3, 12)).first_response.state == SlaState.ON_TRACK
    assert evaluate(events, at(3, 16)).first_response.state == SlaState.BREACHED


def test_events_may_come_in_any_order():
    events = [agent(at(3, 11)), status("pending", at(3, 12)), opened(at(3, 10))]
    report = evaluate(events, at(3, 13))
    assert report.first_response.state == SlaState.MET
    assert report.resolution.state == SlaState.PAUSED


def test_a_timeline_without_an_opening_or_with_events_before_it_is_refused():
    with pytest.raises(ValueError, match="starts with the conversation's opening"):
        evaluate([customer(at(3, 10))], at(3, 11))
    with pytest.raises(ValueError, match="before it opens"):
        evaluate([customer(at(3, 9)), opened(at(3, 10))], at(3, 11))
    with pytest.raises(ValueError, match="before it opens"):
        evaluate([opened(at(3, 10))], at(3, 9))


def test_business_hours_targets_on_a_calendar_without_working_hours_fail_at_once():
    closed = BusinessCalendar(hours={})
    with pytest.raises(NoWorkingHours, match="no working hours on any day.*calendar time"):
        SlaClock(TARGETS, closed)
    # The same calendar is fine for a policy in calendar time.
    SlaClock(SlaTargets(first_response=HOUR, business_hours=False), closed)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first_response": timedelta(0)}, "first response target must be longer than zero"),
        ({"resolution": -HOUR}, "resolution target must be longer than zero"),
        ({"at_risk_ratio": 1.5}, "at_risk_ratio"),
        ({"at_risk_before": -MINUTE}, "at_risk_before"),
    ],
)
def test_bad_targets_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SlaTargets(**kwargs)


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="Unknown conversation status 'closed'"):
        SlaEvent.from_status("closed", at(3, 10))


# ---- which policy applies ---------------------------------------------------------------------------


def policy(name: str, **scope) -> SlaPolicy:
    return SlaPolicy(name=name, targets=TARGETS, **{key: frozenset(value) for key, value in scope.items()})


POLICIES = [
    policy("default"),
    policy("urgent", priorities={"urgent"}),
    policy("email", channels={"email"}),
    policy("urgent email", priorities={"urgent"}, channels={"email"}),
    policy("vip urgent email", priorities={"urgent"}, channels={"email"}, segments={"vip"}),
    policy("vip", segments={"vip", "enterprise"}),
]


@pytest.mark.parametrize(
    ("priority", "channel", "segment", "expected"),
    [
        ("normal", "webchat", None, "default"),
        ("urgent", "webchat", None, "urgent"),
        ("normal", "email", None, "email"),
        ("urgent", "email", None, "urgent email"),
        ("urgent", "email", "vip", "vip urgent email"),
        ("urgent", "email", {"trial", "vip"}, "vip urgent email"),
        ("high", "sms", "enterprise", "vip"),
        # "urgent" and "vip" both name one criterion: the earlier in the list wins.
        ("urgent", "sms", "vip", "urgent"),
    ],
)
def test_the_most_specific_policy_wins(priority, channel, segment, expected):
    assert match_policy(POLICIES, priority, channel, segment).name == expected


def test_ties_go_to_the_policy_listed_first_and_no_match_is_none():
    first, second = policy("first", channels={"email"}), policy("second", channels={"email"})
    assert match_policy([first, second], "normal", "email").name == "first"
    assert match_policy([second, first], "normal", "email").name == "second"
    assert match_policy([first], "normal", "sms") is None
    assert match_policy([], "normal", "sms") is None


def test_a_policy_may_name_single_values_as_strings():
    class Row:
        def __init__(self, name, priorities="", channels="", segments=None):
            self.name, self.priorities, self.channels, self.segments = name, priorities, channels, segments

    rows = [Row("any"), Row("urgent", priorities="urgent")]
    assert match_policy(rows, "urgent", "email").name == "urgent"
    assert match_policy(rows, "low", "email").name == "any"


# ---- properties -------------------------------------------------------------------------------------

KINDS = [SlaEventKind.CUSTOMER_MESSAGE, SlaEventKind.AGENT_REPLY, SlaEventKind.BOT_MESSAGE, SlaEventKind.OPEN,
         SlaEventKind.PENDING, SlaEventKind.SNOOZED, SlaEventKind.RESOLVED]


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=36 * 60)), max_size=12),
    minutes=st.integers(min_value=0, max_value=6 * 24 * 60),
)
def test_every_report_is_consistent(steps, minutes):
    start = at(3, 8)
    events = [opened(start), *(SlaEvent(kind, start + offset * MINUTE) for kind, offset in steps)]
    now = start + minutes * MINUTE
    report = evaluate(events, now)
    most = OFFICE.business_time_between(start, now)
    for target in (report.first_response, *report.next_responses, report.resolution):
        assert target.elapsed + target.remaining == target.target
        assert target.elapsed <= most
        if target.state == SlaState.BREACHED:
            assert target.breached_at <= now and target.due_at == target.breached_at
            assert target.elapsed >= target.target
        elif target.state == SlaState.MET:
            # Answered while paused: no due time was in force.
            assert target.completed_at <= now and (target.due_at is None or target.completed_at <= target.due_at)
            assert target.elapsed <= target.target
        elif target.state == SlaState.PAUSED:
            assert target.due_at is None
        else:
            assert now < target.due_at and target.elapsed < target.target
            assert (target.state == SlaState.AT_RISK) == (target.at_risk_at <= now)


def test_answered_while_pending_is_met_with_no_due_time_in_force():
    events = [opened(at(3, 10)), status("pending", at(3, 11)), agent(at(3, 16))]
    first = evaluate(events, at(3, 17)).first_response
    assert first.state == SlaState.MET and first.due_at is None and first.elapsed == HOUR


def test_due_times_follow_the_workspace_time_zone_across_a_dst_weekend():
    berlin = BusinessCalendar(timezone="Europe/Berlin",
                              hours={day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")})
    # Friday 28 March 2025 16:00 CET is 15:00 UTC; Monday 10:00 CEST is 08:00 UTC.
    friday = datetime(2025, 3, 28, 15, tzinfo=UTC)
    first = evaluate([opened(friday)], friday + HOUR, targets=SlaTargets(first_response=2 * HOUR),
                     calendar=berlin).first_response
    assert first.due_at == datetime(2025, 3, 31, 8, tzinfo=UTC)
