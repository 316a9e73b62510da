"""Input of the canned replies and macros pages. A macro is written here as one form with a field per
kind of action, the common shape (a reply, a note, tags, priority, team, assignee, status); the API
takes any list of actions."""

from django import forms

from touchpoint.automation.models import Macro, MacroVisibility
from touchpoint.automation.services import MAX_BODY, MAX_SNOOZE_HOURS
from touchpoint.conversations.models import Priority, Status

# The order a macro written through the form applies its actions in: the messages first, then the
# team before the assignee (a transfer clears an assignee outside the new team), the status last.
FORM_ORDER = ("reply", "note", "tag", "priority", "team", "assign", "status")


class CannedSearchForm(forms.Form):
    q = forms.CharField(max_length=60, required=False)


class CannedReplyForm(forms.Form):
    shortcut = forms.CharField(max_length=51)
    title = forms.CharField(max_length=120)
    body = forms.CharField(max_length=MAX_BODY, strip=False)
    team = forms.IntegerField(required=False, min_value=1)


class MacroForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=500, required=False)
    visibility = forms.ChoiceField(choices=MacroVisibility.choices)
    # Present (as "1") when the form carries the macro's actions; a macro made through the API in
    # another shape keeps its actions and only its name, description and visibility are edited here.
    with_actions = forms.BooleanField(required=False)
    reply = forms.CharField(max_length=MAX_BODY, required=False, strip=False)
    note = forms.CharField(max_length=MAX_BODY, required=False, strip=False)
    add_tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated")
    remove_tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated")
    priority = forms.ChoiceField(choices=[("", "")] + Priority.choices, required=False)
    team = forms.CharField(max_length=20, required=False)  # "", "none" or a team id
    assign = forms.CharField(max_length=20, required=False)  # "", "me", "nobody" or an agent id
    status = forms.ChoiceField(choices=[("", "")] + Status.choices, required=False)
    snooze_hours = forms.IntegerField(required=False, min_value=1, max_value=MAX_SNOOZE_HOURS)

    def actions(self) -> list[dict]:
        """The actions the filled-in fields describe, in FORM_ORDER. Ids are passed on as given: the
        service checks that they name this workspace's agents and teams."""
        data = self.cleaned_data
        found: list[dict] = []
        if data["reply"].strip():
            found.append({"type": "reply", "body": data["reply"]})
        if data["note"].strip():
            found.append({"type": "note", "body": data["note"]})
        tags = {"tags": _names(data["add_tags"]), "remove": _names(data["remove_tags"])}
        if any(tags.values()):
            found.append({"type": "tag", **{key: names for key, names in tags.items() if names}})
        if data["priority"]:
            found.append({"type": "priority", "priority": data["priority"]})
        if data["team"]:
            found.append({"type": "team", "team_id": None if data["team"] == "none" else _id(data["team"])})
        if data["assign"]:
            target = data["assign"]
            found.append({"type": "assign", **({"to": target} if target in ("me", "nobody") else {"agent_id": _id(target)})})
        if data["status"]:
            status = {"type": "status", "status": data["status"]}
            if data["status"] == Status.SNOOZED:
                status["snooze_hours"] = data["snooze_hours"]
            found.append(status)
        return found


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def fits_the_form(macro: Macro) -> bool:
    """Whether the form can show (and so rewrite) this macro's actions without losing or reordering any."""
    kinds = [action.get("type") for action in macro.actions]
    return len(set(kinds)) == len(kinds) and kinds == [kind for kind in FORM_ORDER if kind in kinds]


def initial_for(macro: Macro) -> dict:
    """The form's fields as the macro fills them (for a macro that fits the form)."""
    initial: dict = {"name": macro.name, "description": macro.description, "visibility": macro.visibility}
    for action in macro.actions:
        kind = action["type"]
        if kind in ("reply", "note"):
            initial[kind] = action["body"]
        elif kind == "tag":
            initial["add_tags"] = ", ".join(action.get("tags", []))
            initial["remove_tags"] = ", ".join(action.get("remove", []))
        elif kind == "priority":
            initial["priority"] = action["priority"]
        elif kind == "team":
            initial["team"] = str(action["team_id"]) if action["team_id"] else "none"
        elif kind == "assign":
            initial["assign"] = action.get("to") or str(action["agent_id"])
        elif kind == "status":
            initial["status"] = action["status"]
            initial["snooze_hours"] = action.get("snooze_hours", "")
    return initial
