"""Routing settings for supervisors: the queues (which conversations each takes, what they need, how
an agent is picked) and each agent's capacity per kind of work. The services check the role again."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from touchpoint.accounts.models import Membership, Skill
from touchpoint.accounts.selectors import access_membership, memberships_for, teams_for
from touchpoint.conversations.models import Channel
from touchpoint.core.errors import DomainError, ValidationFailed
from touchpoint.core.permissions import Actor, Role
from touchpoint.routing import selectors, services, wallboard
from touchpoint.routing.models import Queue
from touchpoint.routing.policy import DEFAULT_CAPACITY, WORK_KINDS
from touchpoint.web import forms
from touchpoint.web.access import DeskRequest, desk_view
from touchpoint.web.routing_forms import (
    NEW_QUEUE,
    POLICY_LABELS,
    QUEUE_PRIORITIES,
    CapacityForm,
    QueueForm,
    queue_initial,
    skill_field,
)

SETTINGS_URL = "/settings/queues/"


def _skills(actor: Actor) -> list[Skill]:
    return list(Skill.objects.filter(workspace_id=actor.workspace_id))


def _choices(request: DeskRequest, skills: list[Skill], form: dict) -> dict:
    """What the queue form offers, with each skill's field name and the level it shows."""
    return {
        "section": "queues", "channels": Channel.choices, "teams": list(teams_for(request.actor)),
        "priorities": QUEUE_PRIORITIES, "policies": list(POLICY_LABELS.items()), "proficiencies": range(1, 6),
        "skills": [(s, skill_field(s), str(form.get(skill_field(s), ""))) for s in skills], "queue_form": form,
    }


def _settings_page(request: DeskRequest, *, form: dict | None = None, error: str = "", capacity_error: str = "",
                   status: int = 200) -> HttpResponse:
    skills = _skills(request.actor)
    members = [m for m in memberships_for(request.actor).select_related("routing_status").order_by("display_name")
               if m.is_active]
    return render(request, "web/settings_queues.html", {
        **_choices(request, skills, form or NEW_QUEUE),
        "queues": list(selectors.queues(request.actor).select_related("team", "overflow_team")),
        "members": [(m, _capacity(m)) for m in members], "error": error, "capacity_error": capacity_error,
        "priority_labels": dict(QUEUE_PRIORITIES), "policy_labels": POLICY_LABELS,
    }, status=status)


def _capacity(membership: Membership) -> dict[str, int]:
    """Slots per work kind as the router counts them: the policy's defaults until set."""
    status = wallboard.status_of(membership)
    return {kind: status.capacity_for(kind) if status is not None else DEFAULT_CAPACITY[kind] for kind in WORK_KINDS}


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def queues(request: DeskRequest) -> HttpResponse:
    if request.method == "GET":
        return _settings_page(request)
    try:
        _save(request, None)
    except DomainError as error:
        return _settings_page(request, form=_kept(request), error=error.message, status=error.status)
    return redirect(SETTINGS_URL)


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def queue(request: DeskRequest, queue_id: int) -> HttpResponse:
    found = selectors.access_queue(request.actor, queue_id)
    skills = _skills(request.actor)
    if request.method == "GET":
        return _queue_page(request, found, skills, queue_initial(found, skills))
    try:
        _save(request, found)
    except DomainError as error:
        found.refresh_from_db()  # the heading shows the queue as saved, the form what was typed
        return _queue_page(request, found, skills, _kept(request), error.message, error.status)
    return redirect(SETTINGS_URL)


def _queue_page(request: DeskRequest, found: Queue, skills: list[Skill], form: dict, error: str = "",
                status: int = 200) -> HttpResponse:
    return render(request, "web/settings_queue.html", {
        **_choices(request, skills, form), "queue": found, "error": error,
    }, status=status)


def _save(request: DeskRequest, found: Queue | None) -> Queue:
    form = QueueForm(request.POST, skills=_skills(request.actor))
    data = forms.cleaned(form)
    teams = {t.pk: t for t in teams_for(request.actor)}
    fields = {
        "name": data["name"].strip(), "channels": data["channels"], "priority": data["priority"],
        "policy": data["policy"], "sticky_wait_s": data["sticky_wait_s"], "overflow_after_s": data["overflow_after_s"],
        "team": _team(teams, data["team"]), "overflow_team": _team(teams, data["overflow_team"]),
        "required_skills": form.required_skills(),
    }
    if data["position"] is not None:
        fields["position"] = data["position"]
    return services.save_queue(actor=request.actor, queue=found, **fields)


def _team(teams: dict, team_id: int | None):
    if not team_id:
        return None
    if team_id not in teams:
        raise ValidationFailed("There is no such team in this workspace; choose another.", field="team")
    return teams[team_id]


@require_POST
@desk_view(Role.SUPERVISOR)
def capacity(request: DeskRequest, membership_id: int) -> HttpResponse:
    membership = access_membership(request.actor, membership_id)
    try:
        data = forms.cleaned(CapacityForm(request.POST))
        services.set_capacity(actor=request.actor, membership=membership, capacity=dict(data))
    except DomainError as error:
        return _settings_page(request, capacity_error=f"{membership.display_name}: {error.message}",
                              status=error.status)
    return redirect(SETTINGS_URL + "#capacity")


def _kept(request: HttpRequest) -> dict:
    """What the supervisor entered, shown again with the refusal."""
    kept = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
    kept["channels"] = request.POST.getlist("channels")
    return kept
