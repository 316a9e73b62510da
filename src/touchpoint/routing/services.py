"""The live router: presence and capacity, queues, and queue-then-assign.

A conversation that needs an agent is queued (`enqueue`) and offered at once to the best agent who is
online, has a free slot and holds the skills (`route_contact`); when none is, it waits, and the next
agent to gain capacity (coming online, finishing a conversation, a raised capacity) takes the first
contact they qualify for (`offer_work`). Every choice is made by `policy.py`, the same code the
simulator runs, and logged with its reason (`RoutingDecision`).

Assignment is atomic: the waiting contact is locked (`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL,
so two routers never wait on each other; on SQLite every write transaction is serialized, which is the
same guarantee) and the agent's status row is locked while their load is counted, so a contact is
assigned once and an agent never beyond capacity."""

import functools
import json
import logging
import zoneinfo
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q

from touchpoint.accounts.models import AgentSkill, Membership, Skill, Team
from touchpoint.accounts.selectors import workspace_of
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Channel, Conversation, Priority, Status
from touchpoint.core import audit
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, ValidationFailed
from touchpoint.core.events import publish
from touchpoint.core.permissions import Actor, Role
from touchpoint.realtime import listeners as live_events
from touchpoint.routing import policy, selectors, sla
from touchpoint.routing.calendar import BusinessCalendar, CalendarError
from touchpoint.routing.events import NotificationCreated, SlaChanged
from touchpoint.routing.models import (
    AgentStatus,
    ContactState,
    ConversationSla,
    Notification,
    Presence,
    Queue,
    QueuedContact,
    RoutingDecision,
    RoutingSettings,
    SlaPolicy,
    SlaStatusChange,
)

PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}
SLA_AT_RISK_WITHIN = timedelta(minutes=5)
MAX_CAPACITY = 50
SWEEP_EVERY = timedelta(seconds=5)  # core.worker runs route_all_waiting this often
AWAY_AFTER = timedelta(seconds=60)  # no agent socket for this long: away
HEAD = 20  # waiting contacts per queue read for a free agent: the most urgent and oldest


def work_kind_of(channel: str) -> str:
    """Calls hold an agent alone, chats a few at a time, email and messages many."""
    return {Channel.VOICE: policy.VOICE, Channel.WEBCHAT: policy.CHAT}.get(channel, policy.MESSAGE)


def router_actor(workspace_id: int) -> Actor:
    """The router assigning on the workspace's behalf: its system events read "Touchpoint …"."""
    return Actor(workspace_id=workspace_id, membership_id=None, role=Role.ADMIN)


# ---- presence and capacity ------------------------------------------------------------------


def agent_status(membership: Membership) -> AgentStatus:
    status = AgentStatus.objects.filter(membership=membership).first()
    if status is None:
        at = now()
        status, _ = AgentStatus.objects.get_or_create(
            membership=membership, defaults={"workspace_id": membership.workspace_id, "idle_since": at,
                                             "changed_at": at})
    return status


def set_presence(*, actor: Actor, membership: Membership, presence: str) -> AgentStatus:
    """An agent sets their own presence; a supervisor may set anyone's (sending home someone who left)."""
    _check_member(actor, membership)
    if membership.pk != actor.membership_id:
        actor.require(Role.SUPERVISOR)
    if presence not in Presence.values:
        raise ValidationFailed(f"Presence must be one of {', '.join(Presence.values)}.", field="presence")
    with transaction.atomic():
        status = AgentStatus.objects.select_for_update().get(pk=agent_status(membership).pk)
        previous = status.presence
        status.presence, status.changed_at = presence, now()
        if presence == Presence.ONLINE and previous != Presence.ONLINE:
            status.idle_since = status.changed_at
        status.save(update_fields=["presence", "changed_at", "idle_since"])
    if presence == Presence.ONLINE:
        offer_work(membership)
    return status


def set_capacity(*, actor: Actor, membership: Membership, capacity: dict[str, int]) -> AgentStatus:
    """Slots per work kind (voice, chat, message); 0 takes the agent out of that kind of work."""
    actor.require(Role.SUPERVISOR)
    _check_member(actor, membership)
    clean = {}
    for kind, slots in capacity.items():
        if kind not in policy.WORK_KINDS:
            raise ValidationFailed(f"Unknown work kind {kind!r}; use {', '.join(policy.WORK_KINDS)}.", field="capacity")
        if not isinstance(slots, int) or isinstance(slots, bool) or not 0 <= slots <= MAX_CAPACITY:
            raise ValidationFailed(f"Capacity for {kind} must be a whole number from 0 to {MAX_CAPACITY}.",
                                   field="capacity")
        clean[kind] = slots
    status = agent_status(membership)
    status.capacity = {**status.capacity, **clean}
    status.changed_at = now()
    status.save(update_fields=["capacity", "changed_at"])
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="routing.capacity",
                 obj=membership, data=clean)
    offer_work(membership)
    return status


def socket_opened(membership: Membership) -> None:
    AgentStatus.objects.filter(pk=agent_status(membership).pk).update(sockets=F("sockets") + 1)


def socket_closed(membership: Membership) -> None:
    """One of the agent's sockets closed. When it was the last, a task looks again after AWAY_AFTER:
    a closed laptop or a lost network makes the agent away (if the workspace says so), so the router
    stops offering work nobody will see; moving to another page, which reconnects, does not."""
    from touchpoint.routing.tasks import away_if_still_gone

    with transaction.atomic():
        status = AgentStatus.objects.select_for_update().get(pk=agent_status(membership).pk)
        status.sockets = max(0, status.sockets - 1)
        status.save(update_fields=["sockets"])
        if status.sockets == 0:
            away_if_still_gone.using(run_after=now() + AWAY_AFTER).enqueue(membership.pk)


def away_if_still_gone(membership_id: int) -> None:
    with transaction.atomic():
        status = AgentStatus.objects.select_for_update().filter(membership_id=membership_id).first()
        if (status is not None and status.sockets == 0 and status.presence == Presence.ONLINE
                and _settings(status.workspace_id).away_when_disconnected):
            status.presence, status.changed_at = Presence.AWAY, now()
            status.save(update_fields=["presence", "changed_at"])


