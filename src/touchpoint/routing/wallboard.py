"""The live wallboard's figures: per queue, per agent and for SLAs, read from the routing rows as they
stand. Pure reads over the database, always inside one workspace, each a fixed handful of queries
however many queues, agents or contacts there are (the wallboard refreshes every few seconds).

Counting (KPIS.md, "Counting" and "Queue KPIs")
    A contact is one `QueuedContact` row: one time a conversation waited in a queue. It *entered the
    queue* at its `waiting_since` (when the customer began waiting for a human: the moment the router
    ages it by) and counts in the day it entered, in the workspace's time zone ("today" is since
    local midnight). Its *queue time* runs from `waiting_since` to when an agent was connected.

    offered    every contact that entered the queue today, whatever became of it.
    answered   connected to an agent. Either the router or a claim assigned it (state ``assigned``:
               connected at ``ended_at``), or its wait was ended another way (state ``cancelled``) and
               an agent had reached the customer: the earliest of a public agent reply in the wait,
               the conversation's first human response in the wait (an answered call records one),
               or, when the conversation has an assignee, the end of the wait (assigned by hand).
    abandoned  ended ``cancelled`` with no agent and no agent reply: the customer left, or the
               conversation was closed, set pending or snoozed before anyone answered. Its queue time
               runs to ``ended_at``.
    waiting    neither yet.

Service level (T), variant V2 (the default): answered within T / (offered − abandoned within T).
    "Within T" is a queue time of at most T. T depends on the contact's work kind (a queue may take
    several channels): 20 s for calls and chats, 4 h for messages and email, overridable with the
    setting ``SERVICE_LEVEL_TARGET_S`` ({"voice": 20, "chat": 20, "message": 14400}). Live, a contact
    still waiting within T can still go either way, so it is left out of every service level until it
    is answered, abandoned or passes T; one waiting past T is already a miss. V1 (answered within T /
    offered) and V3 ((answered + abandoned within T) / offered) come from the same counts.
ASA        Σ queue time of answered / answered.
Average wait  Σ queue time of answered and abandoned / (answered + abandoned).
Abandonment rate  abandoned / offered.
Longest current wait  now − the oldest waiting contact's `waiting_since`, whichever day it entered.

Agents
    Load is the agent's open conversations per work kind, as the router counts it. Occupancy here is
    the live, instantaneous one a wallboard shows (load / capacity of the agent's busiest work kind),
    not KPIS.md's time-based occupancy over a period (that comes from handling-time facts). Idle time
    is shown for an online agent with no open conversation: now − `idle_since` (last given work, or
    came online).
"""

from __future__ import annotations

import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Case, Count, Min, OuterRef, Q, Subquery, When

from touchpoint.accounts.models import AgentSkill, Membership, Team, Workspace
from touchpoint.conversations.models import Conversation, Message, MessageKind, SenderType, Status
from touchpoint.core.permissions import Role
from touchpoint.routing import policy
from touchpoint.routing.models import (
    AgentStatus,
    ContactState,
    ConversationSla,
    Presence,
    Queue,
    QueuedContact,
    SlaStateName,
)
from touchpoint.routing.services import work_kind_of

SERVICE_LEVEL_VARIANT = "V2"
DEFAULT_TARGETS_S: Mapping[str, int] = {policy.VOICE: 20, policy.CHAT: 20, policy.MESSAGE: 4 * 3600}
PRESENCE_ORDER = (Presence.ONLINE, Presence.AWAY, Presence.OFFLINE)
DUE_NEXT = 5  # SLAs listed on the board, the soonest due first
CLAIMABLE = 20  # waiting contacts offered to an agent on their panel
CLAIMABLE_SCAN = 200  # the head of the waiting line read to find them


def service_level_targets() -> dict[str, int]:
    """T per work kind, in seconds: the defaults under the setting's overrides."""
    return {**DEFAULT_TARGETS_S, **getattr(settings, "SERVICE_LEVEL_TARGET_S", {})}


