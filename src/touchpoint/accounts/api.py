"""API for the workspace, its people, teams, skills and tokens. Services check roles; this is the edge."""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status

from touchpoint.accounts import selectors, services
from touchpoint.accounts.models import ApiToken, Invitation, Membership, Team, Workspace
from touchpoint.accounts.schemas import (
    InvitationOut,
    InvitationStatus,
    MeOut,
    SkillIn,
    SkillLevelIn,
    SkillOut,
    TeamIn,
    TeamMembersIn,
    TeamOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
    WorkspaceOut,
    WorkspacePatch,
)
from touchpoint.core.api import Id, actor
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Role

router = Router()


# ---- me and the workspace -----------------------------------------------------------------------


@router.get("/me", response=MeOut, tags=["workspace"], summary="Who am I")
def me(request: HttpRequest) -> dict:
    who = actor(request)
    membership = selectors.access_membership(who, who.membership_id or 0)
    return {"id": membership.pk, "email": membership.user.email, "display_name": membership.display_name,
            "role": who.role, "via_token": who.via_token, "workspace": selectors.workspace_of(who)}


@router.get("/workspace", response=WorkspaceOut, tags=["workspace"])
def get_workspace(request: HttpRequest) -> Workspace:
    return selectors.workspace_of(actor(request))


@router.patch("/workspace", response=WorkspaceOut, tags=["workspace"], summary="Change workspace settings (admin)")
def update_workspace(request: HttpRequest, payload: WorkspacePatch) -> Workspace:
    who = actor(request)
    holidays = [day.isoformat() for day in payload.holidays] if payload.holidays is not None else None
    return services.update_workspace_settings(
        actor=who, workspace=selectors.workspace_of(who), name=payload.name, timezone=payload.timezone,
        business_hours=payload.business_hours, holidays=holidays,
    )


# ---- users --------------------------------------------------------------------------------------


def _users(request: HttpRequest) -> QuerySet[Membership]:
    return selectors.memberships_for(actor(request)).prefetch_related("skills__skill", "teams").order_by("display_name", "id")


def _user(request: HttpRequest, user_id: int) -> Membership:
    found = _users(request).filter(pk=user_id).first()
    if found is None:
        raise NotFound(f"No user with id {user_id} in this workspace.")
    return found


@router.get("/users", response=list[UserOut], tags=["users"])
def list_users(request: HttpRequest) -> QuerySet[Membership]:
    return _users(request)


@router.post("/users", response={202: InvitationOut}, tags=["users"], summary="Invite a person (admin)",
             description="Adding a person is an invitation: the link is mailed to the address (through the "
                         "workspace's email account when it has one), and the person joins when they accept it, "
                         "choosing their own password or signing in to the account they have. The answer is the "
                         "invitation, not a user: see `/invitations`.")
def add_user(request: HttpRequest, payload: UserIn) -> Status:
    invitation = services.invite_member(actor=actor(request), email=payload.email, display_name=payload.display_name,
                                        role=payload.role, site=services.desk_address(request))
    return Status(202, invitation)


@router.get("/users/{user_id}", response=UserOut, tags=["users"])
def get_user(request: HttpRequest, user_id: Id) -> Membership:
    return _user(request, user_id)


@router.patch("/users/{user_id}", response=UserOut, tags=["users"], summary="Change role, name or access (admin)")
def update_user(request: HttpRequest, user_id: Id, payload: UserPatch) -> Membership:
    who = actor(request)
    services.update_member(actor=who, membership=selectors.access_membership(who, user_id), role=payload.role,
                           display_name=payload.display_name, is_active=payload.is_active)
    return _user(request, user_id)


@router.put("/users/{user_id}/skills", response=UserOut, tags=["users"], summary="Replace a person's skills (supervisor)")
def set_user_skills(request: HttpRequest, user_id: Id, payload: list[SkillLevelIn]) -> Membership:
    who = actor(request)
    membership = selectors.access_membership(who, user_id)
    levels = [(selectors.access_skill(who, level.skill), level.proficiency) for level in payload]
    services.set_agent_skills(actor=who, membership=membership, levels=levels)
    return _user(request, user_id)


# ---- invitations -------------------------------------------------------------------------------


