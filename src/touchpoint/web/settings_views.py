"""Workspace settings: people, roles and invitations, teams, API tokens. Admins only, except teams (supervisors too).
The services check the role again: these pages are a door, not the lock."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from touchpoint.accounts import services as accounts
from touchpoint.accounts.selectors import (
    access_invitation,
    access_membership,
    access_team,
    access_token,
    memberships_for,
    open_invitations_for,
    teams_for,
    tokens_for,
)
from touchpoint.core.errors import DomainError
from touchpoint.core.permissions import ROLE_CHOICES, Role
from touchpoint.web import forms
from touchpoint.web.access import DeskRequest, desk_view


def _page(request: DeskRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"roles": ROLE_CHOICES, **context}, status=status)


# ---- people, roles and invitations ---------------------------------------------------------------


def _users_page(request: DeskRequest, error: str = "", status: int = 200, form_data: dict | None = None,
                notice: str = "") -> HttpResponse:
    members = memberships_for(request.actor).prefetch_related("teams").order_by("-is_active", "display_name")
    return _page(request, "web/settings_users.html", {
        "section": "users", "members": members, "invitations": open_invitations_for(request.actor),
        "error": error, "notice": notice, "form_data": form_data or {},
    }, status)


@require_http_methods(["GET", "POST"])
@desk_view(Role.ADMIN)
def users(request: DeskRequest) -> HttpResponse:
    """The people of the workspace; a POST invites someone (they join when they accept the mailed link)."""
    if request.method == "GET":
        return _users_page(request)
    try:
        data = forms.cleaned(forms.InviteForm(request.POST))
        invitation = accounts.invite_member(actor=request.actor, email=data["email"], display_name=data["display_name"],
                                            role=Role(data["role"]), site=accounts.desk_address(request))
    except DomainError as error:
        kept = {k: request.POST.get(k, "") for k in ("email", "display_name", "role")}
        return _users_page(request, error.message, error.status, kept)
    if invitation.send_error:
        return _users_page(request, f"The invitation to {invitation.email} is saved, but its mail did not go out: "
                           f"{invitation.send_error}. Check the email account, then Resend.")
    return _users_page(request, notice=f"Invitation mailed to {invitation.email}. They join when they accept it.")


@require_POST
@desk_view(Role.ADMIN)
def set_role(request: DeskRequest, membership_id: int) -> HttpResponse:
    membership = access_membership(request.actor, membership_id)
    try:
        role = forms.cleaned(forms.RoleForm(request.POST))["role"]
        accounts.set_role(actor=request.actor, membership=membership, role=Role(role))
    except DomainError as error:
        return _users_page(request, error.message, error.status)
    return redirect("/settings/users/")


@require_POST
@desk_view(Role.ADMIN)
def set_access(request: DeskRequest, membership_id: int) -> HttpResponse:
    """Deactivate (signed out of this workspace at once) or reactivate a person."""
    membership = access_membership(request.actor, membership_id)
    try:
        is_active = forms.cleaned(forms.AccessForm(request.POST))["is_active"]
        accounts.update_member(actor=request.actor, membership=membership, is_active=is_active)
    except DomainError as error:
        return _users_page(request, error.message, error.status)
    return redirect("/settings/users/")


@require_POST
@desk_view(Role.ADMIN)
def resend_invitation(request: DeskRequest, invitation_id: int) -> HttpResponse:
    invitation = access_invitation(request.actor, invitation_id)
    try:
        invitation = accounts.resend_invitation(actor=request.actor, invitation=invitation,
                                                site=accounts.desk_address(request))
    except DomainError as error:
        return _users_page(request, error.message, error.status)
    if invitation.send_error:
        return _users_page(request, f"The mail to {invitation.email} did not go out: {invitation.send_error}. "
                           "Check the email account, then Resend.")
    return _users_page(request, notice=f"A new link went to {invitation.email}; the earlier one no longer works.")


@require_POST
@desk_view(Role.ADMIN)
def revoke_invitation(request: DeskRequest, invitation_id: int) -> HttpResponse:
    invitation = access_invitation(request.actor, invitation_id)
    try:
        accounts.revoke_invitation(actor=request.actor, invitation=invitation)
    except DomainError as error:
        return _users_page(request, error.message, error.status)
    return redirect("/settings/users/")


# ---- teams -----------------------------------------------------------------------------------------


def _teams_page(request: DeskRequest, error: str = "", status: int = 200) -> HttpResponse:
    teams = teams_for(request.actor).prefetch_related("members")
    members = [m for m in memberships_for(request.actor).order_by("display_name") if m.is_active]
    return _page(request, "web/settings_teams.html", {"section": "teams", "teams": teams, "members": members, "error": error}, status)


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def teams(request: DeskRequest) -> HttpResponse:
    if request.method == "GET":
        return _teams_page(request)
    try:
        name = forms.cleaned(forms.TeamForm(request.POST))["name"]
        accounts.create_team(actor=request.actor, name=name)
    except DomainError as error:
        return _teams_page(request, error.message, error.status)
    return redirect("/settings/teams/")


@require_POST
@desk_view(Role.SUPERVISOR)
def team_members(request: DeskRequest, team_id: int) -> HttpResponse:
    team = access_team(request.actor, team_id)
    members = {m.pk: m for m in memberships_for(request.actor)}
    try:
        chosen = forms.cleaned(forms.TeamMembersForm(request.POST, member_ids=list(members)))["members"]
        accounts.set_team_members(actor=request.actor, team=team, members=[members[i] for i in chosen])
    except DomainError as error:
        return _teams_page(request, error.message, error.status)
    return redirect("/settings/teams/")


# ---- API tokens ------------------------------------------------------------------------------------


def _tokens_page(request: DeskRequest, *, error: str = "", status: int = 200, new_key: str = "",
                 new_token: object = None) -> HttpResponse:
    response = _page(request, "web/settings_tokens.html", {
        "section": "tokens", "tokens": tokens_for(request.actor).select_related("membership"), "error": error, "new_key": new_key,
        "new_token": new_token,
    }, status)
    return response


@never_cache  # the page that shows a new key once must not be kept by any cache
@require_http_methods(["GET", "POST"])
@desk_view(Role.ADMIN)
def tokens(request: DeskRequest) -> HttpResponse:
    if request.method == "GET":
        return _tokens_page(request)
    try:
        data = forms.cleaned(forms.TokenForm(request.POST))
        token, key = accounts.issue_token(actor=request.actor, name=data["name"], role=Role(data["role"]))
    except DomainError as error:
        return _tokens_page(request, error=error.message, status=error.status)
    return _tokens_page(request, new_key=key, new_token=token, status=201)


@require_POST
@desk_view(Role.ADMIN)
def revoke_token(request: DeskRequest, token_id: int) -> HttpResponse:
    token = access_token(request.actor, token_id)
    accounts.revoke_token(actor=request.actor, token=token)
    return redirect("/settings/tokens/")