# ---- queues ---------------------------------------------------------------------------------


def save_queue(*, actor: Actor, queue: Queue | None = None, **fields) -> Queue:
    """Create a queue, or change one. Skills must exist in the workspace, proficiencies be 1-5, teams
    be the workspace's own and the policy one of `policy.POLICIES`."""
    actor.require(Role.SUPERVISOR)
    if queue is not None:
        _check_member(actor, queue)
    queue = queue or Queue(workspace_id=actor.workspace_id)
    for name, value in fields.items():
        setattr(queue, name, value)
    _check_queue(actor, queue)
    try:
        with transaction.atomic():
            queue.save()
    except IntegrityError:
        raise Conflict(f"There is a queue named {queue.name!r} already; choose another name.", field="name") from None
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="routing.queue", obj=queue,
                 data={"name": queue.name})
    return queue


def _check_queue(actor: Actor, queue: Queue) -> None:
    if not queue.name.strip():
        raise ValidationFailed("A queue needs a name.", field="name")
    unknown = [c for c in queue.channels if c not in Channel.values]
    if unknown:
        raise ValidationFailed(f"Unknown channel(s) {', '.join(map(str, unknown))}; use {', '.join(Channel.values)}.",
                               field="channels")
    known = set(Skill.objects.filter(workspace_id=actor.workspace_id).values_list("name", flat=True))
    for skill, minimum in queue.required_skills.items():
        if skill not in known:
            raise ValidationFailed(f"There is no skill {skill!r} in this workspace; add it first.", field="required_skills")
        if not isinstance(minimum, int) or not 1 <= minimum <= 5:
            raise ValidationFailed(f"The minimum proficiency for {skill} must be 1 to 5.", field="required_skills")
    if queue.policy not in policy.POLICIES:
        raise ValidationFailed(f"Unknown routing policy {queue.policy!r}; use {', '.join(policy.POLICIES)}.",
                               field="policy")
    if not 0 <= queue.priority <= 3:
        raise ValidationFailed("Queue priority is 0 (low) to 3 (urgent).", field="priority")
    for team in (queue.team, queue.overflow_team):
        if team is not None and team.workspace_id != actor.workspace_id:
            raise NotFound("No such team in this workspace.")


# ---- queue-then-assign ----------------------------------------------------------------------


def has_queues(workspace_id: int) -> bool:
    return Queue.objects.filter(workspace_id=workspace_id).exists()


def enqueue(conversation: Conversation, *, skill: str = "") -> QueuedContact | None:
    """The conversation needs an agent: queue it and offer it at once. Nothing when it has one, is not
    open, no customer is waiting on it (one an agent opened is theirs), the bot holds it (it is queued
    at the handoff), it is a call (the telephony system routes those), it waits already, or no queue
    takes its channel. `skill`: what the customer needs (from the bot's handoff), which picks a queue
    that requires it when there is one."""
    if conversation.assignee_id is not None or conversation.status != Status.OPEN or conversation.waiting_since is None:
        return None
    if conversation.held_by_bot:
        return None
    if conversation.channel == Channel.VOICE:
        return None  # the telephony system routes its calls; call events tell who answered
    queue = _queue_for(conversation, skill)
    if queue is None:
        return None
    at = now()
    contact = QueuedContact(
        workspace_id=conversation.workspace_id, conversation=conversation, queue=queue,
        work_kind=work_kind_of(conversation.channel),
        priority=max(queue.priority, PRIORITY_RANK.get(conversation.priority, 1)),
        vip=bool((conversation.customer.custom_attributes or {}).get("vip")),
        last_agent_id=_last_agent(conversation), waiting_since=conversation.waiting_since or at,
    )
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:  # it waits already (the partial unique index): queued once
        return None
    route_contact(contact)
    return contact


def route_contact(contact: QueuedContact, *, at: datetime | None = None, log_waiting: bool = True) -> Membership | None:
    """Offer a waiting contact to the best agent free now, or log why it waits (once, not on every
    sweep)."""
    at = at or now()
    choice, _ = choose_agent(contact, at)
    if choice is None:
        if log_waiting:  # why it waits is told of every skilled agent, the full ones too
            queue = contact.queue
            skilled = _agents(contact.workspace_id, skills=list(queue.required_skills), teams=queue.team_id is not None)
            _log(contact, None, _why_waiting(_contact_state(contact), skilled, at, queue), at)
        return None
    return _claim(contact.pk, choice.agent_id, choice.reason, at)


def choose_agent(contact: QueuedContact, at: datetime) -> tuple[policy.Choice | None, dict[int, policy.AgentState]]:
    """The routing decision alone: the online agents holding the queue's skills, as the policy sees
    them, and its choice among them (None: the contact waits)."""
    queue = contact.queue
    agents = _agents(contact.workspace_id, skills=list(queue.required_skills), teams=queue.team_id is not None,
                     free_for=contact.work_kind, keep=contact.last_agent_id)
    return policy.choose_agent(_contact_state(contact), list(agents.values()), at, _rules(queue), queue.policy), agents


def offer_work(membership: Membership, *, at: datetime | None = None) -> list[QueuedContact]:
    """The agent gained capacity: give them waiting contacts, most urgent and oldest first, while they
    have room and qualify."""
    taken = []
    while True:
        at = at or now()
        agents = _agents(membership.workspace_id, only=[membership.pk])
        agent = agents.get(membership.pk)
        if agent is None:
            return taken
        contact = _next_contact(agent, membership.workspace_id, at)
        if contact is None:
            return taken
        claimed = _claim(contact.pk, agent.agent_id, policy.explain(agent, _contact_state(contact), at,
                                                                    _rules(contact.queue), contact.queue.policy), at)
        if claimed is None:
            return taken
        taken.append(contact)
        at = None


def claim(*, actor: Actor, contact: QueuedContact) -> Membership:
    """An agent takes a waiting contact themselves, even beyond their capacity (their choice). Exactly
    one of two agents claiming at once wins; the other is told it was taken."""
    _check_member(actor, contact)
    membership = Membership.objects.get(pk=actor.membership_id)
    agent_status(membership)
    claimed = _claim(contact.pk, membership.pk, f"claimed by {membership.display_name}", now(), check_capacity=False)
    if claimed is None:
        raise ValidationFailed("Someone else took this conversation first.", code="already_taken")
    return claimed