def _admin(request: HttpRequest):
    who = actor(request)
    who.require(Role.ADMIN)
    return who


@router.get("/invitations", response=list[InvitationOut], tags=["users"], summary="List invitations (admin)")
def list_invitations(request: HttpRequest, status: InvitationStatus | None = None) -> list[Invitation]:
    found = selectors.invitations_for(_admin(request)).order_by("-created_at", "-id")
    return [i for i in found if status is None or i.status == status]


@router.get("/invitations/{invitation_id}", response=InvitationOut, tags=["users"], summary="An invitation (admin)")
def get_invitation(request: HttpRequest, invitation_id: Id) -> Invitation:
    return selectors.access_invitation(_admin(request), invitation_id)


@router.post("/invitations/{invitation_id}/resend", response=InvitationOut, tags=["users"],
             summary="Mail a new link (admin)",
             description="For a pending or expired invitation: a new link with a new expiry; the old link stops working.")
def resend_invitation(request: HttpRequest, invitation_id: Id) -> Invitation:
    who = _admin(request)
    return services.resend_invitation(actor=who, invitation=selectors.access_invitation(who, invitation_id),
                                      site=services.desk_address(request))


@router.delete("/invitations/{invitation_id}", response={204: None}, tags=["users"],
               summary="Withdraw an invitation (admin)")
def revoke_invitation(request: HttpRequest, invitation_id: Id) -> Status:
    who = _admin(request)
    services.revoke_invitation(actor=who, invitation=selectors.access_invitation(who, invitation_id))
    return Status(204, None)


# ---- teams and skills ---------------------------------------------------------------------------


def _teams(request: HttpRequest) -> QuerySet[Team]:
    return selectors.teams_for(actor(request)).prefetch_related("members").order_by("name", "id")


@router.get("/teams", response=list[TeamOut], tags=["teams"])
def list_teams(request: HttpRequest) -> QuerySet[Team]:
    return _teams(request)


@router.post("/teams", response={201: TeamOut}, tags=["teams"], summary="Create a team (supervisor)")
def create_team(request: HttpRequest, payload: TeamIn) -> Status:
    team = services.create_team(actor=actor(request), name=payload.name)
    return Status(201, _teams(request).get(pk=team.pk))


@router.put("/teams/{team_id}/members", response=TeamOut, tags=["teams"], summary="Replace a team's members (supervisor)")
def set_team_members(request: HttpRequest, team_id: Id, payload: TeamMembersIn) -> Team:
    who = actor(request)
    team = selectors.access_team(who, team_id)
    members = [selectors.access_membership(who, member_id) for member_id in dict.fromkeys(payload.member_ids)]
    services.set_team_members(actor=who, team=team, members=members)
    return _teams(request).get(pk=team.pk)


@router.get("/skills", response=list[SkillOut], tags=["skills"])
def list_skills(request: HttpRequest) -> QuerySet:
    return selectors.skills_for(actor(request)).order_by("name", "id")


@router.post("/skills", response={201: SkillOut}, tags=["skills"], summary="Create a skill (supervisor)")
def create_skill(request: HttpRequest, payload: SkillIn) -> Status:
    return Status(201, services.create_skill(actor=actor(request), name=payload.name))


# ---- API tokens ---------------------------------------------------------------------------------


@router.get("/tokens", response=list[TokenOut], tags=["tokens"], summary="List API tokens (admin)")
def list_tokens(request: HttpRequest) -> QuerySet[ApiToken]:
    who = actor(request)
    who.require(Role.ADMIN)
    return selectors.tokens_for(who)


@router.post("/tokens", response={201: TokenCreated}, tags=["tokens"], summary="Issue an API token (admin)")
def issue_token(request: HttpRequest, payload: TokenIn) -> Status:
    token, key = services.issue_token(actor=actor(request), name=payload.name, role=payload.role)
    token.key = key  # shown in this response only; only its hash is stored
    return Status(201, token)


@router.delete("/tokens/{token_id}", response={204: None}, tags=["tokens"], summary="Revoke an API token (admin)")
def revoke_token(request: HttpRequest, token_id: Id) -> Status:
    who = actor(request)
    who.require(Role.ADMIN)
    services.revoke_token(actor=who, token=selectors.access_token(who, token_id))
    return Status(204, None)
