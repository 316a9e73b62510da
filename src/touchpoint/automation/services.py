"""Every write to canned replies and macros, and applying a macro to a conversation.

Who may do what (the roles of core.permissions):
- canned replies are the desk's shared wording, so supervisors and admins write them (for everyone,
  or for one team) and agents use them: search, preview, insert;
- macros are either the workspace's (written by supervisors and admins, applied by everyone) or one
  person's own (any agent writes personal macros; nobody else sees or applies them).

Applying a macro runs each of its actions through the conversations services, in one transaction:
all of them happen, or, when one is refused, none does, and the refusal says which action it was.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from touchpoint.accounts.models import Membership, Team
from touchpoint.automation.models import CannedReply, Macro, MacroVisibility
from touchpoint.automation.placeholders import PlaceholderContext, Rendered, check_placeholders, render
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Priority, Status
from touchpoint.conversations.services import Content
from touchpoint.core import audit
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from touchpoint.core.permissions import Actor, Role, check_same_workspace

SHORTCUT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
MAX_TITLE = 120
MAX_BODY = 10_000
MAX_NAME = 120
MAX_DESCRIPTION = 500
MAX_ACTIONS = 20
MAX_SNOOZE_HOURS = 24 * 30


class _Keep:
    """The value of an optional argument that leaves a field as it is (None means "no team")."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


# ---- canned replies --------------------------------------------------------------------------------


@transaction.atomic
def create_canned_reply(*, actor: Actor, shortcut: str, title: str, body: str, team: Team | None = None) -> CannedReply:
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, team)
    at = now()
    canned = CannedReply(workspace_id=actor.workspace_id, shortcut=_shortcut(shortcut), title=_title(title),
                         body=_body(body), team=team, created_by_id=actor.membership_id, created_at=at, updated_at=at)
    _save_unique(canned, f"A canned reply with the shortcut /{canned.shortcut} exists already; choose another.",
                 "shortcut")
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="canned_reply.created",
                 obj=canned, data={"shortcut": canned.shortcut, "team_id": canned.team_id})
    return canned


@transaction.atomic
def update_canned_reply(
    *, actor: Actor, canned: CannedReply, shortcut: str | None = None, title: str | None = None,
    body: str | None = None, team: Team | None = KEEP,
) -> CannedReply:
    """Change what is given; `team=None` makes the reply everyone's, leaving `team` out keeps it."""
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, canned)
    if shortcut is not None:
        canned.shortcut = _shortcut(shortcut)
    if title is not None:
        canned.title = _title(title)
    if body is not None:
        canned.body = _body(body)
    if team is not KEEP:
        check_same_workspace(actor, team)
        canned.team = team
    canned.updated_at = now()
    _save_unique(canned, f"A canned reply with the shortcut /{canned.shortcut} exists already; choose another.",
                 "shortcut")
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="canned_reply.updated",
                 obj=canned, data={"shortcut": canned.shortcut, "team_id": canned.team_id})
    return canned


@transaction.atomic
def delete_canned_reply(*, actor: Actor, canned: CannedReply) -> None:
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, canned)
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="canned_reply.deleted",
                 obj=canned, data={"shortcut": canned.shortcut, "title": canned.title})
    canned.delete()


def render_canned_reply(*, actor: Actor, conversation: Conversation, canned: CannedReply) -> Rendered:
    """The reply's text for this conversation, placeholders filled: a preview, nothing is written."""
    actor.require(Role.AGENT)
    check_same_workspace(actor, conversation, canned)
    return render(canned.body, _context(actor, conversation))


def record_canned_reply_use(*, actor: Actor, canned: CannedReply) -> None:
    """An agent put the reply into the composer. Counted in the database, so that two agents inserting
    at once both count; the search ranks the most used first."""
    actor.require(Role.AGENT)
    check_same_workspace(actor, canned)
    CannedReply.objects.filter(pk=canned.pk).update(usage_count=F("usage_count") + 1)


def _shortcut(value: str) -> str:
    shortcut = value.strip().removeprefix("/").lower()
    if not SHORTCUT_RE.match(shortcut):
        raise ValidationFailed(f"The shortcut {value!r} is not usable: use 1–50 lowercase letters, digits, hyphens "
                               "or underscores, starting with a letter or digit, e.g. refund-policy.", field="shortcut")
    return shortcut


def _title(value: str) -> str:
    title = value.strip()
    if not title or len(title) > MAX_TITLE:
        raise ValidationFailed(f"A title is 1–{MAX_TITLE} characters.", field="title")
    return title