def stop_waiting(conversation: Conversation) -> None:
    """Assigned by hand, resolved or answered: the conversation no longer waits."""
    QueuedContact.objects.filter(conversation=conversation, state=ContactState.WAITING).update(
        state=ContactState.CANCELLED, ended_at=now())


def route_all_waiting(*, at: datetime | None = None) -> int:
    """The worker's sweep every few seconds: offer again the contacts whose sticky wait or overflow
    time has just passed, since nobody's capacity changed to do it. Returns how many were assigned."""
    at = at or now()
    assigned = 0
    for queue in Queue.objects.filter(pk__in=QueuedContact.objects.filter(state=ContactState.WAITING)
                                      .values("queue_id")):
        due = Q(last_agent__isnull=False, waiting_since__range=_just_passed(at, queue.sticky_wait_s))
        if queue.overflow_after_s is not None:
            due |= Q(waiting_since__range=_just_passed(at, queue.overflow_after_s))
        for contact in _waiting(queue.workspace_id).filter(due, queue=queue).select_related("queue")[:HEAD]:
            assigned += route_contact(contact, at=at, log_waiting=False) is not None
    return assigned


def _just_passed(at: datetime, seconds: int) -> tuple[datetime, datetime]:
    """Waits that crossed `seconds` within the last sweep windows (two of them, so a late sweep
    misses nothing)."""
    crossed = at - timedelta(seconds=seconds)
    return crossed - 2 * SWEEP_EVERY, crossed


def _claim(contact_id: int, agent_id: int, reason: str, at: datetime, *, check_capacity: bool = True) -> Membership | None:
    with transaction.atomic():
        contact = (QueuedContact.objects.select_for_update(**_skip_locked())
                   .select_related("conversation", "queue").filter(pk=contact_id, state=ContactState.WAITING).first())
        if contact is None:
            return None  # taken by another router or agent meanwhile
        status = AgentStatus.objects.select_for_update().filter(membership_id=agent_id).first()
        if status is None:
            return None
        if check_capacity:
            agent = _agents(contact.workspace_id, only=[agent_id]).get(agent_id)
            if agent is None or not policy.has_capacity(agent, contact.work_kind):
                return None  # went offline or filled up since the choice
        membership = Membership.objects.get(pk=agent_id)
        conversations.assign(actor=router_actor(contact.workspace_id), conversation=contact.conversation,
                             assignee=membership)
        contact.state, contact.assigned_to_id, contact.ended_at = ContactState.ASSIGNED, agent_id, at
        contact.save(update_fields=["state", "assigned_to", "ended_at"])
        status.idle_since = at
        status.save(update_fields=["idle_since"])
        _log(contact, agent_id, reason, at)
        return membership


def _skip_locked() -> dict:
    return {"skip_locked": True} if connection.features.has_select_for_update_skip_locked else {}


# ---- reading the desk into the policy's terms --------------------------------------------------


def _agents(workspace_id: int, *, skills: list[str] = (), only: list[int] | None = None, teams: bool = True,
            free_for: str | None = None, keep: int | None = None) -> dict[int, policy.AgentState]:
    """Online agents (holding every named skill, when given) as the policy sees them.

    This runs for every routing decision, so it is one SQL statement: each agent's row carries the
    proficiencies asked for (one join per required skill), their teams and their open load per work
    kind (counts over the assignee index), where the ORM needed four queries over the same ids and
    spent more time building them than the database spent answering. With `skills`, an agent's
    `skills` holds just those (all the policy reads); with `only`, every skill they have. `teams=False`
    leaves `team_ids` empty, for a queue that names no team (the policy then never reads them).
    `free_for` (a work kind) keeps only agents with a slot free for it, and `keep` (the customer's last
    agent) whatever their load: on a busy desk most skilled agents are full, and the policy would only
    turn them down one by one."""
    sql, params = _agents_sql(workspace_id, skills, only, teams, free_for, keep)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if not found:
        return {}
    if skills:
        held = {row[0]: dict(zip(skills, row[8:], strict=True)) for row in found}
    else:
        held = _all_skills([row[0] for row in found])
    return {
        member: policy.AgentState(
            agent_id=member, presence=policy.ONLINE, skills=held[member],
            team_ids=frozenset(int(t) for t in teams.split(",")) if teams else frozenset(),
            capacity={**policy.DEFAULT_CAPACITY, **_capacity(capacity)},
            load={policy.VOICE: voice, policy.CHAT: chat, policy.MESSAGE: message},
            idle_since=_aware(idle_since), in_call_blocks_chat=bool(True if blocks is None else blocks))
        for member, capacity, idle_since, teams, blocks, voice, chat, message, *_ in found
    }


