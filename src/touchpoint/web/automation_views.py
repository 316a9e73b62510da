"""Canned replies and macros in the agent workspace: "/" in the composer finds a canned reply and
inserts it filled in; the Macros menu applies one to the open conversation; a settings page writes both
(supervisors and admins; the services check the role again)."""

import textwrap

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from touchpoint.accounts.selectors import access_team, memberships_for, teams_for
from touchpoint.automation import selectors, services
from touchpoint.automation.models import CannedReply, Macro, MacroVisibility
from touchpoint.automation.placeholders import PLACEHOLDERS
from touchpoint.conversations.models import Priority, Status
from touchpoint.conversations.selectors import access_conversation, thread
from touchpoint.core.errors import DomainError
from touchpoint.core.permissions import Actor, Role
from touchpoint.web import forms
from touchpoint.web.access import DeskRequest, desk_view
from touchpoint.web.automation_forms import (
    CannedReplyForm,
    CannedSearchForm,
    MacroForm,
    fits_the_form,
    initial_for,
)
from touchpoint.web.views import _header_context

MENU_SIZE = 8
SETTINGS_URL = "/settings/automation/"


# ---- in the conversation ------------------------------------------------------------------------


@require_safe
@desk_view()
def canned_menu(request: DeskRequest, conversation_id: int) -> HttpResponse:
    """The composer's list after "/ref": the best few matches for what follows the slash."""
    conversation = access_conversation(request.actor, conversation_id)
    query = forms.cleaned(CannedSearchForm(request.GET))["q"].strip()
    found = selectors.search_canned_replies(request.actor, query, limit=MENU_SIZE)
    return render(request, "web/_canned_menu.html", {"conversation": conversation, "found": found, "q": query})


@require_POST
@desk_view()
def canned_insert(request: DeskRequest, conversation_id: int, canned_reply_id: int) -> HttpResponse:
    """The chosen reply filled in for this conversation, for the composer to insert as text."""
    conversation = access_conversation(request.actor, conversation_id)
    canned = selectors.access_canned_reply(request.actor, canned_reply_id)
    rendered = services.render_canned_reply(actor=request.actor, conversation=conversation, canned=canned)
    services.record_canned_reply_use(actor=request.actor, canned=canned)
    return render(request, "web/_canned_inserted.html", {"rendered": rendered, "canned": canned})


