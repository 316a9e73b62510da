"""A call's figures, worked out from its events in time order.

Pure functions over the reported events: whenever an event arrives (late, early or twice) the whole
call is replayed, so the figures never depend on the order the webhooks came in.

Definitions (KPIS.md):
- queue time: from entering an agent queue ("offered", or a transfer) to an agent answering, or to
  the caller hanging up unanswered. Time before the queue (IVR, bot) is not queue time. Ringing an
  agent is part of it; ring time is kept apart for the speed-of-answer variant without ringing.
- talk time: answered → the end of the agent's part (transfer or hang-up), less hold time.
- hold time: the sum of every hold → unhold interval (a hold still open at the end closes there).
- after-call work: the end of the agent's part → their wrap_up_finished.
- abandoned: queued, then left before any agent answered. A caller lost after a transfer was
  answered once, so the call is not abandoned (a transfer inside one call is one contact).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from touchpoint.channels.models import CallEventKind as K
from touchpoint.channels.models import CallState

# Events at the same instant are taken in the order a call lives them.
_LIFECYCLE = {kind: rank for rank, kind in enumerate(
    [K.OFFERED, K.RINGING, K.ANSWERED, K.HOLD, K.UNHOLD, K.TRANSFERRED, K.ABANDONED, K.ENDED, K.WRAP_UP_FINISHED]
)}


@dataclass(frozen=True)
class ReportedEvent:
    kind: str
    at: datetime
    agent_email: str = ""
    queue: str = ""
    ref: int | None = None  # the stored event's id, to find its place in the replay


@dataclass
class Leg:
    position: int
    queue: str = ""
    agent_email: str = ""
    queued_at: datetime | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wrap_up_finished_at: datetime | None = None
    abandoned: bool = False
    transferred: bool = False
    hold: timedelta = timedelta(0)
    hold_started_at: datetime | None = None

    @property
    def queue_time(self) -> timedelta | None:
        until = self.answered_at or (self.ended_at if self.abandoned else None)
        return until - self.queued_at if self.queued_at and until else None

    @property
    def ring_time(self) -> timedelta | None:
        return self.answered_at - self.ringing_at if self.ringing_at and self.answered_at else None

    @property
    def talk_time(self) -> timedelta | None:
        return self.ended_at - self.answered_at - self.hold if self.answered_at and self.ended_at else None

    @property
    def hold_time(self) -> timedelta | None:
        return self.hold if self.answered_at and self.ended_at else None

    @property
    def after_call_work(self) -> timedelta | None:
        return self.wrap_up_finished_at - self.ended_at if self.wrap_up_finished_at and self.ended_at else None

    def close_hold(self, at: datetime) -> timedelta | None:
        if self.hold_started_at is None:
            return None
        interval = max(at - self.hold_started_at, timedelta(0))
        self.hold += interval
        self.hold_started_at = None
        return interval


@dataclass
class CallReplay:
    """The call as its events so far describe it. `apply` returns the line for the thread, or None
    when the event changes nothing (a second "ended", a hold while nobody talks)."""

    caller: str
    names: dict[str, str] = field(default_factory=dict)  # agent email (lower case) → display name
    legs: list[Leg] = field(default_factory=list)
    started_at: datetime | None = None
    ended_at: datetime | None = None

    # ---- the events ----

    def apply(self, event: ReportedEvent) -> str | None:
        self.started_at = min(self.started_at or event.at, event.at)
        if self.ended_at is not None and event.kind not in (K.WRAP_UP_FINISHED, K.ABANDONED):
            return None  # the call is over: later reports of it talking or waiting are stale
        handler = getattr(self, f"_{event.kind}")
        return handler(event)

    def _offered(self, e: ReportedEvent) -> str | None:
        leg = self.current
        if leg is None:
            leg = self._new_leg(e.at, e.queue)
        elif leg.answered_at is not None:
            return self._transfer(e)  # back into a queue while talking: a transfer nobody announced
        else:
            leg.queued_at = leg.queued_at or e.at
            leg.queue = e.queue or leg.queue
        where = f"the {leg.queue} queue" if leg.queue else "the queue"
        return f"Call from {self.caller} is waiting in {where}."

    def _ringing(self, e: ReportedEvent) -> str | None:
        leg = self.current or self._new_leg(None, e.queue)
        if leg.answered_at is not None:
            return None
        leg.ringing_at = e.at
        leg.agent_email = e.agent_email or leg.agent_email
        return f"Ringing {self._agent(leg, 'an agent')}."

    def _answered(self, e: ReportedEvent) -> str | None:
        leg = self.current or self._new_leg(None, e.queue)
        if leg.answered_at is not None:
            if not e.agent_email or e.agent_email == leg.agent_email:
                return None
            self._end_leg(leg, e.at, transferred=True)  # another agent took over without a transfer event
            leg = self._new_leg(e.at, leg.queue)
        leg.answered_at = e.at
        leg.agent_email = e.agent_email or leg.agent_email
        waited = leg.queue_time
        after = f" after {duration(waited)} in queue" if waited is not None else ""
        return f"Call answered by {self._agent(leg, 'an agent')}{after}."

    def _hold(self, e: ReportedEvent) -> str | None:
        leg = self._talking()
        if leg is None or leg.hold_started_at is not None:
            return None
        leg.hold_started_at = e.at
        return f"{self._agent(leg, 'The agent')} put the caller on hold."

    def _unhold(self, e: ReportedEvent) -> str | None:
        leg = self._talking()
        interval = leg.close_hold(e.at) if leg else None
        if interval is None:
            return None
        return f"{self._agent(leg, 'The agent')} took the caller off hold after {duration(interval)}."

    def _transferred(self, e: ReportedEvent) -> str | None:
        leg = self.current
        if leg is None:
            return None
        if leg.answered_at is None:
            leg.queue = e.queue or leg.queue  # moved to another queue before anyone answered
            return f"Call moved to the {leg.queue} queue." if e.queue else None
        return self._transfer(e)

    def _transfer(self, e: ReportedEvent) -> str:
        leg = self.current
        leg.agent_email = leg.agent_email or e.agent_email
        self._end_leg(leg, e.at, transferred=True)
        self._new_leg(e.at, e.queue or leg.queue)
        where = f" to the {e.queue} queue" if e.queue else ""
        return f"{self._agent(leg, 'The agent')} transferred the call{where}."

    def _ended(self, e: ReportedEvent) -> str | None:
        self.ended_at = e.at
        leg = self.current
        if leg is not None and leg.ended_at is None:
            if leg.answered_at is None and leg.queued_at is not None:
                leg.abandoned = True
            self._end_leg(leg, e.at)
        if self.abandoned:
            return self._abandon_line()
        if self.answered_at is None:
            return "The caller hung up before reaching a queue."
        return f"Call ended: talk {duration(self.talk_time)}, hold {duration(self.hold_time)}."

    def _abandoned(self, e: ReportedEvent) -> str | None:
        leg = self.current
        if leg is None:
            leg = self._new_leg(None, e.queue)
        if leg.answered_at is not None and leg.ended_at is None:
            return self._ended(e)  # "abandoned" while talking is just a hang-up
        if leg.answered_at is not None or leg.abandoned:
            return None
        leg.abandoned = True
        if leg.ended_at is None:
            self._end_leg(leg, e.at)
        self.ended_at = self.ended_at or e.at
        return self._abandon_line() if self.abandoned else None

    def _wrap_up_finished(self, e: ReportedEvent) -> str | None:
        handled = [leg for leg in self.legs if leg.answered_at is not None and leg.ended_at is not None]
        mine = [leg for leg in handled if e.agent_email and leg.agent_email == e.agent_email]
        leg = (mine or handled or [None])[-1]
        if leg is None or leg.wrap_up_finished_at is not None or e.at < leg.ended_at:
            return None
        leg.wrap_up_finished_at = e.at
        return f"{self._agent(leg, 'The agent')} finished after-call work in {duration(leg.after_call_work)}."

    # ---- helpers ----

    @property
    def current(self) -> Leg | None:
        return self.legs[-1] if self.legs else None

    def _talking(self) -> Leg | None:
        leg = self.current
        return leg if leg is not None and leg.answered_at is not None and leg.ended_at is None else None

    def _new_leg(self, queued_at: datetime | None, queue: str) -> Leg:
        leg = Leg(position=len(self.legs) + 1, queue=queue, queued_at=queued_at)
        self.legs.append(leg)
        return leg

    @staticmethod
    def _end_leg(leg: Leg, at: datetime, *, transferred: bool = False) -> None:
        leg.close_hold(at)
        leg.ended_at = at
        leg.transferred = transferred

    def _agent(self, leg: Leg, fallback: str) -> str:
        return self.names.get(leg.agent_email, leg.agent_email) or fallback

    def _abandon_line(self) -> str:
        waited = self.queue_time
        return (f"The caller hung up after {duration(waited)} in queue: abandoned." if waited is not None
                else "The caller hung up while waiting: abandoned.")

    # ---- the call as a whole ----

    @property
    def queued_at(self) -> datetime | None:
        return min((leg.queued_at for leg in self.legs if leg.queued_at), default=None)

    @property
    def answered_at(self) -> datetime | None:
        return min((leg.answered_at for leg in self.legs if leg.answered_at), default=None)

    @property
    def wrap_up_finished_at(self) -> datetime | None:
        return max((leg.wrap_up_finished_at for leg in self.legs if leg.wrap_up_finished_at), default=None)

    @property
    def abandoned(self) -> bool:
        return self.answered_at is None and any(leg.abandoned for leg in self.legs)

    @property
    def queue_time(self) -> timedelta | None:
        return _total(leg.queue_time for leg in self.legs)

    @property
    def ring_time(self) -> timedelta | None:
        return _total(leg.ring_time for leg in self.legs)

    @property
    def talk_time(self) -> timedelta | None:
        return _total(leg.talk_time for leg in self.legs)

    @property
    def hold_time(self) -> timedelta | None:
        return _total(leg.hold_time for leg in self.legs)

    @property
    def after_call_work(self) -> timedelta | None:
        return _total(leg.after_call_work for leg in self.legs)

    @property
    def state(self) -> str:
        leg = self.current
        if self.ended_at is not None:
            if self.abandoned:
                return CallState.ABANDONED
            last_handled = next((leg for leg in reversed(self.legs) if leg.answered_at), None)
            return CallState.WRAP_UP if last_handled and not last_handled.wrap_up_finished_at else CallState.DONE
        if leg is None:
            return CallState.IVR
        if leg.hold_started_at is not None:
            return CallState.ON_HOLD
        if leg.answered_at is not None:
            return CallState.TALKING
        if leg.ringing_at is not None:
            return CallState.RINGING
        return CallState.QUEUED if leg.queued_at is not None else CallState.IVR


def replay(events: Iterable[ReportedEvent], *, caller: str, names: dict[str, str], focus: int | None = None
           ) -> tuple[CallReplay, str | None]:
    """The call after all `events`, and the thread line of the one whose `ref` is `focus`."""
    call = CallReplay(caller=caller, names=names)
    line = None
    for event in sorted(events, key=lambda e: (e.at, _LIFECYCLE[e.kind])):
        text = call.apply(event)
        if focus is not None and event.ref == focus:
            line = text
    return call, line


def _total(parts: Iterable[timedelta | None]) -> timedelta | None:
    known = [p for p in parts if p is not None]
    return sum(known, timedelta(0)) if known else None


def duration(value: timedelta | None) -> str:
    """0:42, 12:05, 1:02:09."""
    if value is None:
        return "–"
    seconds = max(round(value.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
