"""SLA clocks: from a conversation's timeline, how much of each promised time is used, when each target
is due, and whether it is on track, at risk, breached, met or paused.

Pure Python on plain values (no database, no clock: `now` is passed in), so the conversation page,
the breach-warning task, the router's "SLA at risk first" ordering and the simulator all read the
same answer, and any past moment can be replayed. The model and service layer turns a conversation
into `SlaEvent`s, picks the policy with `match_policy`, and calls `SlaClock(targets, calendar).evaluate`.

What is measured
    first response
        From the opening (for a conversation that starts in the bot, pass the handoff as the opening)
        to the first public reply by a human agent. Bot messages, internal notes and system events
        never count.
    next response
        Each later wait: it starts at a customer message when nobody is already waiting (the first
        customer message after an agent reply; later messages in the same wait do not restart it)
        and ends at the next public agent reply. Each wait is judged on its own.
    resolution
        From the opening to resolved. A reopen does not restart it: the clock continues from where it
        stood at the resolution (time spent resolved does not count), so a conversation reopened
        after its target has passed is breached the moment it reopens.
    Resolving a conversation also ends any response wait that is running: nobody is waiting on a
    resolved conversation. A customer message reopens a pending, snoozed or resolved conversation, as
    `conversations.services` does, and starts a new wait.

When the clocks run
    Only in working time when the targets are in business hours (`BusinessCalendar`), else in calendar
    time. Every clock pauses while the conversation is pending (waiting on the customer) and resumes
    where it stopped. Snoozed does *not* pause: an agent parks a conversation, the customer still waits.

States
    ``paused``    pending: no due time (``due_at`` is None) until it resumes, then it is recomputed
                  from the time left.
    ``on_track``  running, before the at-risk point.
    ``at_risk``   running, past the at-risk point: ``at_risk_ratio`` of the target used (0.8 = 80 %),
                  or ``at_risk_before`` or less left, whichever comes first.
    ``breached``  the due time was reached while the clock ran and no response (or resolution) had
                  come. A breach is final: a reply after it is recorded (``completed_at``) but the
                  target stays breached.
    ``met``       the response (or resolution) came at or before the due time.
The due time is the earliest moment by which the target's business time has passed
(`BusinessCalendar.add_business_time`): a 4-business-hour target set at 13:00 on a 9-17 day is due at
17:00 that day, and the conversation is breached from then on, weekend included.

Which policy applies (`match_policy`)
    A policy names the priorities, channels and customer segments it is for; an empty criterion
    means any. Among the policies that match, the one naming the most criteria wins (a policy for
    "urgent email from VIP customers" beats one for "urgent"); equally specific policies are settled by
    the order they are given in (the supervisor's list). No match: no SLA.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

from touchpoint.routing.calendar import BusinessCalendar, NoWorkingHours


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    PAUSED = "paused"


class SlaMetric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SlaEventKind(StrEnum):
    OPENED = "opened"
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLY = "agent_reply"  # a public reply by a human agent
    BOT_MESSAGE = "bot_message"  # never a response; accepted so a whole thread can be passed
    OPEN = "open"
    REOPENED = "reopened"  # the same as OPEN, named for the change from resolved
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


_STATUS_EVENTS = {
    "open": SlaEventKind.OPEN,
    "pending": SlaEventKind.PENDING,
    "snoozed": SlaEventKind.SNOOZED,
    "resolved": SlaEventKind.RESOLVED,
}
_STOPPED = (SlaEventKind.PENDING, SlaEventKind.RESOLVED)


@dataclass(frozen=True)
class SlaEvent:
    """One thing that happened to a conversation that an SLA clock cares about."""

    kind: SlaEventKind
    at: datetime

    @classmethod
    def from_status(cls, status: str, at: datetime) -> SlaEvent:
        """A conversation status change ("open", "pending", "snoozed", "resolved")."""
        try:
            return cls(_STATUS_EVENTS[status], at)
        except KeyError:
            raise ValueError(f"Unknown conversation status {status!r}; use one of {', '.join(_STATUS_EVENTS)}.") from None

    @classmethod
    def from_message(cls, kind: str, sender_type: str, at: datetime) -> SlaEvent | None:
        """A stored message as the clocks see it (`Message.kind`, `Message.sender_type`), or None for
        what never moves them: internal notes, system events, automated messages."""
        if kind == "incoming" and sender_type == "customer":
            return cls(SlaEventKind.CUSTOMER_MESSAGE, at)
        if kind == "outgoing" and sender_type == "agent":
            return cls(SlaEventKind.AGENT_REPLY, at)
        if kind == "outgoing" and sender_type == "bot":
            return cls(SlaEventKind.BOT_MESSAGE, at)
        return None


@dataclass(frozen=True)
class SlaTargets:
    """A policy's promises. Each target is business time when `business_hours`, else calendar time;
    None means no promise for that metric."""

    first_response: timedelta | None = None
    next_response: timedelta | None = None
    resolution: timedelta | None = None
    business_hours: bool = True
    at_risk_ratio: float | None = 0.8
    at_risk_before: timedelta | None = None

    def __post_init__(self) -> None:
        for metric in SlaMetric:
            target = self.target(metric)
            if target is not None and target <= timedelta(0):
                raise ValueError(f"The {metric.replace('_', ' ')} target must be longer than zero, not {target}.")
        if self.at_risk_ratio is not None and not 0 < self.at_risk_ratio <= 1:
            raise ValueError(f"at_risk_ratio is a share of the target above 0 and at most 1, not {self.at_risk_ratio}.")
        if self.at_risk_before is not None and self.at_risk_before < timedelta(0):
            raise ValueError(f"at_risk_before must not be negative, not {self.at_risk_before}.")

    def target(self, metric: SlaMetric) -> timedelta | None:
        return getattr(self, metric.value)

    def at_risk_after(self, target: timedelta) -> timedelta:
        """The time used at which a target turns at risk: the earlier of the two rules."""
        point = target
        if self.at_risk_ratio is not None:
            point = min(point, target * self.at_risk_ratio)
        if self.at_risk_before is not None:
            point = min(point, target - self.at_risk_before)
        return max(point, timedelta(0))


@dataclass(frozen=True)
class TargetStatus:
    """Where one target stands at the evaluated moment.

    `elapsed` is the clock's time used (business or calendar time, pauses excluded) up to now or to
    completion; `remaining` is target − elapsed (negative once overdue). `due_at` is the due time in
    force: None while paused (or when met while paused), the breach moment once breached."""

    metric: SlaMetric
    target: timedelta
    state: SlaState
    started_at: datetime
    due_at: datetime | None
    at_risk_at: datetime | None
    breached_at: datetime | None
    completed_at: datetime | None
    elapsed: timedelta
    remaining: timedelta


@dataclass(frozen=True)
class SlaReport:
    """Every target of one conversation at `evaluated_at`. `next_responses` holds each wait, oldest
    first; the last one is the one to show."""

    evaluated_at: datetime
    first_response: TargetStatus | None
    next_responses: tuple[TargetStatus, ...]
    resolution: TargetStatus | None

    @property
    def next_response(self) -> TargetStatus | None:
        return self.next_responses[-1] if self.next_responses else None

    @property
    def current(self) -> tuple[TargetStatus, ...]:
        """What a conversation shows: first response, the latest next response, resolution."""
        return tuple(status for status in (self.first_response, self.next_response, self.resolution) if status)

    @property
    def breaches(self) -> tuple[TargetStatus, ...]:
        """Every breached target, past waits included (for warnings, escalation and reporting)."""
        every = (self.first_response, *self.next_responses, self.resolution)
        return tuple(status for status in every if status and status.state == SlaState.BREACHED)

    @property
    def next_check_at(self) -> datetime | None:
        """The next moment a state changes by time alone (turns at risk or breached): when the warning
        task should look again. None when nothing runs."""
        moments = [
            moment
            for status in self.current
            if status.state in (SlaState.ON_TRACK, SlaState.AT_RISK)
            for moment in (status.at_risk_at, status.due_at)
            if moment is not None and moment > self.evaluated_at
        ]
        return min(moments, default=None)


@dataclass
class _Run:
    """One clock: the spans it ran (the last may still be running) and whether it has been answered."""

    started_at: datetime
    spans: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    completed_at: datetime | None = None

    @property
    def running(self) -> bool:
        return bool(self.spans) and self.spans[-1][1] is None

    @property
    def answered_running(self) -> bool:
        """Answered while the clock ran, so a due time was in force (answered while paused, none was)."""
        return self.completed_at is not None and bool(self.spans) and self.spans[-1][1] == self.completed_at

    def resume(self, at: datetime) -> None:
        if not self.running:
            self.spans.append((at, None))

    def pause(self, at: datetime) -> None:
        if self.running:
            self.spans[-1] = (self.spans[-1][0], at)

    def complete(self, at: datetime) -> None:
        self.pause(at)
        self.completed_at = at


class _Timeline:
    """Replays the events in order and keeps one run for resolution and one per response wait."""

    def __init__(self, opened_at: datetime) -> None:
        self.resolution = _Run(opened_at)
        self.resolution.resume(opened_at)
        self.waits = [_Run(opened_at)]
        self.waits[0].resume(opened_at)
        self.waiting: _Run | None = self.waits[0]

    def apply(self, event: SlaEvent) -> None:
        kind, at = event.kind, event.at
        if kind == SlaEventKind.CUSTOMER_MESSAGE:
            self._status(SlaEventKind.OPEN, at)
            if self.waiting is None:
                self.waiting = _Run(at)
                self.waiting.resume(at)
                self.waits.append(self.waiting)
        elif kind == SlaEventKind.AGENT_REPLY:
            self._answer(at)
        elif kind in _STATUS_EVENTS.values() or kind == SlaEventKind.REOPENED:
            self._status(kind, at)

    def _status(self, kind: SlaEventKind, at: datetime) -> None:
        if kind == SlaEventKind.RESOLVED:
            self._answer(at)
            self.resolution.complete(at)
        else:
            self.resolution.completed_at = None
        runs = kind not in _STOPPED
        for run in (self.resolution, self.waiting):
            if run is None or run.completed_at is not None:
                continue
            if runs:
                run.resume(at)
            else:
                run.pause(at)

    def _answer(self, at: datetime) -> None:
        if self.waiting is not None:
            self.waiting.complete(at)
            self.waiting = None


class SlaClock:
    """A policy's targets on a calendar. Raises `NoWorkingHours` at once for business-hours targets on
    a calendar with no working hours, so the setting is fixed instead of every due time going missing."""

    def __init__(self, targets: SlaTargets, calendar: BusinessCalendar | None = None) -> None:
        if targets.business_hours:
            if calendar is None:
                raise ValueError("Business-hours targets need the workspace's business calendar.")
            if not calendar.has_working_hours:
                raise NoWorkingHours(
                    "This SLA policy counts business hours, but the workspace has no working hours on any day. "
                    "Add opening hours to the workspace, or make the policy count calendar time."
                )
        self.targets = targets
        self.calendar = calendar if targets.business_hours and calendar is not None else BusinessCalendar.around_the_clock()

    def evaluate(self, events: Iterable[SlaEvent], now: datetime) -> SlaReport:
        """The report as of `now`; events after `now` are ignored, so any past moment can be replayed."""
        timeline = self._replay(events, now)
        first_wait, *later_waits = timeline.waits
        return SlaReport(
            evaluated_at=now,
            first_response=self._status(SlaMetric.FIRST_RESPONSE, first_wait, now),
            next_responses=tuple(
                status for wait in later_waits if (status := self._status(SlaMetric.NEXT_RESPONSE, wait, now))
            ),
            resolution=self._status(SlaMetric.RESOLUTION, timeline.resolution, now),
        )

    def _replay(self, events: Iterable[SlaEvent], now: datetime) -> _Timeline:
        ordered = sorted(events, key=lambda event: event.at)  # stable: same-moment events keep their order
        opening = next((event for event in ordered if event.kind == SlaEventKind.OPENED), None)
        if opening is None:
            raise ValueError("An SLA timeline starts with the conversation's opening (an OPENED event).")
        if ordered[0].at < opening.at or now < opening.at:
            raise ValueError("Nothing happens to a conversation before it opens; check the events' times and `now`.")
        timeline = _Timeline(opening.at)
        for event in ordered:
            if event.at > now:
                break
            if event.kind != SlaEventKind.OPENED:  # the first opening started the timeline; repeats add nothing
                timeline.apply(event)
        return timeline

    def _status(self, metric: SlaMetric, run: _Run, now: datetime) -> TargetStatus | None:
        target = self.targets.target(metric)
        if target is None:
            return None
        risk_after = self.targets.at_risk_after(target)
        elapsed = timedelta(0)
        due_at: datetime | None = None
        at_risk_at: datetime | None = None
        breached_at: datetime | None = None
        for opens, closes in run.spans:
            if breached_at is None:
                due_at = self._after(opens, target - elapsed)
                if closes is None:  # only the running span has an at-risk moment to show
                    at_risk_at = self._after(opens, risk_after - elapsed)
                # Reaching the due time while running breaches; a span that stops exactly then does not.
                if due_at < closes if closes is not None else due_at <= now:
                    breached_at = due_at
            elapsed += self.calendar.business_time_between(opens, closes or now)
        return TargetStatus(
            metric=metric,
            target=target,
            state=_state(run, breached_at, at_risk_at, now),
            started_at=run.started_at,
            due_at=breached_at or (due_at if run.running or run.answered_running else None),
            at_risk_at=at_risk_at if run.running and breached_at is None else None,
            breached_at=breached_at,
            completed_at=run.completed_at,
            elapsed=elapsed,
            remaining=target - elapsed,
        )

    def _after(self, start: datetime, left: timedelta) -> datetime:
        return self.calendar.add_business_time(start, max(left, timedelta(0)))


def _state(run: _Run, breached_at: datetime | None, at_risk_at: datetime | None, now: datetime) -> SlaState:
    if breached_at is not None:
        return SlaState.BREACHED
    if run.completed_at is not None:
        return SlaState.MET
    if not run.running:
        return SlaState.PAUSED
    return SlaState.AT_RISK if at_risk_at is not None and at_risk_at <= now else SlaState.ON_TRACK


# ---- which policy applies ----------------------------------------------------------------------


class PolicyScope(Protocol):
    """What `match_policy` reads from a policy: the values it is for, empty (or None) for any. A
    single string is read as a one-value set, so a model with one `priority` field can be wrapped
    simply."""

    @property
    def priorities(self) -> Collection[str] | str | None: ...

    @property
    def channels(self) -> Collection[str] | str | None: ...

    @property
    def segments(self) -> Collection[str] | str | None: ...


@dataclass(frozen=True)
class SlaPolicy:
    """A plain policy: a name, its scope and its targets (the database model maps onto this)."""

    name: str
    targets: SlaTargets
    priorities: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()


PolicyT = TypeVar("PolicyT", bound=PolicyScope)


def match_policy(
    policies: Sequence[PolicyT], priority: str, channel: str, segment: str | Collection[str] | None = None
) -> PolicyT | None:
    """The most specific policy for a conversation (see the module's rule), or None. `segment` is the
    customer's segment, or all of them: a policy for any of them matches."""
    customer_segments = _values(segment)
    best: PolicyT | None = None
    best_score = -1
    for policy in policies:
        scope = (_values(policy.priorities), _values(policy.channels), _values(policy.segments))
        wanted_priority, wanted_channel, wanted_segments = scope
        if wanted_priority and priority not in wanted_priority:
            continue
        if wanted_channel and channel not in wanted_channel:
            continue
        if wanted_segments and not wanted_segments & customer_segments:
            continue
        score = sum(1 for criterion in scope if criterion)
        if score > best_score:
            best, best_score = policy, score
    return best


def _values(criterion: Collection[str] | str | None) -> frozenset[str]:
    if not criterion:
        return frozenset()
    if isinstance(criterion, str):
        return frozenset({criterion})
    return frozenset(criterion)