def today_start(workspace: Workspace, now: datetime) -> datetime:
    """Local midnight of `now`'s day in the workspace's time zone, as an aware time."""
    zone = zoneinfo.ZoneInfo(workspace.timezone or "UTC")
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


# ---- queues ------------------------------------------------------------------------------------


@dataclass
class QueueCounts:
    """What became of the contacts that entered a queue in a period, and how long they waited."""

    offered: int = 0
    answered: int = 0
    answered_in_target: int = 0
    abandoned: int = 0
    abandoned_in_target: int = 0
    waiting: int = 0  # entered in the period and still waiting
    waiting_past_target: int = 0
    answered_wait_s: float = 0.0
    abandoned_wait_s: float = 0.0

    @property
    def decided(self) -> int:
        """Offered contacts whose outcome against T is known: the live service level's base."""
        return self.answered + self.abandoned + self.waiting_past_target

    @property
    def service_level(self) -> float | None:
        """V2: answered within T / (offered − abandoned within T), over decided contacts."""
        base = self.decided - self.abandoned_in_target
        return self.answered_in_target / base if base else None

    @property
    def service_level_v1(self) -> float | None:
        return self.answered_in_target / self.decided if self.decided else None

    @property
    def service_level_v3(self) -> float | None:
        return (self.answered_in_target + self.abandoned_in_target) / self.decided if self.decided else None

    @property
    def asa_s(self) -> float | None:
        return self.answered_wait_s / self.answered if self.answered else None

    @property
    def average_wait_s(self) -> float | None:
        ended = self.answered + self.abandoned
        return (self.answered_wait_s + self.abandoned_wait_s) / ended if ended else None

    @property
    def abandonment_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    def count(self, outcome: Outcome, target_s: float) -> None:
        self.offered += 1
        within = outcome.queue_s <= target_s
        if outcome.kind == ANSWERED:
            self.answered += 1
            self.answered_in_target += within
            self.answered_wait_s += outcome.queue_s
        elif outcome.kind == ABANDONED:
            self.abandoned += 1
            self.abandoned_in_target += within
            self.abandoned_wait_s += outcome.queue_s
        else:
            self.waiting += 1
            self.waiting_past_target += not within


@dataclass(frozen=True)
class QueueFigures:
    queue_id: int
    name: str
    work_kinds: tuple[str, ...]  # the kinds of work its channels bring, in policy order
    targets_s: dict[str, int]  # T for each of them
    waiting_now: int
    longest_wait_s: float | None
    today: QueueCounts = field(default_factory=QueueCounts)
    variant: str = SERVICE_LEVEL_VARIANT


ANSWERED, ABANDONED, WAITING = "answered", "abandoned", "waiting"


@dataclass(frozen=True)
class Outcome:
    kind: str  # answered, abandoned or waiting
    queue_s: float  # so far, for a contact still waiting


def outcome_of(*, state: str, waiting_since: datetime, ended_at: datetime | None, now: datetime,
               reply_at: datetime | None = None, first_response_at: datetime | None = None,
               has_assignee: bool = False) -> Outcome:
    """One contact's outcome and queue time, by the rules in the module docstring."""
    if state == ContactState.WAITING or ended_at is None:
        return Outcome(WAITING, _seconds(now - waiting_since))
    if state == ContactState.ASSIGNED:
        return Outcome(ANSWERED, _seconds(ended_at - waiting_since))
    reached = [at for at in (reply_at, first_response_at) if at is not None and waiting_since <= at <= ended_at]
    if has_assignee:
        reached.append(ended_at)
    if reached:
        return Outcome(ANSWERED, _seconds(min(reached) - waiting_since))
    return Outcome(ABANDONED, _seconds(ended_at - waiting_since))