def _agents_sql(workspace_id: int, skills: list[str], only: list[int] | None, teams: bool,
                free_for: str | None, keep: int | None) -> tuple[str, list]:
    conversation, member_teams = Conversation._meta.db_table, Team.members.through._meta.db_table
    postgres = connection.vendor == "postgresql"
    team_list = "string_agg(CAST(t.team_id AS text), ',')" if postgres else "group_concat(t.team_id)"

    def open_load(channels: str) -> str:
        # The channel test stays out of WHERE so the planner walks the agent's few open conversations
        # (workspace, assignee, status) rather than every open conversation on the channel.
        return (f"(SELECT COALESCE(SUM(CASE WHEN {channels} THEN 1 ELSE 0 END), 0) FROM {conversation} c"
                f" WHERE c.workspace_id = s.workspace_id AND c.assignee_id = s.membership_id AND c.status = %s)")

    # The capacity comes as text: psycopg decoding jsonb row by row cost more than the whole query.
    columns = [
        "s.membership_id", "CAST(s.capacity AS text)", "s.idle_since",
        f"(SELECT {team_list} FROM {member_teams} t WHERE t.membership_id = s.membership_id)" if teams else "NULL",
        "r.call_blocks_chat",
        open_load("c.channel = %s"), open_load("c.channel = %s"), open_load("c.channel NOT IN (%s, %s)"),
    ]
    params: list = [Channel.VOICE, Status.OPEN, Channel.WEBCHAT, Status.OPEN, Channel.VOICE, Channel.WEBCHAT,
                    Status.OPEN]
    joins = [f"JOIN {Membership._meta.db_table} m ON m.id = s.membership_id",
             f"LEFT JOIN {RoutingSettings._meta.db_table} r ON r.workspace_id = s.workspace_id"]
    for i, skill in enumerate(skills):
        columns.append(f"a{i}.proficiency")
        joins.append(f"JOIN {AgentSkill._meta.db_table} a{i} ON a{i}.membership_id = s.membership_id "
                     f"JOIN {Skill._meta.db_table} k{i} ON k{i}.id = a{i}.skill_id AND k{i}.name = %s")
        params.append(skill)
    where = "s.workspace_id = %s AND s.presence = %s AND m.is_active = %s"
    params += [workspace_id, Presence.ONLINE, True]
    if only is not None:
        where += f" AND s.membership_id IN ({', '.join(['%s'] * len(only)) or 'NULL'})"
        params += list(only)
    source = f"FROM {AgentStatus._meta.db_table} s {' '.join(joins)} WHERE {where}"
    if free_for is None:
        return f"SELECT {', '.join(columns)} {source}", params
    # Only agents with a slot free for the work kind (the policy's `has_capacity` still decides, e.g. a
    # call blocking chats), and the customer's last agent whatever their load.
    slots = "CAST(s.capacity ->> %s AS integer)" if postgres else "json_extract(s.capacity, %s)"
    aliased = ", ".join(f"{column} AS v{i}" for i, column in enumerate(columns))
    load = {policy.VOICE: "v5", policy.CHAT: "v6", policy.MESSAGE: "v7"}[free_for]
    params = [*params[:7], free_for if postgres else f"$.{free_for}", policy.DEFAULT_CAPACITY[free_for], *params[7:],
              -1 if keep is None else keep]
    return (f"SELECT {', '.join(f'x.v{i}' for i in range(len(columns)))} FROM "
            f"(SELECT {aliased}, COALESCE({slots}, %s) AS slots {source}) x "
            f"WHERE x.{load} < x.slots OR x.v0 = %s"), params


