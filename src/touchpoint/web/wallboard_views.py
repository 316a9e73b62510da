"""The supervisor's live wallboard and an agent's own panel (presence, load, the contacts they may
claim, their SLAs). Both pages poll a fragment every few seconds with htmx, so they stay live without
script of their own; the figures come from `routing.wallboard`."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from touchpoint.core.clock import now
from touchpoint.core.errors import DomainError
from touchpoint.core.permissions import Role
from touchpoint.routing import selectors, services, wallboard
from touchpoint.routing.models import Presence
from touchpoint.web import forms, routing_forms
from touchpoint.web.access import DeskRequest, desk_view

REFRESH_S = 5


# ---- the wallboard (supervisors and admins) ------------------------------------------------------


def _board_context(request: DeskRequest) -> dict:
    return {"board": wallboard.wallboard(request.membership.workspace, now()), "refresh_s": REFRESH_S,
            "variant": wallboard.SERVICE_LEVEL_VARIANT}


@require_safe
@desk_view(Role.SUPERVISOR)
def wallboard_page(request: DeskRequest) -> HttpResponse:
    return render(request, "web/wallboard.html", {"section": "wallboard", **_board_context(request)})


@require_safe
@desk_view(Role.SUPERVISOR)
def wallboard_board(request: DeskRequest) -> HttpResponse:
    """The board alone: what the page swaps in every few seconds."""
    return render(request, "web/_wallboard.html", _board_context(request))


# ---- an agent's own panel ------------------------------------------------------------------------


def _work_context(request: DeskRequest) -> dict:
    at = now()
    return {
        "me": wallboard.agent_load(request.membership, at),
        "claimable": wallboard.claimable_contacts(request.membership, at),
        "my_slas": wallboard.sla_figures(request.membership.workspace, at, assignee=request.membership),
        "at": at, "refresh_s": REFRESH_S,
    }


def _me_page(request: DeskRequest, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "web/me.html", {"section": "me", "error": error, "presences": Presence.choices,
                                           **_work_context(request)}, status=status)


@require_safe
@desk_view()
def me_page(request: DeskRequest) -> HttpResponse:
    return _me_page(request)


@require_safe
@desk_view()
def me_work(request: DeskRequest) -> HttpResponse:
    return render(request, "web/_me_work.html", _work_context(request))


@require_POST
@desk_view()
def me_presence(request: DeskRequest) -> HttpResponse:
    presence = forms.cleaned(routing_forms.PresenceForm(request.POST))["presence"]
    services.set_presence(actor=request.actor, membership=request.membership, presence=presence)
    if not request.htmx:
        return redirect("/me/")
    return render(request, "web/_me_presence.html", {"me": wallboard.agent_load(request.membership, now()),
                                                     "presences": Presence.choices})


@require_POST
@desk_view()
def claim(request: DeskRequest, contact_id: int) -> HttpResponse:
    """Take a waiting contact: to the conversation on success; the panel again, saying so, when someone
    else was quicker."""
    contact = selectors.access_contact(request.actor, contact_id)
    try:
        services.claim(actor=request.actor, contact=contact)
    except DomainError as error:
        return _me_page(request, error.message, error.status)
    return redirect(f"/conversations/{contact.conversation_id}/")
