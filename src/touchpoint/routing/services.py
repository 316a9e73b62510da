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

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q

from touchpoint.accounts.models import AgentSkill, Membership, Skill, Team
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Channel, Conversation, Priority, Status
from touchpoint.core import audit
from touchpoint.core.clock import now
from touchpoint.core.errors import NotFound, ValidationFailed
from touchpoint.core.permissions import Actor, Role
from touchpoint.routing import policy
from touchpoint.routing.models import (
    AgentStatus,
    ContactState,
    Presence,
    Queue,
    QueuedContact,
    RoutingDecision,
    RoutingSettings,
)

PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}
SLA_AT_RISK_WITHIN = timedelta(minutes=5)
MAX_CAPACITY = 50
SWEEP_EVERY = timedelta(seconds=5)  # core.worker runs route_all_waiting this often
HEAD = 200  # waiting contacts per queue read for a free agent (the most urgent and oldest)


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
    """The agent's last socket closed (a closed laptop, a lost network): away, if the workspace says so,
    so the router stops offering them work nobody will see."""
    with transaction.atomic():
        status = AgentStatus.objects.select_for_update().get(pk=agent_status(membership).pk)
        status.sockets = max(0, status.sockets - 1)
        if status.sockets == 0 and status.presence == Presence.ONLINE and _settings(status.workspace_id).away_when_disconnected:
            status.presence, status.changed_at = Presence.AWAY, now()
        status.save(update_fields=["sockets", "presence", "changed_at"])


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
    queue.save()
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


def enqueue(conversation: Conversation) -> QueuedContact | None:
    """The conversation needs an agent: queue it and offer it at once. Nothing when it has one, is not
    open, no customer is waiting on it (one an agent opened is theirs), it waits already, or no queue
    takes its channel."""
    if conversation.assignee_id is not None or conversation.status != Status.OPEN or conversation.waiting_since is None:
        return None
    queue = _queue_for(conversation)
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
    choice, agents = choose_agent(contact, at)
    if choice is None:
        if log_waiting:
            _log(contact, None, _why_waiting(_contact_state(contact), agents, at, contact.queue), at)
        return None
    return _claim(contact.pk, choice.agent_id, choice.reason, at)


def choose_agent(contact: QueuedContact, at: datetime) -> tuple[policy.Choice | None, dict[int, policy.AgentState]]:
    """The routing decision alone: the online agents holding the queue's skills, as the policy sees
    them, and its choice among them (None: the contact waits)."""
    queue = contact.queue
    agents = _agents(contact.workspace_id, skills=list(queue.required_skills))
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
    """An agent takes a waiting contact themselves. Exactly one of two agents claiming at once wins;
    the other is told it was taken."""
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


def _agents(workspace_id: int, *, skills: list[str] = (), only: list[int] | None = None) -> dict[int, policy.AgentState]:
    """Online agents (holding every named skill, when given) as the policy sees them."""
    rows = AgentStatus.objects.filter(workspace_id=workspace_id, presence=Presence.ONLINE,
                                      membership__is_active=True)
    if only is not None:
        rows = rows.filter(membership_id__in=only)
    for skill in skills:
        rows = rows.filter(membership__skills__skill__name=skill)
    found = list(rows.values_list("membership_id", "capacity", "idle_since"))
    ids = [row[0] for row in found]
    held: dict[int, dict[str, int]] = defaultdict(dict)
    for member, skill, proficiency in (AgentSkill.objects.filter(membership_id__in=ids)
                                       .values_list("membership_id", "skill__name", "proficiency")):
        held[member][skill] = proficiency
    teams: dict[int, set[int]] = defaultdict(set)
    for member, team in Team.members.through.objects.filter(membership_id__in=ids).values_list("membership_id",
                                                                                                "team_id"):
        teams[member].add(team)
    load = _load(workspace_id, ids)
    blocks = _settings(workspace_id).call_blocks_chat
    return {
        member: policy.AgentState(
            agent_id=member, presence=policy.ONLINE, skills=held[member], team_ids=frozenset(teams[member]),
            capacity={**policy.DEFAULT_CAPACITY, **capacity}, load=load[member], idle_since=idle_since,
            in_call_blocks_chat=blocks)
        for member, capacity, idle_since in found
    }


def _load(workspace_id: int, agent_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open conversations per agent and work kind."""
    load: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for member, channel, count in (Conversation.objects.filter(workspace_id=workspace_id, assignee_id__in=agent_ids,
                                                               status=Status.OPEN)
                                   .values_list("assignee_id", "channel").annotate(n=Count("id")).order_by()):
        load[member][work_kind_of(channel)] += count
    return load


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
    for queue in Queue.objects.filter(workspace_id=workspace_id):
        waiting = _waiting(workspace_id).filter(queue=queue).select_related("queue")
        # The head in VIP, priority and age order, plus any whose SLA is about to be missed further down;
        # the policy orders what it is given.
        rows = {r.pk: r for r in [*waiting.order_by("-vip", "-priority", "waiting_since", "id")[:HEAD],
                                  *waiting.filter(sla_due_at__lte=at + SLA_AT_RISK_WITHIN)[:HEAD]]}
        if not rows:
            continue
        states = [_contact_state(r) for r in rows.values()]
        last_agents = _agents(workspace_id, only=[s.last_agent_id for s in states if s.last_agent_id])
        rules = _rules(queue)
        found = policy.next_contact_for(agent, states, at, rules, queue.policy, agents_by_id=last_agents)
        if found is not None:
            key = policy.contact_order_key(found, at, rules)
            if best is None or key < best[0]:
                best = (key, rows[found.contact_id])
    return best[1] if best else None


def _waiting(workspace_id: int):
    return QueuedContact.objects.filter(workspace_id=workspace_id, state=ContactState.WAITING)


def _queue_for(conversation: Conversation) -> Queue | None:
    """The first queue (by position) that takes the conversation's channel and, when it has a team,
    that team's queue before a general one."""
    queues = [q for q in Queue.objects.filter(workspace_id=conversation.workspace_id)
              if not q.channels or conversation.channel in q.channels]
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
