"""What the API says about canned replies and macros."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StringConstraints, model_validator

from touchpoint.automation.models import MacroVisibility
from touchpoint.automation.placeholders import PLACEHOLDERS
from touchpoint.automation.services import MAX_ACTIONS, MAX_BODY, MAX_SNOOZE_HOURS
from touchpoint.conversations.models import Priority, Status
from touchpoint.conversations.schemas import ConversationOut, PersonRef, TeamRef
from touchpoint.core.api import Id, Input, Limit

Shortcut = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=51)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY)]
TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]

_PLACEHOLDER_LIST = ", ".join("{{" + name + "}}" for name in PLACEHOLDERS)
BODY_HELP = (f"Plain text. Placeholders: {_PLACEHOLDER_LIST}; a default after a bar, as in "
             "{{customer.first_name|there}}, is used when the value is missing. An unknown placeholder is refused.")


# ---- canned replies -----------------------------------------------------------------------------


class CannedReplyOut(Schema):
    id: int
    shortcut: str = Field(description='Typed after "/" in the composer, e.g. refund-policy.')
    title: str
    body: str
    team: TeamRef | None = Field(description="Only this team's members see it (and supervisors and admins); "
                                             "null: everyone.")
    created_by: PersonRef | None
    usage_count: int = Field(description="How often agents inserted it; the search ranks the most used first.")
    created_at: datetime
    updated_at: datetime


class CannedReplyQuery(Schema):
    q: str | None = Field(None, max_length=200, description="Search shortcut, title and body (case-insensitive); "
                          "shortcuts starting with it come first. A leading / is ignored.")
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


class CannedReplyIn(Input):
    shortcut: Shortcut = Field(description="1–50 lowercase letters, digits, - or _; unique in the workspace.",
                               examples=["refund-policy"])
    title: Title
    body: Body = Field(description=BODY_HELP, examples=["Hi {{customer.first_name|there}}, your refund is on its way."])
    team_id: Id | None = Field(None, description="Visible to this team only; null or left out: to everyone.")


class CannedReplyPatch(Input):
    shortcut: Shortcut | None = None
    title: Title | None = None
    body: Body | None = Field(None, description=BODY_HELP)
    team_id: Id | None = Field(None, description="A team, or null to show it to everyone; left out: unchanged.")


class RenderedOut(Schema):
    text: str = Field(description="The reply with its placeholders filled, as plain text.")
    missing: list[str] = Field(description="Placeholders that had no value and no default: they were left empty; "
                                           "fill them in before sending.")


# ---- macros -------------------------------------------------------------------------------------


class ReplyAction(Input):
    """A public reply to the customer (placeholders filled)."""

    type: Literal["reply"]
    body: Body = Field(description=BODY_HELP)


class NoteAction(Input):
    """An internal note, for agents only (placeholders filled)."""

    type: Literal["note"]
    body: Body = Field(description=BODY_HELP)


class TagAction(Input):
    type: Literal["tag"]
    tags: list[TagName] = Field(default_factory=list, max_length=50, description="Tags to add.")
    remove: list[TagName] = Field(default_factory=list, max_length=50, description="Tags to take off.")


class StatusAction(Input):
    type: Literal["status"]
    status: Status
    snooze_hours: int | None = Field(None, ge=1, le=MAX_SNOOZE_HOURS,
                                     description="With status snoozed: how many hours until it reopens.")


class AssignAction(Input):
    """Assign to an agent (`agent_id`), to whoever applies the macro (`to: "me"`), or unassign (`to: "nobody"`)."""

    type: Literal["assign"]
    agent_id: Id | None = None
    to: Literal["me", "nobody"] | None = None

    @model_validator(mode="after")
    def _one_assignee(self) -> "AssignAction":
        if (self.agent_id is None) == (self.to is None):
            raise ValueError('give agent_id, or to: "me" or "nobody" (one of the two)')
        return self


class TeamAction(Input):
    type: Literal["team"]
    team_id: Id | None = Field(description="The team to hand over to, or null for no team.")


class PriorityAction(Input):
    type: Literal["priority"]
    priority: Priority


MacroAction = Annotated[ReplyAction | NoteAction | TagAction | StatusAction | AssignAction | TeamAction
                        | PriorityAction, Field(discriminator="type")]


def actions_as_stored(actions: list[Any]) -> list[dict]:
    """The request's actions as the service takes them: only the fields the client gave."""
    return [action.model_dump(mode="json", exclude_unset=True) for action in actions]


class MacroOut(Schema):
    id: int
    name: str
    description: str
    visibility: MacroVisibility = Field(description="workspace: everyone may apply it; personal: only its maker.")
    actions: list[dict[str, Any]] = Field(description="In the order they are applied; each as given to POST /macros.")
    created_by: PersonRef | None
    created_at: datetime
    updated_at: datetime


class MacroQuery(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


class MacroIn(Input):
    name: Title = Field(description="Unique in the workspace.", examples=["Refund sent"])
    description: str = Field("", max_length=500)
    visibility: MacroVisibility = Field(MacroVisibility.WORKSPACE, description="workspace (supervisors and admins) "
                                        "or personal (anyone, for themselves).")
    actions: list[MacroAction] = Field(min_length=1, max_length=MAX_ACTIONS, description="Applied in this order, "
                                       "all or none.")


class MacroPatch(Input):
    name: Title | None = None
    description: str | None = Field(None, max_length=500)
    visibility: MacroVisibility | None = None
    actions: list[MacroAction] | None = Field(None, min_length=1, max_length=MAX_ACTIONS,
                                              description="Replaces every action.")


class MacroAppliedOut(Schema):
    conversation: ConversationOut
    applied: list[str] = Field(description="The kinds of the actions applied, in order.")
    missing: list[str] = Field(description="Placeholders in the macro's messages that had no value and no default "
                                           "(sent empty).")
