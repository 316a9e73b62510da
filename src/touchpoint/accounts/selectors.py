"""Reads of people and access, always inside the actor's workspace."""

from django.db.models import QuerySet

from touchpoint.accounts.models import ApiToken, Invitation, Membership, Skill, Team, User, Workspace
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor, Role, lower_role


def actor_for(membership: Membership, *, token: ApiToken | None = None) -> Actor:
    role = membership.role_enum
    if token is not None:
        role = lower_role(role, Role(token.role))  # a token never exceeds the person who issued it
    return Actor(workspace_id=membership.workspace_id, membership_id=membership.pk, role=role, via_token=token is not None)


def workspace_of(actor: Actor) -> Workspace:
    return Workspace.objects.get(pk=actor.workspace_id)


def memberships_for(actor: Actor) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace_id=actor.workspace_id).select_related("user")


def teams_for(actor: Actor) -> QuerySet[Team]:
    return Team.objects.filter(workspace_id=actor.workspace_id)


def access_membership(actor: Actor, membership_id: int) -> Membership:
    found = memberships_for(actor).filter(pk=membership_id).first()
    if found is None:
        raise NotFound(f"No user with id {membership_id} in this workspace.")
    return found


def access_team(actor: Actor, team_id: int) -> Team:
    found = teams_for(actor).filter(pk=team_id).first()
    if found is None:
        raise NotFound(f"No team with id {team_id} in this workspace.")
    return found


def access_token(actor: Actor, token_id: int) -> ApiToken:
    found = ApiToken.objects.filter(workspace_id=actor.workspace_id, pk=token_id).first()
    if found is None:
        raise NotFound(f"No API token with id {token_id} in this workspace.")
    return found


def skills_for(actor: Actor) -> QuerySet[Skill]:
    return Skill.objects.filter(workspace_id=actor.workspace_id)


def access_skill(actor: Actor, skill_id: int) -> Skill:
    found = skills_for(actor).filter(pk=skill_id).first()
    if found is None:
        raise NotFound(f"No skill with id {skill_id} in this workspace.")
    return found


def tokens_for(actor: Actor) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(workspace_id=actor.workspace_id).order_by("-created_at", "-id")


def session_membership(user: User, workspace_id: object = None) -> Membership | None:
    """The active membership a logged-in person works in: the session's chosen workspace, else the one
    they last used, else their first.

    A session that chose a workspace the person has since left gets None, never another workspace."""
    memberships = Membership.objects.filter(user=user, is_active=True).order_by("pk")
    if workspace_id is not None:
        return memberships.filter(workspace_id=workspace_id).first() if isinstance(workspace_id, int) else None
    return memberships.filter(workspace_id=user.last_workspace_id).first() or memberships.first()


def open_invitations_for(actor: Actor) -> QuerySet[Invitation]:
    """Invitations nobody has accepted or withdrawn yet, expired ones included (they can be resent)."""
    return (Invitation.objects.filter(workspace_id=actor.workspace_id, accepted_at__isnull=True,
                                      revoked_at__isnull=True)
            .select_related("invited_by").order_by("-created_at", "-id"))


def invitations_for(actor: Actor) -> QuerySet[Invitation]:
    return Invitation.objects.filter(workspace_id=actor.workspace_id).select_related("invited_by")


def access_invitation(actor: Actor, invitation_id: int) -> Invitation:
    found = invitations_for(actor).filter(pk=invitation_id).first()
    if found is None:
        raise NotFound(f"No invitation with id {invitation_id} in this workspace.")
    return found


def memberships_of(user: User) -> QuerySet[Membership]:
    """The workspaces a logged-in person may work in, for the workspace switcher."""
    return Membership.objects.filter(user=user, is_active=True).select_related("workspace").order_by("workspace__name")


def has_account(email: str) -> bool:
    return User.objects.filter(email=email).exists()