def _all_skills(agent_ids: list[int]) -> dict[int, dict[str, int]]:
    held: dict[int, dict[str, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a.membership_id, k.name, a.proficiency FROM {AgentSkill._meta.db_table} a "
                       f"JOIN {Skill._meta.db_table} k ON k.id = a.skill_id "
                       f"WHERE a.membership_id IN ({', '.join(['%s'] * len(agent_ids))})", agent_ids)
        for member, skill, proficiency in cursor.fetchall():
            held[member][skill] = proficiency
    return held


@functools.lru_cache(maxsize=256)
def _capacity(text: str | None) -> dict[str, int]:
    """Agents share a few capacity settings: each is parsed once (callers copy, never change it)."""
    return json.loads(text) if text else {}


def _aware(value) -> datetime:
    """A timestamp through a plain cursor: aware from PostgreSQL; from SQLite naive UTC (or text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _contact_state(contact: QueuedContact) -> policy.ContactState:
    queue = contact.queue
    return policy.ContactState(
        contact_id=contact.pk, work_kind=contact.work_kind, required_skills=queue.required_skills,
        team_id=queue.team_id, priority=contact.priority, vip=contact.vip, sla_due_at=contact.sla_due_at,
        waiting_since=contact.waiting_since, last_agent_id=contact.last_agent_id,
    )


def _rules(queue: Queue) -> policy.RoutingRules:
    return policy.RoutingRules(
        sticky_wait=timedelta(seconds=queue.sticky_wait_s),
        overflow_after=timedelta(seconds=queue.overflow_after_s) if queue.overflow_after_s is not None else None,
        overflow_team_id=queue.overflow_team_id, sla_at_risk_within=SLA_AT_RISK_WITHIN,
    )


def _next_contact(agent: policy.AgentState, workspace_id: int, at: datetime) -> QueuedContact | None:
    """Per queue the first contact the agent may take (the policy's `next_contact_for`, on the queue's
    oldest and most urgent), then the most urgent of those."""
    best: tuple | None = None
    with_sla = selectors.has_sla_policies(workspace_id)
    for queue in Queue.objects.filter(workspace_id=workspace_id):
        if not _could_serve(agent, queue):
            continue  # every contact of a queue needs the same skills and team
        rows = {r.pk: r for r in _queue_head(queue, at, with_sla=with_sla)}
        if not rows:
            continue
        rules = _rules(queue)
        states = [_contact_state(r) for r in rows.values()]
        held = {s.last_agent_id for s in states if s.last_agent_id and at - s.waiting_since < rules.sticky_wait}
        last_agents = _agents(workspace_id, only=list(held)) if held else {}
        found = policy.next_contact_for(agent, states, at, rules, queue.policy, agents_by_id=last_agents)
        if found is not None:
            key = policy.contact_order_key(found, at, rules)
            if best is None or key < best[0]:
                best = (key, rows[found.contact_id])
    return best[1] if best else None


def _queue_head(queue: Queue, at: datetime, *, with_sla: bool) -> list[QueuedContact]:
    """The queue's first waiting contacts in VIP, priority and age order, plus any whose SLA is about
    to be missed further down (only on a desk with SLA policies); the policy orders what it is given.
    Both are walks of an index that stop after HEAD rows."""
    waiting = QueuedContact.objects.filter(queue=queue, state=ContactState.WAITING)
    rows = list(waiting.order_by("-vip", "-priority", "waiting_since", "id")[:HEAD])
    if with_sla:
        rows += waiting.filter(sla_due_at__lte=at + SLA_AT_RISK_WITHIN).order_by("sla_due_at")[:HEAD]
    for row in rows:
        row.queue = queue  # read once by the caller, not joined on every row
    return rows


def _could_serve(agent: policy.AgentState, queue: Queue) -> bool:
    """Holds the queue's skills at some level and belongs to its team or overflow team: the policy
    decides the rest (proficiency, overflow time) contact by contact."""
    teams = {queue.team_id, queue.overflow_team_id} - {None}
    return all(skill in agent.skills for skill in queue.required_skills) and (
        queue.team_id is None or bool(teams & agent.team_ids))


def _waiting(workspace_id: int):
    return QueuedContact.objects.filter(workspace_id=workspace_id, state=ContactState.WAITING)


def _queue_for(conversation: Conversation, skill: str = "") -> Queue | None:
    """The first queue (by position) that takes the conversation's channel and, when it has a team,
    that team's queue before a general one. With a `skill`, first a queue that requires that skill (one
    of the conversation's team or of none before one of another team)."""
    queues = [q for q in Queue.objects.filter(workspace_id=conversation.workspace_id)
              if not q.channels or conversation.channel in q.channels]
    if skill:
        needing = [q for q in queues if skill in (q.required_skills or {})]
        if needing:
            return next((q for q in needing if q.team_id in (None, conversation.team_id)), needing[0])
    if conversation.team_id is not None:
        for queue in queues:
            if queue.team_id == conversation.team_id:
                return queue
    return next((q for q in queues if q.team_id is None), queues[0] if queues else None)


def _last_agent(conversation: Conversation) -> int | None:
    """Who last handled this customer: a returning customer goes back to them if they are free."""
    return (Conversation.objects.filter(customer_id=conversation.customer_id, assignee__isnull=False)
            .exclude(pk=conversation.pk).order_by("-last_message_at").values_list("assignee_id", flat=True).first())


def _why_waiting(contact: policy.ContactState, agents: dict[int, policy.AgentState], at: datetime, queue: Queue) -> str:
    rules = _rules(queue)
    skilled = [a for a in agents.values() if policy.holds_skills(a, contact, at, rules)]
    if not skilled:
        needs = ", ".join(f"{s} ≥ {p}" for s, p in contact.required_skills.items()) or "no skill"
        team = " in its team" if contact.team_id else ""
        return f"waiting: no online agent{team} holds {needs}"
    if contact.last_agent_id in {a.agent_id for a in skilled} and at - contact.waiting_since < rules.sticky_wait:
        return "waiting for the customer's last agent to free up"
    return f"waiting: all {len(skilled)} qualified agents are at capacity"


def _log(contact: QueuedContact, agent_id: int | None, reason: str, at: datetime) -> None:
    RoutingDecision.objects.create(workspace_id=contact.workspace_id, contact=contact, agent_id=agent_id,
                                   reason=reason[:255], decided_at=at)


def _settings(workspace_id: int) -> RoutingSettings:
    return RoutingSettings.objects.filter(workspace_id=workspace_id).first() or RoutingSettings(
        workspace_id=workspace_id)


def _check_member(actor: Actor, obj) -> None:
    if obj.workspace_id != actor.workspace_id:
        raise NotFound("Not found in this workspace.")


# ---- SLAs: policies, clocks, warnings and escalation --------------------------------------------
#
# `sla.py` computes; this section feeds it a conversation's history, keeps `ConversationSla` (and the
# router's `QueuedContact.sla_due_at`) current, and acts once on each target that turns at risk or is
# breached: a system event in the thread, notifications, and the policy's escalation actions.

log = logging.getLogger(__name__)

SLA_POLICY_FIELDS = frozenset({"name", "position", "priorities", "channels", "segments", "first_response_s",
                               "next_response_s", "resolution_s", "business_hours", "at_risk_ratio", "escalation"})
SLA_WHEN = ("at_risk", "breached")
SLA_ACTIONS = ("raise_priority", "move_to_team", "notify")
MAX_SLA_TARGET_S = 366 * 24 * 3600
SLA_CHECK_BATCH = 500  # conversations re-evaluated per run of the periodic check
SLA_CHECK_CHUNK = 20  # of them per transaction
METRIC_LABELS = {sla.SlaMetric.FIRST_RESPONSE: "First response", sla.SlaMetric.NEXT_RESPONSE: "Next response",
                 sla.SlaMetric.RESOLUTION: "Resolution"}
_RAISED = {Priority.LOW: Priority.NORMAL, Priority.NORMAL: Priority.HIGH, Priority.HIGH: Priority.URGENT}


def save_sla_policy(*, actor: Actor, sla_policy: SlaPolicy | None = None, **fields) -> SlaPolicy:
    """Create an SLA policy, or change one (supervisors). Every field is checked before anything is
    written; conversations it already governs are re-evaluated by the next periodic check."""
    actor.require(Role.SUPERVISOR)
    unknown = set(fields) - SLA_POLICY_FIELDS
    if unknown:
        raise TypeError(f"unknown SLA policy field(s): {', '.join(sorted(unknown))}")
    if sla_policy is not None:
        _check_member(actor, sla_policy)
    sla_policy = sla_policy or SlaPolicy(workspace_id=actor.workspace_id)
    for name, value in fields.items():
        setattr(sla_policy, name, value)
    _check_sla_policy(actor, sla_policy)
    with transaction.atomic():
        sla_policy.save()
        _recheck_open_slas(actor.workspace_id)
        transaction.on_commit(lambda: selectors.forget_sla_policies(actor.workspace_id))
        audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="routing.sla_policy",
                     obj=sla_policy, data={"name": sla_policy.name})
    return sla_policy


def delete_sla_policy(*, actor: Actor, sla_policy: SlaPolicy) -> None:
    """Remove a policy (supervisors). Its conversations fall to another matching policy, or to none,
    at the next check."""
    actor.require(Role.SUPERVISOR)
    _check_member(actor, sla_policy)
    with transaction.atomic():
        audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id,
                     action="routing.sla_policy_deleted", obj=sla_policy, data={"name": sla_policy.name})
        ConversationSla.objects.filter(policy=sla_policy).update(next_check_at=now())
        sla_policy.delete()
        _recheck_open_slas(actor.workspace_id)
        transaction.on_commit(lambda: selectors.forget_sla_policies(actor.workspace_id))


def _recheck_open_slas(workspace_id: int) -> None:
    """Targets changed: have the periodic check re-evaluate every unresolved conversation with an SLA."""
    ConversationSla.objects.filter(workspace_id=workspace_id).exclude(
        conversation__status=Status.RESOLVED).update(next_check_at=now())