@require_safe
@desk_view()
def macro_menu(request: DeskRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    macros = list(selectors.macros_for(request.actor).order_by("name"))
    return render(request, "web/_macro_menu.html", {
        "conversation": conversation, "macros": _described(request.actor, macros),
    })


@require_POST
@desk_view()
def apply_macro(request: DeskRequest, conversation_id: int, macro_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    macro = selectors.access_macro(request.actor, macro_id)
    result = services.apply_macro(actor=request.actor, conversation=conversation, macro=macro)
    if not request.htmx:
        return redirect(f"/conversations/{conversation_id}/")
    conversation = access_conversation(request.actor, conversation_id)
    return render(request, "web/_macro_applied.html", {
        **_header_context(request, conversation), "messages": thread(conversation), "macro": macro,
        "missing": result.missing,
    })


# ---- describing macros for people ----------------------------------------------------------------


def _described(actor: Actor, macros: list[Macro]) -> list[tuple[Macro, list[str]]]:
    agents = {m.pk: m.display_name for m in memberships_for(actor)}
    teams = {t.pk: t.name for t in teams_for(actor)}
    return [(macro, [describe(action, agents, teams) for action in macro.actions]) for macro in macros]


def describe(action: dict, agents: dict[int, str], teams: dict[int, str]) -> str:
    """One action as the confirmation and the settings page say it."""
    kind = action.get("type")
    if kind in ("reply", "note"):
        label = "Reply to the customer" if kind == "reply" else "Internal note"
        return f"{label}: “{textwrap.shorten(action['body'], 90, placeholder=' …')}”"
    if kind == "tag":
        parts = [f"add {', '.join(action['tags'])}"] if action.get("tags") else []
        parts += [f"remove {', '.join(action['remove'])}"] if action.get("remove") else []
        return "Tags: " + "; ".join(parts)
    if kind == "priority":
        return f"Priority: {Priority(action['priority']).label}"
    if kind == "team":
        team_id = action["team_id"]
        return f"Transfer to {teams.get(team_id, 'a team that no longer exists')}" if team_id else "Transfer to no team"
    if kind == "assign":
        if action.get("to") == "me":
            return "Assign to whoever applies it"
        if action.get("to") == "nobody":
            return "Unassign"
        return f"Assign to {agents.get(action['agent_id'], 'someone no longer here')}"
    if kind == "status":
        label = Status(action["status"]).label
        hours = action.get("snooze_hours")
        return f"Status: {label} for {hours} h" if hours else f"Status: {label}"
    return str(kind)


# ---- settings: canned replies and macros ---------------------------------------------------------


def _choices(actor: Actor) -> dict:
    """What the forms offer: teams, agents, placeholders and the conversation's values."""
    return {
        "section": "automation",
        "teams": list(teams_for(actor)),
        "members": [m for m in memberships_for(actor).order_by("display_name") if m.is_active],
        "placeholders": ["{{" + name + "}}" for name in PLACEHOLDERS],
        "priorities": Priority.choices,
        "statuses": Status.choices,
        "visibilities": MacroVisibility.choices,
    }


def _settings_context(request: DeskRequest) -> dict:
    actor = request.actor
    return {
        **_choices(actor),
        "canned_replies": selectors.canned_replies_for(actor).select_related("team").order_by("shortcut"),
        "macros": _described(actor, list(selectors.macros_for(actor).select_related("created_by").order_by("name"))),
    }


def _settings_page(request: DeskRequest, status: int = 200, **context: object) -> HttpResponse:
    return render(request, "web/settings_automation.html", {**_settings_context(request), **context}, status=status)


@require_safe
@desk_view(Role.SUPERVISOR)
def automation_settings(request: DeskRequest) -> HttpResponse:
    return _settings_page(request)


@require_POST
@desk_view(Role.SUPERVISOR)
def create_canned_reply(request: DeskRequest) -> HttpResponse:
    try:
        data = forms.cleaned(CannedReplyForm(request.POST))
        team = access_team(request.actor, data["team"]) if data["team"] else None
        services.create_canned_reply(actor=request.actor, shortcut=data["shortcut"], title=data["title"],
                                     body=data["body"], team=team)
    except DomainError as error:
        return _settings_page(request, error.status, canned_error=error.message, canned_form=_kept(request))
    return redirect(SETTINGS_URL)


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def edit_canned_reply(request: DeskRequest, canned_reply_id: int) -> HttpResponse:
    canned = selectors.access_canned_reply(request.actor, canned_reply_id)
    if request.method == "GET":
        form = {"shortcut": canned.shortcut, "title": canned.title, "body": canned.body, "team": canned.team_id or ""}
        return _canned_page(request, canned, form)
    try:
        data = forms.cleaned(CannedReplyForm(request.POST))
        team = access_team(request.actor, data["team"]) if data["team"] else None
        services.update_canned_reply(actor=request.actor, canned=canned, shortcut=data["shortcut"],
                                     title=data["title"], body=data["body"], team=team)
    except DomainError as error:
        canned.refresh_from_db()  # the heading shows the reply as saved, the form what was typed
        return _canned_page(request, canned, _kept(request), error.message, error.status)
    return redirect(SETTINGS_URL)


def _canned_page(request: DeskRequest, canned: CannedReply, form: dict, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "web/settings_canned_reply.html", {
        **_choices(request.actor), "canned": canned, "canned_form": form, "canned_error": error,
    }, status=status)


@require_POST
@desk_view(Role.SUPERVISOR)
def delete_canned_reply(request: DeskRequest, canned_reply_id: int) -> HttpResponse:
    canned = selectors.access_canned_reply(request.actor, canned_reply_id)
    services.delete_canned_reply(actor=request.actor, canned=canned)
    return redirect(SETTINGS_URL)


@require_POST
@desk_view(Role.SUPERVISOR)
def create_macro(request: DeskRequest) -> HttpResponse:
    try:
        form = MacroForm(request.POST)
        data = forms.cleaned(form)
        services.create_macro(actor=request.actor, name=data["name"], description=data["description"],
                              visibility=data["visibility"], actions=form.actions())
    except DomainError as error:
        return _settings_page(request, error.status, macro_error=error.message, macro_form=_kept(request))
    return redirect(SETTINGS_URL)


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def edit_macro(request: DeskRequest, macro_id: int) -> HttpResponse:
    macro = selectors.access_macro(request.actor, macro_id)
    if request.method == "GET":
        return _macro_page(request, macro, initial_for(macro) if fits_the_form(macro) else {
            "name": macro.name, "description": macro.description, "visibility": macro.visibility})
    try:
        form = MacroForm(request.POST)
        data = forms.cleaned(form)
        actions = form.actions() if data["with_actions"] else None
        services.update_macro(actor=request.actor, macro=macro, name=data["name"], description=data["description"],
                              visibility=data["visibility"], actions=actions)
    except DomainError as error:
        macro.refresh_from_db()
        return _macro_page(request, macro, _kept(request), error.message, error.status)
    return redirect(SETTINGS_URL)


def _macro_page(request: DeskRequest, macro: Macro, form: dict, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "web/settings_macro.html", {
        **_choices(request.actor), "macro": macro, "steps": _described(request.actor, [macro])[0][1], "fits": fits_the_form(macro),
        "macro_form": form, "macro_error": error,
    }, status=status)


@require_POST
@desk_view(Role.SUPERVISOR)
def delete_macro(request: DeskRequest, macro_id: int) -> HttpResponse:
    macro = selectors.access_macro(request.actor, macro_id)
    services.delete_macro(actor=request.actor, macro=macro)
    return redirect(SETTINGS_URL)


def _kept(request: DeskRequest) -> dict:
    """What the person typed, shown again with the refusal so nothing has to be typed twice."""
    return {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