def _body(value: str, *, field_name: str = "body", where: str = "") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{where}The text is empty; write what the customer should read.", field=field_name)
    if len(value) > MAX_BODY:
        raise ValidationFailed(f"{where}The text is {len(value)} characters; at most {MAX_BODY} are allowed.",
                               field=field_name)
    check_placeholders(value, field_name=field_name, where=where)
    return value.strip()


# ---- macros ------------------------------------------------------------------------------------------


@transaction.atomic
def create_macro(
    *, actor: Actor, name: str, actions: list[dict], description: str = "",
    visibility: str = MacroVisibility.WORKSPACE,
) -> Macro:
    _check_may_write(actor, _visibility(visibility))
    at = now()
    macro = Macro(workspace_id=actor.workspace_id, name=_name(name), description=_description(description),
                  actions=validate_actions(actor=actor, actions=actions), visibility=visibility,
                  created_by_id=actor.membership_id, created_at=at, updated_at=at)
    _save_unique(macro, f"A macro named {macro.name!r} exists already; choose another name.", "name")
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="macro.created", obj=macro,
                 data={"name": macro.name, "visibility": macro.visibility, "actions": macro.actions})
    return macro


@transaction.atomic
def update_macro(
    *, actor: Actor, macro: Macro, name: str | None = None, description: str | None = None,
    actions: list[dict] | None = None, visibility: str | None = None,
) -> Macro:
    """Change what is given. Making a macro personal makes it the actor's own."""
    check_same_workspace(actor, macro)
    _check_may_write(actor, macro.visibility, macro)
    if visibility is not None and visibility != macro.visibility:
        _check_may_write(actor, _visibility(visibility))
        macro.visibility = visibility
        if visibility == MacroVisibility.PERSONAL:
            macro.created_by_id = actor.membership_id
    if name is not None:
        macro.name = _name(name)
    if description is not None:
        macro.description = _description(description)
    if actions is not None:
        macro.actions = validate_actions(actor=actor, actions=actions)
    macro.updated_at = now()
    _save_unique(macro, f"A macro named {macro.name!r} exists already; choose another name.", "name")
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="macro.updated", obj=macro,
                 data={"name": macro.name, "visibility": macro.visibility, "actions": macro.actions})
    return macro


@transaction.atomic
def delete_macro(*, actor: Actor, macro: Macro) -> None:
    check_same_workspace(actor, macro)
    _check_may_write(actor, macro.visibility, macro)
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="macro.deleted", obj=macro,
                 data={"name": macro.name})
    macro.delete()


def _check_may_write(actor: Actor, visibility: str, macro: Macro | None = None) -> None:
    if visibility == MacroVisibility.WORKSPACE:
        actor.require(Role.SUPERVISOR)
        return
    actor.require(Role.AGENT)
    if actor.membership_id is None:
        raise ValidationFailed("A personal macro belongs to a person; act as one.", field="visibility")
    if macro is not None and macro.created_by_id != actor.membership_id:
        raise NotFound(f"No macro with id {macro.pk} in this workspace.")  # another's personal macro is invisible


def _visibility(value: str) -> str:
    if value not in MacroVisibility.values:
        raise ValidationFailed(f"Unknown visibility {value!r}; use one of {', '.join(MacroVisibility.values)}.",
                               field="visibility")
    return value


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"A macro's name is 1–{MAX_NAME} characters.", field="name")
    return name


def _description(value: str) -> str:
    if len(value) > MAX_DESCRIPTION:
        raise ValidationFailed(f"A description is at most {MAX_DESCRIPTION} characters.", field="description")
    return value.strip()


# ---- macro actions: what each kind needs ------------------------------------------------------------

ACTION_FIELDS: dict[str, set[str]] = {
    "reply": {"body"},
    "note": {"body"},
    "tag": {"tags", "remove"},
    "status": {"status", "snooze_hours"},
    "assign": {"agent_id", "to"},
    "team": {"team_id"},
    "priority": {"priority"},
}
ASSIGN_TO = ("me", "nobody")


def validate_actions(*, actor: Actor, actions: Any) -> list[dict]:
    """The macro's actions as stored: each checked (known kind, known fields, valid values, agents and
    teams of this workspace) and normalized. A refusal names the action by its position and kind."""
    if not isinstance(actions, list) or not actions:
        raise ValidationFailed("A macro needs a list of at least one action, e.g. "
                               '[{"type": "tag", "tags": ["refund"]}].', field="actions")
    if len(actions) > MAX_ACTIONS:
        raise ValidationFailed(f"A macro has at most {MAX_ACTIONS} actions; this one has {len(actions)}.",
                               field="actions")
    return [_validate_action(actor, n, action) for n, action in enumerate(actions, 1)]