def _check_sla_policy(actor: Actor, sla_policy: SlaPolicy) -> None:
    sla_policy.name = str(sla_policy.name or "").strip()
    if not sla_policy.name or len(sla_policy.name) > 80:
        raise ValidationFailed("An SLA policy needs a name of 1 to 80 characters.", field="name")
    if (SlaPolicy.objects.filter(workspace_id=actor.workspace_id, name=sla_policy.name)
            .exclude(pk=sla_policy.pk).exists()):
        raise ValidationFailed(f"There is already an SLA policy named {sla_policy.name!r}; choose another name.",
                               code="duplicate_name", field="name")
    if not _whole(sla_policy.position) or not 0 <= sla_policy.position <= 10_000:
        raise ValidationFailed("Position is a whole number from 0 to 10000.", field="position")
    sla_policy.priorities = _choices(sla_policy.priorities, Priority.values, "priorities")
    sla_policy.channels = _choices(sla_policy.channels, Channel.values, "channels")
    sla_policy.segments = _segments(sla_policy.segments)
    _check_sla_targets(sla_policy)
    sla_policy.escalation = _escalation(actor, sla_policy.escalation)
    if sla_policy.business_hours:
        _check_working_hours(actor)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _choices(values: object, allowed: list[str], field: str) -> list[str]:
    if not isinstance(values, list | tuple):
        raise ValidationFailed(f"{field} is a list (empty for any).", field=field)
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValidationFailed(f"Unknown {field} {', '.join(map(repr, unknown))}; use {', '.join(allowed)}.",
                               field=field)
    return list(dict.fromkeys(values))


def _segments(values: object) -> list[str]:
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) and 0 < len(v.strip()) <= 80 for v in values):
        raise ValidationFailed("Segments are a list of names of 1 to 80 characters, as customers carry them in "
                               "custom_attributes[\"segment\"] (empty for any).", field="segments")
    return list(dict.fromkeys(value.strip() for value in values))


def _check_sla_targets(sla_policy: SlaPolicy) -> None:
    targets = {"first_response_s": sla_policy.first_response_s, "next_response_s": sla_policy.next_response_s,
               "resolution_s": sla_policy.resolution_s}
    for field, value in targets.items():
        if value is not None and (not _whole(value) or not 1 <= value <= MAX_SLA_TARGET_S):
            raise ValidationFailed(f"{field} is a whole number of seconds from 1 to {MAX_SLA_TARGET_S} "
                                   f"(a year), or empty for no target.", field=field)
    if all(value is None for value in targets.values()):
        raise ValidationFailed("An SLA policy needs at least one target: first response, next response or "
                               "resolution.", field="first_response_s")
    ratio = sla_policy.at_risk_ratio
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 1:
        raise ValidationFailed("at_risk_ratio is the share of a target used when it turns at risk: above 0 and at "
                               "most 1 (0.8 = 80 %).", field="at_risk_ratio")
    sla_policy.at_risk_ratio = float(ratio)
    if not isinstance(sla_policy.business_hours, bool):
        raise ValidationFailed("business_hours is true or false.", field="business_hours")


def _escalation(actor: Actor, actions: object) -> list[dict]:
    """The escalation list, normalized: {"when", "action"} and, for move_to_team, the team's id."""
    if not isinstance(actions, list | tuple):
        raise ValidationFailed("escalation is a list of actions.", field="escalation")
    clean = []
    for action in actions:
        if not isinstance(action, dict):
            raise ValidationFailed("Each escalation action is an object: {\"when\", \"action\", \"team_id\"}.",
                                   field="escalation")
        when, kind, team_id = action.get("when"), action.get("action"), action.get("team_id")
        if when not in SLA_WHEN:
            raise ValidationFailed(f"An escalation runs when a target is {' or '.join(SLA_WHEN)}, not {when!r}.",
                                   field="escalation")
        if kind not in SLA_ACTIONS:
            raise ValidationFailed(f"Unknown escalation action {kind!r}; use {', '.join(SLA_ACTIONS)}.",
                                   field="escalation")
        step = {"when": when, "action": kind}
        if kind == "move_to_team":
            if not _whole(team_id) or not Team.objects.filter(workspace_id=actor.workspace_id, pk=team_id).exists():
                raise ValidationFailed(f"Escalation moves to a team: no team with id {team_id!r} in this workspace.",
                                       code="unknown_team", field="escalation")
            step["team_id"] = team_id
        elif team_id is not None:
            raise ValidationFailed(f"Only move_to_team takes a team_id, not {kind}.", field="escalation")
        if step not in clean:
            clean.append(step)
    return clean


def _check_working_hours(actor: Actor) -> None:
    try:
        calendar = BusinessCalendar.for_workspace(workspace_of(actor))
    except CalendarError as error:
        raise ValidationFailed(f"The workspace's business hours cannot be read: {error}", code="invalid_calendar",
                               field="business_hours") from None
    if not calendar.has_working_hours:
        raise ValidationFailed(
            "This policy counts business hours, but the workspace has no working hours on any day, so no target "
            "would ever come due. Add opening hours to the workspace, or set business_hours to false to count "
            "calendar time.", code="no_working_hours", field="business_hours")


# ---- evaluating a conversation ------------------------------------------------------------------


def record_status_change(*, workspace_id: int, conversation_id: int, status: str) -> SlaStatusChange:
    """Log a status change for the clocks, in the change's own transaction (so none is lost), at the
    moment the conversation row says it happened."""
    at = Conversation.objects.filter(pk=conversation_id).values_list("updated_at", flat=True).first()
    return SlaStatusChange.objects.create(workspace_id=workspace_id, conversation_id=conversation_id, status=status,
                                          at=at or now())


