"""SLAs in the agent workspace: the notifications menu of the top bar (SLA warnings, for now) and the
supervisors' SLA policy settings. The services check the role and every value again."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from touchpoint.accounts.selectors import teams_for, workspace_of
from touchpoint.conversations.models import Channel, Priority
from touchpoint.core.errors import DomainError
from touchpoint.core.permissions import Role
from touchpoint.routing import selectors as routing_selectors
from touchpoint.routing import services as routing
from touchpoint.routing.calendar import BusinessCalendar, CalendarError
from touchpoint.web import forms
from touchpoint.web.access import DeskRequest, desk_view
from touchpoint.web.sla_forms import NEW_POLICY, SlaPolicyForm, policy_initial


def _context(request: DeskRequest, *, keep_open: bool = False) -> dict:
    return {"notifications": routing_selectors.notifications_for(request.actor),
            "unread": routing_selectors.unread_count(request.actor), "keep_open": keep_open}


@require_safe
@desk_view()
def notifications(request: DeskRequest) -> HttpResponse:
    """The menu: loaded after the page, and again when a live event says a new one arrived."""
    return render(request, "web/_notifications.html", _context(request, keep_open=request.GET.get("open") == "1"))


@require_POST
@desk_view()
def read_notifications(request: DeskRequest) -> HttpResponse:
    routing.mark_notifications_read(actor=request.actor)
    if not request.htmx:
        return redirect("/")
    return render(request, "web/_notifications.html", _context(request, keep_open=True))


# ---- the SLA settings page (supervisors) ----------------------------------------------------------

SLA_SETTINGS_URL = "/settings/slas/"


def _settings_context(request: DeskRequest, form: dict) -> dict:
    workspace = workspace_of(request.actor)
    try:
        open_hours = BusinessCalendar.for_workspace(workspace).has_working_hours
    except CalendarError:
        open_hours = False
    return {
        "section": "slas", "policy_form": form, "priorities": Priority.choices, "channels": Channel.choices,
        "teams": list(teams_for(request.actor)), "workspace": workspace, "open_hours": open_hours,
    }


def _settings_page(request: DeskRequest, *, form: dict | None = None, error: str = "", status: int = 200) -> HttpResponse:
    teams = {t.pk: t.name for t in teams_for(request.actor)}
    policies = [(p, [_step_label(step, teams) for step in p.escalation])
                for p in routing_selectors.sla_policies(request.actor)]
    return render(request, "web/settings_slas.html", {
        **_settings_context(request, form or NEW_POLICY), "policies": policies, "error": error,
    }, status=status)


def _step_label(step: dict, teams: dict[int, str]) -> str:
    when = "at risk" if step["when"] == "at_risk" else "breached"
    action = {"raise_priority": "raise priority", "notify": "notify supervisors"}.get(step["action"])
    return f"{when}: {action or 'move to ' + teams.get(step.get('team_id'), 'a deleted team')}"


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def sla_settings(request: DeskRequest) -> HttpResponse:
    if request.method == "GET":
        return _settings_page(request)
    try:
        routing.save_sla_policy(actor=request.actor, **_posted(request))
    except DomainError as error:
        return _settings_page(request, form=_kept(request), error=error.message, status=error.status)
    return redirect(SLA_SETTINGS_URL)


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def sla_policy(request: DeskRequest, policy_id: int) -> HttpResponse:
    found = routing_selectors.access_sla_policy(request.actor, policy_id)
    if request.method == "GET":
        return _policy_page(request, found, policy_initial(found))
    try:
        routing.save_sla_policy(actor=request.actor, sla_policy=found, **_posted(request))
    except DomainError as error:
        found.refresh_from_db()  # the heading shows the policy as saved, the form what was typed
        return _policy_page(request, found, _kept(request), error.message, error.status)
    return redirect(SLA_SETTINGS_URL)


@require_POST
@desk_view(Role.SUPERVISOR)
def delete_sla_policy(request: DeskRequest, policy_id: int) -> HttpResponse:
    routing.delete_sla_policy(actor=request.actor,
                              sla_policy=routing_selectors.access_sla_policy(request.actor, policy_id))
    return redirect(SLA_SETTINGS_URL)


def _policy_page(request: DeskRequest, found, form: dict, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "web/settings_sla.html", {**_settings_context(request, form), "policy": found,
                                                     "error": error}, status=status)


def _posted(request: DeskRequest) -> dict:
    form = SlaPolicyForm(request.POST)
    forms.cleaned(form)
    return form.policy_fields()


def _kept(request: DeskRequest) -> dict:
    """What the supervisor entered, shown again with the refusal."""
    kept: dict = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
    kept["priorities"] = request.POST.getlist("priorities")
    kept["channels"] = request.POST.getlist("channels")
    for field in ("business_hours", "at_risk_raise", "at_risk_notify", "breached_raise"):
        kept[field] = bool(request.POST.get(field))
    return kept
