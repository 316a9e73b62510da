"""Who is working, in which workspace, and what a refusal looks like in the agent workspace.

Every view goes through `desk_view`: it resolves the Actor from the session's chosen membership (ids
from any other workspace then fail with 404 in the selectors) and turns domain errors into pages, or
into a message in the page's flash area for htmx requests."""

import zoneinfo
from collections.abc import Callable
from functools import wraps
from urllib.parse import quote

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone

from touchpoint.accounts.models import Membership
from touchpoint.accounts.selectors import actor_for, memberships_of
from touchpoint.core.api import SESSION_WORKSPACE_KEY
from touchpoint.core.errors import DomainError, NotFound
from touchpoint.core.permissions import Actor, Role

MAX_ID = 2**63 - 1  # larger ids cannot exist; asking for one is a 404, not a database error


class DeskRequest(HttpRequest):
    """A request from a signed-in member, as `desk_view` hands it to a view."""

    membership: Membership
    memberships: list[Membership]
    actor: Actor
    can_supervise: bool
    can_admin: bool


View = Callable[..., HttpResponse]


def desk_view(role: Role = Role.AGENT) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return _to_login(request)
            if not _choose_membership(request):
                logout(request)
                return render(request, "web/error.html", {"message": "You are not a member of any workspace. "
                              "Ask an admin to invite you."}, status=403)
            timezone.activate(zoneinfo.ZoneInfo(request.membership.workspace.timezone))
            try:
                request.actor.require(role)
                if any(isinstance(v, int) and v > MAX_ID for v in kwargs.values()):
                    raise NotFound("Nothing here: no record has that id.")
                return view(request, *args, **kwargs)
            except DomainError as error:
                return error_response(request, error)
        return wrapper
    return decorate


def _choose_membership(request: HttpRequest) -> bool:
    """One query for the switcher and the current membership; the session remembers the choice."""
    memberships = list(memberships_of(request.user))
    if not memberships:
        return False
    # The session's choice; a new session opens where the person last worked, not wherever sorts first.
    chosen = request.session.get(SESSION_WORKSPACE_KEY, request.user.last_workspace_id)
    membership = next((m for m in memberships if m.workspace_id == chosen), memberships[0])
    if request.session.get(SESSION_WORKSPACE_KEY) != membership.workspace_id:
        request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
    request.membership = membership
    request.memberships = memberships
    request.actor = actor_for(membership)
    request.can_supervise = request.actor.can(Role.SUPERVISOR)  # what the navigation offers
    request.can_admin = request.actor.can(Role.ADMIN)
    return True


def _to_login(request: HttpRequest) -> HttpResponse:
    url = "/login/?next=" + quote(request.get_full_path() if not request.htmx else request.htmx.current_url_abs_path or "/")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url  # a partial must not swap a login page into the inbox
        return response
    return HttpResponseRedirect(url)


def error_response(request: HttpRequest, error: DomainError) -> HttpResponse:
    if request.htmx:
        response = render(request, "web/_flash.html", {"error": error.message}, status=error.status)
        response["HX-Retarget"] = "#flash"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "web/error.html", {"message": error.message, "status": error.status}, status=error.status)
