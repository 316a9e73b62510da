"""API of the live wallboard: the figures a supervisor's board shows, for a wall display or a BI tool
polling them. The definitions are those of `routing.wallboard` (and KPIS.md)."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from touchpoint.accounts.selectors import workspace_of
from touchpoint.core.api import actor
from touchpoint.core.clock import now
from touchpoint.core.permissions import Role
from touchpoint.routing import wallboard

router = Router(tags=["routing"])


class QueueDayOut(Schema):
    offered: int
    answered: int
    abandoned: int
    waiting: int = Field(description="Entered today and still waiting.")
    answered_in_target: int
    abandoned_in_target: int
    waiting_past_target: int
    service_level: float | None = Field(description="V2: answered within T / (offered − abandoned within T), "
                                                    "over contacts whose outcome against T is known; 0-1.")
    service_level_v1: float | None
    service_level_v3: float | None
    asa_s: float | None = Field(description="Σ queue time of answered / answered.")
    average_wait_s: float | None = Field(description="Σ queue time of answered and abandoned / (answered + abandoned).")
    abandonment_rate: float | None


class QueueFiguresOut(Schema):
    queue_id: int
    name: str
    work_kinds: list[str]
    targets_s: dict[str, int] = Field(description="T of the service level per work kind, in seconds.")
    waiting_now: int
    longest_wait_s: float | None
    today: QueueDayOut
    variant: str


class AgentFiguresOut(Schema):
    membership_id: int
    name: str
    presence: str
    presence_since: datetime | None
    load: dict[str, int]
    capacity: dict[str, int]
    main_kind: str | None = Field(description="The work kind the agent is fullest in.")
    occupancy: float | None = Field(description="Open work / capacity of the main kind, now; 0-1 (above 1 when "
                                                "given work beyond capacity by hand).")
    idle_s: float | None = Field(description="Online with nothing open: seconds since last given work or online.")


class AgentBoardOut(Schema):
    agents: list[AgentFiguresOut]
    by_presence: dict[str, int]
    busy: int
    occupancy: float | None


class SlaDueOut(Schema):
    conversation_id: int
    subject: str
    assignee: str
    state: str
    due_at: datetime
    due_in_s: float


class SlaFiguresOut(Schema):
    at_risk: int
    breached: int
    due_next: list[SlaDueOut]


class WallboardOut(Schema):
    now: datetime
    day_start: datetime = Field(description="Local midnight in the workspace's time zone: the start of 'today'.")
    queues: list[QueueFiguresOut]
    agents: AgentBoardOut
    slas: SlaFiguresOut


@router.get("/routing/wallboard", response=WallboardOut,
            summary="Live figures per queue (today so far), per agent and for SLAs (supervisors)")
def get_wallboard(request: HttpRequest) -> dict:
    who = actor(request)
    who.require(Role.SUPERVISOR)
    board = wallboard.wallboard(workspace_of(who), now())
    return {
        "now": board.now, "day_start": board.day_start, "agents": board.agents, "slas": board.slas,
        "queues": [_queue(q) for q in board.queues],
    }


def _queue(figures: wallboard.QueueFigures) -> dict:
    day = figures.today
    return {
        "queue_id": figures.queue_id, "name": figures.name, "work_kinds": list(figures.work_kinds),
        "targets_s": figures.targets_s, "waiting_now": figures.waiting_now, "longest_wait_s": figures.longest_wait_s,
        "variant": figures.variant,
        "today": {name: getattr(day, name) for name in QueueDayOut.model_fields},
    }
