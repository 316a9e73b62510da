"""The routing policy: who may take a contact, in which order contacts are served, and which agent is
picked. Pure Python on plain, frozen state, so the live router (database rows turned into
`AgentState` / `ContactState`) and the simulator (`routing.simulator`) make every decision through the
very same functions; a what-if run therefore predicts what the desk would do.

Nothing here reads a clock: `now` is always passed in (timezone-aware), which keeps decisions
reproducible in tests, in the simulator and when a decision is replayed from its log.

Who qualifies for a contact (`qualifies`)
    - presence "online" ("away" and "offline" agents get no new work);
    - capacity left for the contact's work kind (`has_capacity`: defaults 1 call, 3 chats,
      10 messages/emails; an agent in a call gets no new chat when `in_call_blocks_chat`);
    - every required skill at the contact's minimum proficiency (1-5);
    - a member of the contact's team, when the contact names one.
    After `RoutingRules.overflow_after` of waiting the contact *overflows*: the minimum proficiency
    drops to 1 (the skill is still needed) and members of `RoutingRules.overflow_team_id` qualify too.

Which contact goes first (`contact_order_key`)
    VIP contacts and contacts whose SLA is due within `sla_at_risk_within` (or already breached) come
    first; then higher priority (0 low .. 3 urgent); then the one waiting longest (ageing), so a
    low-priority contact is never starved by a stream of newer ones of the same priority.

Which agent is picked (`rank_agents`, `choose_agent`), by named policy (`POLICIES`)
    - ``best_skill`` (the default): the best proficiency match on the required skills (an agent's
      match is their *lowest* proficiency among the required skills: a contact is handled as well as
      its weakest skill), then the least occupied for that work kind (open contacts / capacity), then
      the longest idle (earliest `idle_since`).
    - ``longest_idle``: the longest idle first, then least occupied, then best proficiency. Spreads
      work evenly: the classic automatic call distributor rule.
    - ``least_occupied``: the least occupied first, then best proficiency, then longest idle. Keeps
      chat agents' concurrency even, so no one drowns while a neighbour has free slots.
    Every policy breaks the last tie on the lowest agent id, so a decision is deterministic.

Stickiness (`choose_agent`, `next_contact_for`)
    A returning customer goes to their last agent when that agent qualifies and has capacity. While
    the contact has waited less than `RoutingRules.sticky_wait` and that agent is online and skilled but
    busy, the contact waits for them (no other agent takes it); after that, anyone qualified may.

Each decision comes with a short human reason (`Choice.reason`), e.g. "best proficiency 4 for
billing, 1/3 chats, idle 5 min", logged with the assignment so a supervisor can see why.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

ONLINE = "online"
AWAY = "away"
OFFLINE = "offline"
PRESENCES = frozenset({ONLINE, AWAY, OFFLINE})

VOICE = "voice"
CHAT = "chat"
MESSAGE = "message"
WORK_KINDS = (VOICE, CHAT, MESSAGE)
DEFAULT_CAPACITY: Mapping[str, int] = MappingProxyType({VOICE: 1, CHAT: 3, MESSAGE: 10})
_PLURALS = {VOICE: "calls", CHAT: "chats", MESSAGE: "messages"}

DEFAULT_POLICY = "best_skill"


class UnknownPolicyError(ValueError):
    """A policy name that is not in `POLICIES` (a typo in a queue's settings or a scenario file)."""


@dataclass(frozen=True, kw_only=True)
class AgentState:
    """One agent as the router sees them at one moment. `load` and `capacity` are per work kind."""

    agent_id: int
    presence: str
    skills: Mapping[str, int]
    team_ids: frozenset[int] = frozenset()
    capacity: Mapping[str, int] = field(default_factory=lambda: DEFAULT_CAPACITY)
    load: Mapping[str, int] = field(default_factory=dict)
    # When the agent last finished or was given work: the "idle" of longest-idle routing.
    idle_since: datetime
    # The workspace setting "a call blocks new chats", copied here so the policy needs nothing else.
    in_call_blocks_chat: bool = False

    def __post_init__(self) -> None:
        if self.presence not in PRESENCES:
            raise ValueError(f"presence must be one of {sorted(PRESENCES)}, not {self.presence!r}")


@dataclass(frozen=True, kw_only=True)
class ContactState:
    """One contact waiting for (or being offered to) an agent. `required_skills` maps a skill name to
    the minimum proficiency (1-5) an agent needs before the contact overflows."""

    contact_id: int
    work_kind: str
    required_skills: Mapping[str, int] = field(default_factory=dict)
    team_id: int | None = None
    priority: int = 0  # 0 low .. 3 urgent
    vip: bool = False
    sla_due_at: datetime | None = None
    waiting_since: datetime
    last_agent_id: int | None = None

    def __post_init__(self) -> None:
        if self.work_kind not in _PLURALS:
            raise ValueError(f"work kind must be one of {list(WORK_KINDS)}, not {self.work_kind!r}")


@dataclass(frozen=True)
class RoutingRules:
    """The knobs a supervisor turns; the same object drives the live router and the simulator."""

    sticky_wait: timedelta = timedelta(seconds=30)
    overflow_after: timedelta | None = None
    overflow_team_id: int | None = None
    sla_at_risk_within: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Choice:
    """The picked agent and why, in words a supervisor reads in the assignment log."""

    agent_id: int
    reason: str


# ---- who may take a contact -------------------------------------------------------------------


def has_capacity(agent: AgentState, work_kind: str) -> bool:
    """A free slot for this kind of work. A call in progress blocks a new chat when the workspace says
    so, since a voice agent cannot type to a chat customer while talking."""
    if agent.load.get(work_kind, 0) >= agent.capacity.get(work_kind, 0):
        return False
    return not (work_kind == CHAT and agent.in_call_blocks_chat and agent.load.get(VOICE, 0) > 0)


def is_overflowing(contact: ContactState, now: datetime, rules: RoutingRules) -> bool:
    """Waited long enough that a weaker skill match or the overflow team beats waiting longer."""
    return rules.overflow_after is not None and now - contact.waiting_since >= rules.overflow_after


def holds_skills(agent: AgentState, contact: ContactState, now: datetime, rules: RoutingRules) -> bool:
    """Skills and team, ignoring presence and load: could this agent ever serve this contact now."""
    overflowing = is_overflowing(contact, now, rules)
    team = contact.team_id
    if team is not None and team not in agent.team_ids and not (
        overflowing and rules.overflow_team_id is not None and rules.overflow_team_id in agent.team_ids
    ):
        return False
    skills = agent.skills
    for skill, minimum in contact.required_skills.items():
        if skills.get(skill, 0) < (1 if overflowing else minimum):
            return False
    return True


def qualifies(agent: AgentState, contact: ContactState, now: datetime, rules: RoutingRules) -> bool:
    """Online, a free slot for the contact's work kind, and the skills (and team) it needs."""
    return (
        agent.presence == ONLINE
        and has_capacity(agent, contact.work_kind)
        and holds_skills(agent, contact, now, rules)
    )


# ---- which contact goes first -----------------------------------------------------------------


def is_sla_at_risk(contact: ContactState, now: datetime, rules: RoutingRules) -> bool:
    return contact.sla_due_at is not None and contact.sla_due_at - now <= rules.sla_at_risk_within


def contact_order_key(contact: ContactState, now: datetime, rules: RoutingRules) -> tuple[Any, ...]:
    """Sort key, smallest first: VIP or SLA due/at risk, then priority, then the oldest wait (ageing).
    The contact id settles exact ties so every router orders the same way."""
    urgent = contact.vip or is_sla_at_risk(contact, now, rules)
    return (0 if urgent else 1, -contact.priority, contact.waiting_since, contact.contact_id)


# ---- which agent is picked --------------------------------------------------------------------


def proficiency_match(agent: AgentState, contact: ContactState) -> int:
    """The agent's weakest proficiency among the required skills (0 when nothing is required)."""
    if not contact.required_skills:
        return 0
    return min(agent.skills.get(skill, 0) for skill in contact.required_skills)


def occupancy_for(agent: AgentState, work_kind: str) -> float:
    """Open contacts of this kind over capacity for it; no capacity counts as full."""
    capacity = agent.capacity.get(work_kind, 0)
    return agent.load.get(work_kind, 0) / capacity if capacity > 0 else 1.0


RankingKey = Callable[[AgentState, ContactState], tuple[Any, ...]]


def _best_skill(agent: AgentState, contact: ContactState) -> tuple[Any, ...]:
    return (-proficiency_match(agent, contact), occupancy_for(agent, contact.work_kind), agent.idle_since,
            agent.agent_id)


def _longest_idle(agent: AgentState, contact: ContactState) -> tuple[Any, ...]:
    return (agent.idle_since, occupancy_for(agent, contact.work_kind), -proficiency_match(agent, contact),
            agent.agent_id)


def _least_occupied(agent: AgentState, contact: ContactState) -> tuple[Any, ...]:
    return (occupancy_for(agent, contact.work_kind), -proficiency_match(agent, contact), agent.idle_since,
            agent.agent_id)


# name -> ranking key (smallest first). Documented in the module docstring; "best_skill" is the default.
POLICIES: Mapping[str, RankingKey] = MappingProxyType({
    "best_skill": _best_skill,
    "longest_idle": _longest_idle,
    "least_occupied": _least_occupied,
})


def ranking_key(policy: str) -> RankingKey:
    try:
        return POLICIES[policy]
    except KeyError:
        raise UnknownPolicyError(
            f"unknown routing policy {policy!r}; choose one of: {', '.join(POLICIES)}"
        ) from None


def rank_agents(
    contact: ContactState,
    agents: Iterable[AgentState],
    now: datetime,
    rules: RoutingRules,
    policy: str = DEFAULT_POLICY,
) -> list[Choice]:
    """Every qualified agent, best first, each with the reason for its place. No stickiness here:
    this is the policy's plain ranking, shown to a supervisor who asks "who would get this?"."""
    key = ranking_key(policy)
    qualified = sorted((a for a in agents if qualifies(a, contact, now, rules)), key=lambda a: key(a, contact))
    return [Choice(a.agent_id, explain(a, contact, now, rules, policy)) for a in qualified]


def choose_agent(
    contact: ContactState,
    agents: Collection[AgentState],
    now: datetime,
    rules: RoutingRules,
    policy: str = DEFAULT_POLICY,
) -> Choice | None:
    """The agent to offer the contact to now, or None to keep it queued.

    `agents` are those who might take the contact; pass the customer's last agent even when busy,
    since whether they are busy decides whether the contact waits for them.
    """
    key = ranking_key(policy)
    if contact.last_agent_id is not None:
        last = next((a for a in agents if a.agent_id == contact.last_agent_id), None)
        if last is not None and last.presence == ONLINE and holds_skills(last, contact, now, rules):
            if has_capacity(last, contact.work_kind):
                return Choice(last.agent_id, explain(last, contact, now, rules, policy, sticky=True))
            if now - contact.waiting_since < rules.sticky_wait:
                return None
    best = min((a for a in agents if qualifies(a, contact, now, rules)), key=lambda a: key(a, contact),
               default=None)
    return None if best is None else Choice(best.agent_id, explain(best, contact, now, rules, policy))


def is_held_for_last_agent(
    contact: ContactState,
    agent: AgentState,
    now: datetime,
    rules: RoutingRules,
    agents_by_id: Mapping[int, AgentState],
) -> bool:
    """The contact is still inside its sticky wait for another agent who is online and skilled for it.
    An agent missing from `agents_by_id` counts as gone, so the contact is not held for them."""
    last_id = contact.last_agent_id
    if last_id is None or last_id == agent.agent_id or now - contact.waiting_since >= rules.sticky_wait:
        return False
    last = agents_by_id.get(last_id)
    return last is not None and last.presence == ONLINE and holds_skills(last, contact, now, rules)


def next_contact_for(
    agent: AgentState,
    contacts: Iterable[ContactState],
    now: datetime,
    rules: RoutingRules,
    policy: str = DEFAULT_POLICY,
    *,
    presorted: bool = False,
    agents_by_id: Mapping[int, AgentState] | None = None,
) -> ContactState | None:
    """When an agent gains capacity: the first waiting contact, in contact order, they qualify for.

    Contact order (not the agent ranking) decides here: with queue-then-assign no qualified agent was
    free when these contacts queued, so the oldest, most urgent one is owed the first free slot.
    `policy` is checked so a misnamed policy fails here as in `choose_agent`; `explain` gives the
    reason to log. `presorted=True` says the caller already yields contacts in `contact_order_key`
    order (a database ORDER BY, the simulator's sorted queues), so only the head is scanned.
    `agents_by_id` (the contacts' last agents) lets a contact keep waiting for its sticky agent.
    """
    ranking_key(policy)
    if agent.presence != ONLINE:
        return None
    ordered = contacts if presorted else sorted(contacts, key=lambda c: contact_order_key(c, now, rules))
    held_for = agents_by_id or {}
    for contact in ordered:
        if qualifies(agent, contact, now, rules) and not is_held_for_last_agent(
            contact, agent, now, rules, held_for
        ):
            return contact
    return None


# ---- reasons ----------------------------------------------------------------------------------


def _format_wait(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def _proficiency_phrase(agent: AgentState, contact: ContactState) -> str:
    if not contact.required_skills:
        return "no skill required"
    skills = list(contact.required_skills)
    if len(skills) == 1:
        return f"proficiency {agent.skills.get(skills[0], 0)} for {skills[0]}"
    each = ", ".join(f"{s} {agent.skills.get(s, 0)}" for s in skills)
    return f"proficiency {proficiency_match(agent, contact)} for {'+'.join(skills)} ({each})"


def explain(
    agent: AgentState,
    contact: ContactState,
    now: datetime,
    rules: RoutingRules,
    policy: str = DEFAULT_POLICY,
    *,
    sticky: bool = False,
) -> str:
    """The reason logged with an assignment, the policy's deciding criterion first."""
    kind = contact.work_kind
    proficiency = _proficiency_phrase(agent, contact)
    load = f"{agent.load.get(kind, 0)}/{agent.capacity.get(kind, 0)} {_PLURALS[kind]}"
    idle = f"idle {_format_wait(now - agent.idle_since)}"
    if sticky:
        parts = ["customer's last agent", proficiency, load, idle]
    elif policy == "longest_idle":
        parts = [f"longest {idle}", load, proficiency]
    elif policy == "least_occupied":
        parts = [f"least occupied {load}", proficiency, idle]
    else:
        parts = [f"best {proficiency}" if contact.required_skills else proficiency, load, idle]
    if is_overflowing(contact, now, rules) and not holds_skills(agent, contact, now, RoutingRules()):
        parts.append(f"overflow after {_format_wait(now - contact.waiting_since)} waiting")
    return ", ".join(parts)