def _validate_action(actor: Actor, n: int, action: Any) -> dict:
    if not isinstance(action, dict) or action.get("type") not in ACTION_FIELDS:
        kind = action.get("type") if isinstance(action, dict) else None
        raise ValidationFailed(f"Action {n}: unknown kind {kind!r}; use one of {', '.join(ACTION_FIELDS)}.",
                               field="actions")
    kind = action["type"]
    where = f"Action {n} ({kind}): "
    extra = sorted(set(action) - ACTION_FIELDS[kind] - {"type"})
    if extra:
        raise ValidationFailed(f"{where}unknown field{'s' if len(extra) > 1 else ''} {', '.join(extra)}; "
                               f"it takes {', '.join(sorted(ACTION_FIELDS[kind]))}.", field="actions")
    return {"type": kind, **_ACTION_CHECKS[kind](actor, action, where)}


def _check_body(actor: Actor, action: dict, where: str) -> dict:
    return {"body": _body(action.get("body", ""), field_name="actions", where=where)}


def _check_tags(actor: Actor, action: dict, where: str) -> dict:
    found = {}
    for key in ("tags", "remove"):
        names = action.get(key, [])
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValidationFailed(f"{where}{key} must be a list of tag names.", field="actions")
        cleaned = list(dict.fromkeys(name.strip().lower() for name in names))
        if any(not name or len(name) > 50 for name in cleaned) or len(cleaned) > 50:
            raise ValidationFailed(f"{where}each tag is 1–50 characters, at most 50 tags.", field="actions")
        if cleaned:
            found[key] = cleaned
    if not found:
        raise ValidationFailed(f"{where}name tags to add (tags) or to remove (remove).", field="actions")
    return found


def _check_status(actor: Actor, action: dict, where: str) -> dict:
    status = action.get("status")
    if status not in Status.values:
        raise ValidationFailed(f"{where}unknown status {status!r}; use one of {', '.join(Status.values)}.",
                               field="actions")
    hours = action.get("snooze_hours")
    if status != Status.SNOOZED:
        if hours is not None:
            raise ValidationFailed(f"{where}only a snoozed status takes snooze_hours.", field="actions")
        return {"status": status}
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_SNOOZE_HOURS:
        raise ValidationFailed(f"{where}snoozing needs snooze_hours, a whole number of hours from 1 to "
                               f"{MAX_SNOOZE_HOURS}.", field="actions")
    return {"status": status, "snooze_hours": hours}


def _check_assign(actor: Actor, action: dict, where: str) -> dict:
    agent_id, to = action.get("agent_id"), action.get("to")
    if (agent_id is None) == (to is None):
        raise ValidationFailed(f"{where}give agent_id, or to: \"me\" (whoever applies it) or \"nobody\".",
                               field="actions")
    if to is not None:
        if to not in ASSIGN_TO:
            raise ValidationFailed(f"{where}to is \"me\" or \"nobody\", not {to!r}.", field="actions")
        return {"to": to}
    _agent(actor, agent_id, where)
    return {"agent_id": agent_id}


def _check_team(actor: Actor, action: dict, where: str) -> dict:
    if "team_id" not in action:
        raise ValidationFailed(f"{where}give team_id, or null for no team.", field="actions")
    team_id = action["team_id"]
    if team_id is not None:
        _team(actor, team_id, where)
    return {"team_id": team_id}


def _check_priority(actor: Actor, action: dict, where: str) -> dict:
    priority = action.get("priority")
    if priority not in Priority.values:
        raise ValidationFailed(f"{where}unknown priority {priority!r}; use one of {', '.join(Priority.values)}.",
                               field="actions")
    return {"priority": priority}


_ACTION_CHECKS = {"reply": _check_body, "note": _check_body, "tag": _check_tags, "status": _check_status,
                  "assign": _check_assign, "team": _check_team, "priority": _check_priority}


def _agent(actor: Actor, agent_id: Any, where: str) -> Membership:
    found = None
    if isinstance(agent_id, int) and not isinstance(agent_id, bool):
        found = Membership.objects.filter(workspace_id=actor.workspace_id, pk=agent_id).first()
    if found is None:
        raise ValidationFailed(f"{where}no agent with id {agent_id!r} in this workspace.", field="actions")
    if not found.is_active:
        raise ValidationFailed(f"{where}{found.display_name} is deactivated and cannot take conversations.",
                               field="actions")
    return found


