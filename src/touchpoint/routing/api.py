"""API for routing: queues, agents' presence and capacity, waiting contacts and the decision log."""

from django.http import HttpRequest
from ninja import Router, Status

from touchpoint.accounts.selectors import access_membership, access_team
from touchpoint.core.api import Id, actor
from touchpoint.core.errors import ValidationFailed
from touchpoint.routing import policy, selectors, services
from touchpoint.routing.calendar import CalendarError
from touchpoint.routing.schemas import (
    AgentStatusOut,
    CapacityIn,
    ConversationSlaOut,
    DecisionOut,
    PresenceIn,
    QueueIn,
    QueueOut,
    SlaPolicyIn,
    SlaPolicyOut,
    WaitingContactOut,
)

router = Router(tags=["routing"])


def _queue_fields(request: HttpRequest, payload: QueueIn) -> dict:
    who = actor(request)
    fields = payload.dict()
    for name in ("team", "overflow_team"):
        team_id = fields.pop(f"{name}_id")
        fields[name] = access_team(who, team_id) if team_id else None
    return fields


@router.get("/routing/queues", response=list[QueueOut], summary="Queues, in the order they take conversations")
def list_queues(request: HttpRequest) -> list:
    return list(selectors.queues(actor(request)))


@router.post("/routing/queues", response={201: QueueOut}, summary="Create a queue (supervisors)")
def create_queue(request: HttpRequest, payload: QueueIn) -> Status:
    return Status(201, services.save_queue(actor=actor(request), **_queue_fields(request, payload)))


@router.put("/routing/queues/{queue_id}", response=QueueOut, summary="Change a queue (supervisors)")
def update_queue(request: HttpRequest, queue_id: Id, payload: QueueIn):
    who = actor(request)
    return services.save_queue(actor=who, queue=selectors.access_queue(who, queue_id),
                               **_queue_fields(request, payload))


@router.get("/routing/queues/{queue_id}/waiting", response=list[WaitingContactOut],
            summary="Contacts waiting in a queue, the next to be served first")
def waiting(request: HttpRequest, queue_id: Id) -> list:
    who = actor(request)
    return selectors.waiting_contacts(who, selectors.access_queue(who, queue_id))


@router.post("/routing/contacts/{contact_id}/claim", response=WaitingContactOut,
             summary="Take a waiting contact yourself; of two agents at once, one gets it")
def claim(request: HttpRequest, contact_id: Id):
    who = actor(request)
    contact = selectors.access_contact(who, contact_id)
    services.claim(actor=who, contact=contact)
    contact.refresh_from_db()
    return contact


@router.get("/routing/agents/{membership_id}/status", response=AgentStatusOut, summary="An agent's presence and capacity")
def agent_status(request: HttpRequest, membership_id: Id):
    return _status_out(services.agent_status(access_membership(actor(request), membership_id)))


@router.put("/routing/agents/{membership_id}/presence", response=AgentStatusOut,
            summary="Set presence: your own, or anyone's as a supervisor")
def set_presence(request: HttpRequest, membership_id: Id, payload: PresenceIn):
    who = actor(request)
    membership = access_membership(who, membership_id)
    return _status_out(services.set_presence(actor=who, membership=membership, presence=payload.presence))


@router.put("/routing/agents/{membership_id}/capacity", response=AgentStatusOut,
            summary="Set capacity per work kind (supervisors); kinds left out keep theirs")
def set_capacity(request: HttpRequest, membership_id: Id, payload: CapacityIn):
    who = actor(request)
    membership = access_membership(who, membership_id)
    capacity = {kind: slots for kind, slots in payload.dict().items() if slots is not None}
    return _status_out(services.set_capacity(actor=who, membership=membership, capacity=capacity))


@router.get("/routing/conversations/{conversation_id}/decisions", response=list[DecisionOut],
            summary="Why a conversation went to whom, or why it waited")
def decisions(request: HttpRequest, conversation_id: Id) -> list:
    return selectors.decisions_for(actor(request), conversation_id)


def _status_out(status) -> dict:
    return {"membership_id": status.membership_id, "presence": status.presence,
            "capacity": {kind: status.capacity_for(kind) for kind in policy.WORK_KINDS},
            "idle_since": status.idle_since, "changed_at": status.changed_at}


# ---- SLAs ---------------------------------------------------------------------------------------


def _sla_policy_fields(payload: SlaPolicyIn) -> dict:
    fields = payload.dict()
    fields["escalation"] = [{k: v for k, v in step.items() if v is not None} for step in fields["escalation"]]
    return fields


@router.get("/routing/sla-policies", response=list[SlaPolicyOut], summary="SLA policies, in position order")
def list_sla_policies(request: HttpRequest) -> list:
    return list(selectors.sla_policies(actor(request)))


@router.post("/routing/sla-policies", response={201: SlaPolicyOut},
             summary="Create an SLA policy (supervisors); 422 `no_working_hours` for business hours on a desk with none")
def create_sla_policy(request: HttpRequest, payload: SlaPolicyIn) -> Status:
    return Status(201, services.save_sla_policy(actor=actor(request), **_sla_policy_fields(payload)))


@router.get("/routing/sla-policies/{policy_id}", response=SlaPolicyOut, summary="One SLA policy")
def get_sla_policy(request: HttpRequest, policy_id: Id):
    return selectors.access_sla_policy(actor(request), policy_id)


@router.put("/routing/sla-policies/{policy_id}", response=SlaPolicyOut, summary="Change an SLA policy (supervisors)")
def update_sla_policy(request: HttpRequest, policy_id: Id, payload: SlaPolicyIn):
    who = actor(request)
    return services.save_sla_policy(actor=who, sla_policy=selectors.access_sla_policy(who, policy_id),
                                    **_sla_policy_fields(payload))


@router.delete("/routing/sla-policies/{policy_id}", response={204: None}, summary="Delete an SLA policy (supervisors)")
def delete_sla_policy(request: HttpRequest, policy_id: Id) -> Status:
    who = actor(request)
    services.delete_sla_policy(actor=who, sla_policy=selectors.access_sla_policy(who, policy_id))
    return Status(204, None)


@router.get("/conversations/{conversation_id}/sla", response=ConversationSlaOut,
            summary="A conversation's SLA now: its policy, each target's due time and state")
def conversation_sla(request: HttpRequest, conversation_id: Id) -> dict:
    try:
        return selectors.sla_overview(actor(request), conversation_id)
    except CalendarError as error:
        raise ValidationFailed(f"The SLA cannot be computed: {error}", code="invalid_calendar") from None