def evaluate_sla_of(conversation_id: int, *, workspace_id: int) -> ConversationSla | None:
    """`evaluate_sla` by id, for listeners: every message asks, so a desk without SLA policies is told
    so by the cache, with no query (a conversation whose last policy went is settled by the periodic
    check)."""
    if not selectors.has_sla_policies(workspace_id):
        return None
    policies = list(SlaPolicy.objects.filter(workspace_id=workspace_id))
    conversation = (Conversation.objects.select_related("customer", "workspace")
                    .filter(pk=conversation_id, workspace_id=workspace_id).first())
    if conversation is None:
        return None
    settings = selectors.SlaSettings(policies, None)
    try:
        settings.calendar = BusinessCalendar.for_workspace(conversation.workspace)
    except CalendarError as error:
        settings.problem = str(error)
    return evaluate_sla(conversation, settings=settings)


def evaluate_sla(conversation: Conversation, *, at: datetime | None = None,
                 settings: selectors.SlaSettings | None = None) -> ConversationSla | None:
    """Run the clocks of the conversation's policy over its history as of `at` (default now), save
    where it stands, give the router its next due time, and act on targets newly at risk or breached,
    each once. A conversation no policy matches has no SLA row. Idempotent, and safe to run from a
    listener and the periodic check at once: the row is locked while it is decided. `settings` (the
    workspace's policies and calendar) may be shared by many calls."""
    at = max(at or now(), selectors.sla_opened_at(conversation))
    settings = settings or selectors.SlaSettings.of(conversation.workspace)
    sla_policy = None if conversation.held_by_bot else selectors.policy_for(conversation, settings.policies)
    if sla_policy is None:  # no policy applies, or the bot answers (its clocks start at the handoff)
        _drop_sla(conversation)
        return None
    try:
        report = settings.clock(sla_policy).evaluate(selectors.sla_events(conversation), at)
    except CalendarError as error:  # hours removed after the policy was saved: say so, keep the last state
        log.warning("SLA of conversation %s not evaluated: %s", conversation.pk, error)
        ConversationSla.objects.filter(conversation=conversation).update(next_check_at=None)
        return None
    stored = ConversationSla.objects.filter(conversation=conversation).first()
    if stored is not None and _unchanged(stored, sla_policy, report, at):
        _give_router_due_time(conversation, stored.next_due_at)
        return stored
    with transaction.atomic():
        record = _first_row(conversation, sla_policy, report, at) if stored is None else None
        before = None
        if record is None:  # there is a row: lock it, so its warnings are decided once
            record = ConversationSla.objects.select_for_update().get(conversation=conversation)
            before = _shown(record)
            _apply_report(record, sla_policy, report, at)
        warnings = list(_new_warnings(record, report))
        if warnings or before is not None:
            record.escalated = [*record.escalated, *(key for key, _, _ in warnings)]
            record.save()
        _give_router_due_time(conversation, record.next_due_at, writing=True)
        if conversation.status != Status.RESOLVED:  # nobody to warn about a closed matter
            for _, status, when in warnings:
                _escalate(conversation.pk, sla_policy, status, when)
        if _shown(record) != before:
            publish(SlaChanged(workspace_id=record.workspace_id, conversation_id=conversation.pk, state=record.state,
                               previous_state=before[0] if before else None))
    return record


def check_slas(*, at: datetime | None = None) -> int:
    """The worker's periodic check: re-evaluate every conversation whose next at-risk or due moment has
    passed, so warnings and escalations happen on time with no event to trigger them. Returns how many
    were evaluated."""
    at = at or now()
    due = list(ConversationSla.objects.filter(next_check_at__lte=at).order_by("next_check_at")
               .values_list("conversation_id", flat=True)[:SLA_CHECK_BATCH])
    settings: dict[int, selectors.SlaSettings] = {}
    conversations_due = list(Conversation.objects.select_related("customer", "workspace").filter(pk__in=due))
    # A few conversations per transaction, and their live events logged with one write: a commit costs
    # more than an evaluation, and a short transaction keeps SQLite's single writer lock brief.
    with live_events.batched():
        for start in range(0, len(conversations_due), SLA_CHECK_CHUNK):
            with transaction.atomic():
                for conversation in conversations_due[start:start + SLA_CHECK_CHUNK]:
                    if conversation.workspace_id not in settings:
                        settings[conversation.workspace_id] = selectors.SlaSettings.of(conversation.workspace)
                    try:
                        with transaction.atomic():
                            evaluate_sla(conversation, at=at, settings=settings[conversation.workspace_id])
                    except Exception:  # one broken conversation must not stop the others' warnings
                        log.exception("SLA check of conversation %s failed", conversation.pk)
    return len(due)


def _first_row(conversation: Conversation, sla_policy: SlaPolicy, report: sla.SlaReport,
               at: datetime) -> ConversationSla | None:
    """The conversation's SLA row, written whole with one INSERT; None when another evaluation made it
    meanwhile (the caller then locks and updates that one)."""
    record = ConversationSla(conversation=conversation, workspace_id=conversation.workspace_id)
    _apply_report(record, sla_policy, report, at)
    try:
        with transaction.atomic():
            record.save(force_insert=True)
    except IntegrityError:
        return None
    return record


def _unchanged(record: ConversationSla, sla_policy: SlaPolicy, report: sla.SlaReport, at: datetime) -> bool:
    """Whether this evaluation changes nothing in the stored row and has nobody to warn: most messages
    (a second line from the customer in the same wait) then cost reads only, no write."""
    probe = ConversationSla(**{f.attname: getattr(record, f.attname) for f in ConversationSla._meta.concrete_fields})
    _apply_report(probe, sla_policy, report, at)
    return _stored(probe) == _stored(record) and next(_new_warnings(probe, report), None) is None


def _stored(record: ConversationSla) -> tuple:
    return (*_shown(record), record.next_due_at, record.next_check_at, record.breached_at)


def _give_router_due_time(conversation: Conversation, due_at: datetime | None, *, writing: bool = False) -> None:
    """The waiting contact sorts by the conversation's next due time ("SLA at risk first"). Only an open
    conversation nobody has waits (`enqueue`). Outside a write (`writing`), read first: on SQLite even
    an UPDATE that matches nothing takes the write lock."""
    if conversation.assignee_id is not None or conversation.status != Status.OPEN:
        return
    waiting = QueuedContact.objects.filter(conversation=conversation, state=ContactState.WAITING).exclude(
        sla_due_at=due_at)
    if writing or waiting.exists():
        waiting.update(sla_due_at=due_at)