def _team(actor: Actor, team_id: Any, where: str) -> Team:
    found = None
    if isinstance(team_id, int) and not isinstance(team_id, bool):
        found = Team.objects.filter(workspace_id=actor.workspace_id, pk=team_id).first()
    if found is None:
        raise ValidationFailed(f"{where}no team with id {team_id!r} in this workspace.", field="actions")
    return found


# ---- applying a macro ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MacroResult:
    conversation: Conversation
    applied: list[str]  # the kinds of the actions, in order
    missing: list[str]  # placeholders of its messages that had no value and no default (sent empty)


def apply_macro(*, actor: Actor, conversation: Conversation, macro: Macro) -> MacroResult:
    """Run the macro's actions in order on the conversation, all in one transaction.

    The actions are checked again as they run (an agent may have been deactivated, a team deleted since
    the macro was saved); the first refusal undoes every action before it and is raised with the
    action's position and kind. A reference that no longer exists is a 422: the macro needs fixing."""
    actor.require(Role.AGENT)
    check_same_workspace(actor, conversation, macro)
    if macro.visibility == MacroVisibility.PERSONAL and macro.created_by_id != actor.membership_id:
        raise NotFound(f"No macro with id {macro.pk} in this workspace.")
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        context = _context(actor, conversation)
        missing: list[str] = []
        for n, action in enumerate(macro.actions, 1):
            kind = action.get("type") if isinstance(action, dict) else None
            try:
                missing += _run(actor, conversation, _validate_action(actor, n, action), context)
            except DomainError as error:
                raise _refusal(macro, n, kind, error) from error
        applied = [action["type"] for action in macro.actions]
        audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="macro.applied",
                     obj=conversation, data={"macro_id": macro.pk, "macro": macro.name, "actions": applied})
    return MacroResult(conversation=conversation, applied=applied, missing=list(dict.fromkeys(missing)))


def _refusal(macro: Macro, n: int, kind: str | None, error: DomainError) -> DomainError:
    reason = error.message
    prefix = f"Action {n} ({kind}): "
    reason = reason.removeprefix(prefix)
    message = f"Macro {macro.name!r} was not applied; nothing changed. Action {n} ({kind}) was refused: {reason}"
    if isinstance(error, NotFound):
        return ValidationFailed(message, code="macro_action_refused", field="actions")
    return type(error)(message, code=error.code, field="actions")


def _run(actor: Actor, conversation: Conversation, action: dict, context: PlaceholderContext) -> list[str]:
    """One action through the conversations service that does it; returns the placeholders left empty."""
    kind = action["type"]
    if kind in ("reply", "note"):
        rendered = render(action["body"], context)
        write = conversations.reply if kind == "reply" else conversations.add_note
        write(actor=actor, conversation=conversation, content=Content(text=rendered.text))
        return rendered.missing
    if kind == "tag":
        conversations.tag(actor=actor, conversation=conversation, add=action.get("tags", []),
                          remove=action.get("remove", []))
    elif kind == "status":
        hours = action.get("snooze_hours")
        until = now() + timedelta(hours=hours) if hours else None
        conversations.change_status(actor=actor, conversation=conversation, status=action["status"],
                                    snoozed_until=until)
    elif kind == "assign":
        conversations.assign(actor=actor, conversation=conversation, assignee=_assignee(actor, action))
    elif kind == "team":
        team = _team(actor, action["team_id"], "") if action["team_id"] is not None else None
        conversations.transfer_to_team(actor=actor, conversation=conversation, team=team)
    elif kind == "priority":
        conversations.update_conversation(actor=actor, conversation=conversation, priority=action["priority"])
    return []


def _assignee(actor: Actor, action: dict) -> Membership | None:
    if action.get("to") == "nobody":
        return None
    if action.get("to") == "me":
        if actor.membership_id is None:
            raise ValidationFailed("\"me\" needs a person applying the macro.", field="actions")
        return Membership.objects.get(pk=actor.membership_id)
    return _agent(actor, action["agent_id"], "")


# ---- shared -------------------------------------------------------------------------------------------


def _context(actor: Actor, conversation: Conversation) -> PlaceholderContext:
    agent = Membership.objects.filter(pk=actor.membership_id).first() if actor.membership_id else None
    return PlaceholderContext(conversation=conversation, agent=agent)


def _save_unique(obj: CannedReply | Macro, message: str, field_name: str) -> None:
    """Save; the unique index decides a duplicate (two people saving the same name at once included)."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise Conflict(message, field=field_name) from None