def queue_figures(workspace: Workspace, day_start: datetime, now: datetime) -> list[QueueFigures]:
    """Every queue of the workspace, in routing order, with its live line and its day so far.
    Three queries."""
    queues = list(Queue.objects.filter(workspace_id=workspace.pk))
    targets = service_level_targets()
    waiting = {row["queue_id"]: row for row in (
        QueuedContact.objects.filter(workspace_id=workspace.pk, state=ContactState.WAITING)
        .values("queue_id").annotate(n=Count("id"), oldest=Min("waiting_since")).order_by())}
    counts: dict[int, QueueCounts] = defaultdict(QueueCounts)
    for row in _contacts_entered(workspace.pk, day_start, now):
        outcome = outcome_of(state=row["state"], waiting_since=row["waiting_since"], ended_at=row["ended_at"], now=now,
                             reply_at=row["reply_at"], first_response_at=row["conversation__first_response_at"],
                             has_assignee=row["conversation__assignee_id"] is not None)
        counts[row["queue_id"]].count(outcome, targets.get(row["work_kind"], DEFAULT_TARGETS_S[policy.MESSAGE]))
    figures = []
    for queue in queues:
        kinds = _work_kinds(queue.channels)
        line = waiting.get(queue.pk)
        figures.append(QueueFigures(
            queue_id=queue.pk, name=queue.name, work_kinds=kinds, targets_s={k: targets[k] for k in kinds},
            waiting_now=line["n"] if line else 0,
            longest_wait_s=max(0.0, _seconds(now - line["oldest"])) if line else None,
            today=counts[queue.pk],
        ))
    return figures


def _contacts_entered(workspace_id: int, day_start: datetime, now: datetime) -> Iterable[dict]:
    """The day's contacts with what decides their outcome, in one query: for a cancelled wait (only:
    the others need no reply), the first public agent reply inside it (a correlated subquery on the
    thread index)."""
    replies = Message.objects.filter(
        conversation_id=OuterRef("conversation_id"), kind=MessageKind.OUTGOING, sender_type=SenderType.AGENT,
        created_at__gte=OuterRef("waiting_since"), created_at__lte=OuterRef("ended_at"),
    ).order_by("created_at").values("created_at")[:1]
    return (QueuedContact.objects
            .filter(workspace_id=workspace_id, waiting_since__gte=day_start, waiting_since__lte=now)
            .annotate(reply_at=Case(When(state=ContactState.CANCELLED, then=Subquery(replies))))
            .values("queue_id", "work_kind", "state", "waiting_since", "ended_at", "reply_at",
                    "conversation__first_response_at", "conversation__assignee_id")
            .order_by())


def _work_kinds(channels: list[str]) -> tuple[str, ...]:
    """A queue with no channels takes every channel, so every kind of work."""
    if not channels:
        return policy.WORK_KINDS
    found = {work_kind_of(c) for c in channels}
    return tuple(k for k in policy.WORK_KINDS if k in found)


def _seconds(delta: timedelta) -> float:
    return delta.total_seconds()


# ---- agents ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentFigures:
    membership_id: int
    name: str
    presence: str
    presence_since: datetime | None
    load: dict[str, int]  # open conversations per work kind
    capacity: dict[str, int]
    main_kind: str | None  # the kind that fills them most
    occupancy: float | None  # load / capacity of that kind, now
    idle_s: float | None  # online with nothing open: since when


@dataclass(frozen=True)
class AgentBoard:
    agents: list[AgentFigures]
    by_presence: dict[str, int]
    busy: int  # online and full in their busiest kind
    occupancy: float | None  # mean of online agents' occupancy