def _drop_sla(conversation: Conversation) -> None:
    """No policy applies (any more): no SLA row, no due time for the router."""
    if ConversationSla.objects.filter(conversation=conversation).exists():
        ConversationSla.objects.filter(conversation=conversation).delete()
        QueuedContact.objects.filter(conversation=conversation, state=ContactState.WAITING).update(sla_due_at=None)
        publish(SlaChanged(workspace_id=conversation.workspace_id, conversation_id=conversation.pk, state="",
                           previous_state=None))


def _shown(record: ConversationSla) -> tuple:
    """What the pane, the row and the wallboard show: a change here is worth a live event."""
    return (record.state, record.policy_id, record.first_response_state, record.first_response_due_at,
            record.next_response_state, record.next_response_due_at, record.resolution_state,
            record.resolution_due_at)


def _apply_report(record: ConversationSla, sla_policy: SlaPolicy, report: sla.SlaReport, at: datetime) -> None:
    record.policy = sla_policy
    for prefix, status in (("first_response", report.first_response), ("next_response", report.next_response),
                           ("resolution", report.resolution)):
        setattr(record, f"{prefix}_state", status.state.value if status else "")
        setattr(record, f"{prefix}_due_at", status.due_at if status else None)
    record.next_due_at = selectors.running_due_at(report)
    record.state = selectors.overall_state(report).value
    breaches = [s.breached_at for s in report.breaches if s.breached_at]
    if breaches and record.breached_at is None:
        record.breached_at = min(breaches)
    record.next_check_at = report.next_check_at
    record.updated_at = at


def _new_warnings(record: ConversationSla, report: sla.SlaReport):
    """(key, target, "at_risk" | "breached") for each shown target that reached a state not yet acted
    on. A target found already breached skips its at-risk warning: the breach says more."""
    latest_wait = len(report.next_responses) - 1
    for status in report.current:
        index = latest_wait if status.metric == sla.SlaMetric.NEXT_RESPONSE else 0
        if status.state == sla.SlaState.BREACHED:
            whens = ("breached",)
        elif status.state == sla.SlaState.AT_RISK:
            whens = ("at_risk",)
        else:
            continue
        for when in whens:
            key = f"{status.metric.value}:{index}:{when}"
            if key not in record.escalated:
                yield key, status, when


def _escalate(conversation_id: int, sla_policy: SlaPolicy, status: sla.TargetStatus, when: str) -> None:
    """One warning: the policy's actions for this moment, a line in the thread, and notifications. A
    breach always tells the assignee and the supervisors; at risk tells the assignee (the supervisors
    when nobody is assigned, or when the policy says "notify")."""
    # Only the conversation's row is locked (a join would lock its workspace's row too, on PostgreSQL).
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    actor = router_actor(conversation.workspace_id)
    done = []
    steps = [step for step in sla_policy.escalation if step.get("when") == when]
    tell_supervisors = when == "breached" or conversation.assignee_id is None or any(
        step["action"] == "notify" for step in steps)
    recipients = _recipients(conversation, supervisors=tell_supervisors)  # who had it, before any move
    for step in steps:
        if step["action"] == "raise_priority" and conversation.priority in _RAISED:
            conversations.update_conversation(actor=actor, conversation=conversation,
                                              priority=_RAISED[conversation.priority])
            done.append(f"priority raised to {conversation.get_priority_display().lower()}")
        elif step["action"] == "move_to_team":
            team = Team.objects.filter(workspace_id=conversation.workspace_id, pk=step.get("team_id")).first()
            if team is not None and conversation.team_id != team.pk:
                conversations.transfer_to_team(actor=actor, conversation=conversation, team=team)
                done.append(f"moved to {team.name}")
    if recipients:
        done.append(f"{_plural(len(recipients), 'person', 'people')} notified")
    headline = _headline(conversation, status, when)
    conversations.add_system_event(conversation=conversation, text=headline + (f"; {', '.join(done)}." if done else "."),
                                   metadata={"sla": {"metric": status.metric.value, "state": when}})
    _notify(conversation, recipients, kind=f"sla_{when}", text=f"#{conversation.pk} {headline}")


def _headline(conversation: Conversation, status: sla.TargetStatus, when: str) -> str:
    label = f"{METRIC_LABELS[status.metric]} SLA"
    if when == "breached":
        return f"{label} breached"
    due = status.due_at.astimezone(zoneinfo.ZoneInfo(conversation.workspace.timezone or "UTC")) if status.due_at else None
    return f"{label} at risk" + (f": due {due:%b %d, %H:%M} {conversation.workspace.timezone or 'UTC'}" if due else "")


def _recipients(conversation: Conversation, *, supervisors: bool) -> list[int]:
    """The assignee and, when asked, the workspace's active supervisors (its admins when it has none)."""
    people = [conversation.assignee_id] if conversation.assignee_id else []
    if supervisors:
        members = Membership.objects.filter(workspace_id=conversation.workspace_id, is_active=True)
        chosen = list(members.filter(role=Role.SUPERVISOR).values_list("pk", flat=True)) or list(
            members.filter(role=Role.ADMIN).values_list("pk", flat=True))
        people += [pk for pk in chosen if pk not in people]
    return people


def _notify(conversation: Conversation, recipients: list[int], *, kind: str, text: str) -> None:
    at = now()
    created = Notification.objects.bulk_create([
        Notification(workspace_id=conversation.workspace_id, recipient_id=recipient, conversation=conversation,
                     kind=kind, text=text[:255], created_at=at)
        for recipient in recipients
    ])
    for notification in created:
        publish(NotificationCreated(workspace_id=conversation.workspace_id, conversation_id=conversation.pk,
                                    notification_id=notification.pk, recipient_id=notification.recipient_id,
                                    kind=kind))


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def mark_notifications_read(*, actor: Actor, notification_ids: list[int] | None = None) -> int:
    """Mark the actor's own notifications read: the given ones, or all. Returns how many changed."""
    mine = Notification.objects.filter(workspace_id=actor.workspace_id, recipient_id=actor.membership_id,
                                       read_at__isnull=True)
    if notification_ids is not None:
        mine = mine.filter(pk__in=notification_ids)
    return mine.update(read_at=now())