def agent_figures(workspace: Workspace, now: datetime) -> AgentBoard:
    """Every active agent, and any supervisor or admin who is taking work (not offline, or holding
    open conversations), with presence, load against capacity, occupancy and idle time; online
    first. Two queries."""
    load = _open_load(workspace.pk)
    members = [m for m in Membership.objects.filter(workspace_id=workspace.pk, is_active=True)
               .select_related("routing_status") if m.role == Role.AGENT or m.pk in load or _present(m)]
    agents = [_agent(m, load.get(m.pk, {}), now) for m in members]
    agents.sort(key=lambda a: (PRESENCE_ORDER.index(a.presence), a.name.lower(), a.membership_id))
    by_presence = Counter(a.presence for a in agents)
    online = [a for a in agents if a.presence == Presence.ONLINE and a.occupancy is not None]
    return AgentBoard(
        agents=agents, by_presence={p.value: by_presence.get(p.value, 0) for p in PRESENCE_ORDER},
        busy=sum(1 for a in online if a.occupancy >= 1),
        occupancy=sum(a.occupancy for a in online) / len(online) if online else None,
    )


def agent_load(membership: Membership, now: datetime) -> AgentFigures:
    """One agent's own figures (their panel): two queries."""
    membership = Membership.objects.select_related("routing_status").get(pk=membership.pk)
    return _agent(membership, _open_load(membership.workspace_id, [membership.pk]).get(membership.pk, {}), now)


def status_of(membership: Membership) -> AgentStatus | None:
    """The agent's routing status read with `select_related("routing_status")`, or None before first use."""
    try:
        return membership.routing_status
    except Membership.routing_status.RelatedObjectDoesNotExist:
        return None


def _agent(membership: Membership, load: dict[str, int], now: datetime) -> AgentFigures:
    status = status_of(membership)
    presence = status.presence if status is not None else Presence.OFFLINE
    capacity = {k: (status.capacity_for(k) if status is not None else policy.DEFAULT_CAPACITY[k])
                for k in policy.WORK_KINDS}
    main_kind, occupancy = busiest_kind(load, capacity)
    idle = (max(0.0, _seconds(now - status.idle_since))
            if status is not None and presence == Presence.ONLINE and not any(load.values()) else None)
    return AgentFigures(
        membership_id=membership.pk, name=membership.display_name, presence=presence,
        presence_since=status.changed_at if status is not None else None,
        load={k: load.get(k, 0) for k in policy.WORK_KINDS}, capacity=capacity, main_kind=main_kind,
        occupancy=occupancy, idle_s=idle,
    )


def busiest_kind(load: Mapping[str, int], capacity: Mapping[str, int]) -> tuple[str | None, float | None]:
    """The work kind the agent is fullest in (load / capacity), and that ratio. Kinds with no capacity
    are left out (work given by hand beyond it shows as load); ties go to the kind with more open
    work, then to voice, chat, message in that order. No capacity at all: (None, None)."""
    best: tuple | None = None
    for rank, kind in enumerate(policy.WORK_KINDS):
        slots = capacity.get(kind, 0)
        if slots <= 0:
            continue
        ratio = load.get(kind, 0) / slots
        key = (-ratio, -load.get(kind, 0), rank)
        if best is None or key < best[0]:
            best = (key, kind, ratio)
    return (best[1], best[2]) if best else (None, None)


def _present(membership: Membership) -> bool:
    status = status_of(membership)
    return status is not None and status.presence != Presence.OFFLINE


def _open_load(workspace_id: int, membership_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Open conversations per assignee and work kind (everyone's when no ids are given)."""
    rows = Conversation.objects.filter(workspace_id=workspace_id, status=Status.OPEN, assignee_id__isnull=False)
    if membership_ids is not None:
        rows = rows.filter(assignee_id__in=membership_ids)
    load: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for member, channel, n in rows.values_list("assignee_id", "channel").annotate(n=Count("id")).order_by():
        load[member][work_kind_of(channel)] += n
    return load


# ---- SLAs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaDue:
    conversation_id: int
    subject: str
    assignee: str  # "" when nobody has it
    state: str
    due_at: datetime
    due_in_s: float  # negative once past


@dataclass(frozen=True)
class SlaFigures:
    at_risk: int = 0
    breached: int = 0
    due_next: list[SlaDue] = field(default_factory=list)


def sla_figures(workspace: Workspace, now: datetime, *, assignee: Membership | None = None,
                limit: int = DUE_NEXT) -> SlaFigures:
    """SLAs at risk and breached among conversations not yet resolved (a breach stays on the board
    until the conversation is resolved), and the next few due among running ones, soonest first.
    For one agent's own conversations when `assignee` is given. Two queries."""
    rows = ConversationSla.objects.filter(workspace_id=workspace.pk).exclude(conversation__status=Status.RESOLVED)
    if assignee is not None:
        rows = rows.filter(conversation__assignee_id=assignee.pk)
    counts = rows.aggregate(at_risk=Count("pk", filter=Q(state=SlaStateName.AT_RISK)),
                            breached=Count("pk", filter=Q(state=SlaStateName.BREACHED)))
    due = (rows.filter(state__in=(SlaStateName.AT_RISK, SlaStateName.ON_TRACK), next_due_at__isnull=False)
           .select_related("conversation__assignee", "conversation__customer").order_by("next_due_at", "pk")[:limit])
    return SlaFigures(
        at_risk=counts["at_risk"], breached=counts["breached"],
        due_next=[SlaDue(conversation_id=s.conversation_id,
                         subject=s.conversation.subject or str(s.conversation.customer),
                         assignee=s.conversation.assignee.display_name if s.conversation.assignee else "",
                         state=s.state, due_at=s.next_due_at, due_in_s=_seconds(s.next_due_at - now)) for s in due],
    )


# ---- an agent's own queue ----------------------------------------------------------------------


def claimable_contacts(membership: Membership, now: datetime, limit: int = CLAIMABLE) -> list[QueuedContact]:
    """Waiting contacts this agent holds the skills (and team) for, in the order the router serves
    them: what their panel offers to claim. Presence and capacity are left out on purpose: a claim is
    the agent's own choice. Four queries."""
    held = dict(AgentSkill.objects.filter(membership_id=membership.pk).values_list("skill__name", "proficiency"))
    teams = frozenset(Team.members.through.objects.filter(membership_id=membership.pk).values_list("team_id", flat=True))
    agent = policy.AgentState(agent_id=membership.pk, presence=policy.ONLINE, skills=held, team_ids=teams,
                              idle_since=now)
    waiting = (QueuedContact.objects.filter(workspace_id=membership.workspace_id, state=ContactState.WAITING)
               .select_related("queue", "conversation__customer")
               .order_by("-vip", "-priority", "waiting_since", "id")[:CLAIMABLE_SCAN])
    found = []
    for contact in waiting:
        if policy.holds_skills(agent, _contact_state(contact), now, _rules(contact.queue)):
            found.append(contact)
            if len(found) == limit:
                break
    return found


def _contact_state(contact: QueuedContact) -> policy.ContactState:
    return policy.ContactState(
        contact_id=contact.pk, work_kind=contact.work_kind, required_skills=contact.queue.required_skills,
        team_id=contact.queue.team_id, priority=contact.priority, vip=contact.vip, waiting_since=contact.waiting_since,
    )


def _rules(queue: Queue) -> policy.RoutingRules:
    overflow = timedelta(seconds=queue.overflow_after_s) if queue.overflow_after_s is not None else None
    return policy.RoutingRules(overflow_after=overflow, overflow_team_id=queue.overflow_team_id)


# ---- the whole board ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Wallboard:
    now: datetime
    day_start: datetime
    queues: list[QueueFigures]
    agents: AgentBoard
    slas: SlaFigures


def wallboard(workspace: Workspace, now: datetime) -> Wallboard:
    """Everything the supervisor's board shows, as of `now`."""
    start = today_start(workspace, now)
    return Wallboard(now=now, day_start=start, queues=queue_figures(workspace, start, now),
                     agents=agent_figures(workspace, now), slas=sla_figures(workspace, now))
