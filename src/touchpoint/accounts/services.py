"""Every write to workspaces, people and access goes through here."""

import hashlib
import re
import secrets
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.text import slugify

from touchpoint.accounts.errors import InvitationClosed
from touchpoint.accounts.events import AccessChanged, session_fingerprint
from touchpoint.accounts.models import (
    DEFAULT_BUSINESS_HOURS,
    AgentSkill,
    ApiToken,
    Invitation,
    Membership,
    Skill,
    Team,
    User,
    Workspace,
)
from touchpoint.channels.email.outbound import MailNotSent, send_notice
from touchpoint.core import audit
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from touchpoint.core.events import publish
from touchpoint.core.permissions import Actor, Role, check_same_workspace

TOKEN_PREFIX = "tp_"
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown time zone {name!r}; use an IANA name such as 'Europe/Paris'.", field="timezone") from None
    return name


def validate_business_hours(hours: dict) -> dict:
    """{"mon": [["09:00", "17:00"]], ...}: known days, HH:MM ranges that start before they end."""
    if not isinstance(hours, dict):
        raise ValidationFailed("Business hours must map day names to lists of [start, end] pairs.", field="business_hours")
    for day, ranges in hours.items():
        if day not in _DAYS:
            raise ValidationFailed(f"Unknown day {day!r}; use one of {', '.join(_DAYS)}.", field="business_hours")
        for pair in ranges:
            if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(t, str) and _HOURS_RE.match(t) for t in pair)):
                raise ValidationFailed(f"{day}: each range must be [\"HH:MM\", \"HH:MM\"].", field="business_hours")
            if pair[0] >= pair[1]:
                raise ValidationFailed(f"{day}: {pair[0]}–{pair[1]} ends before it starts.", field="business_hours")
    return hours


@transaction.atomic
def create_workspace(
    *, name: str, admin_email: str, admin_password: str, admin_name: str = "", slug: str = "", timezone: str = "UTC"
) -> tuple[Workspace, Membership]:
    """A new workspace and its first admin, by the person at the shell (`touchpoint createworkspace`).
    The password is used only when the address has no account yet; an existing one keeps its own."""
    slug = slugify(slug or name)[:60]
    if not slug:
        raise ValidationFailed("A workspace needs a name.", field="name")
    if len(name) > Workspace._meta.get_field("name").max_length:
        raise ValidationFailed("A workspace name is at most 120 characters.", field="name")
    if Workspace.objects.filter(slug=slug).exists():
        raise Conflict(f"A workspace with the address {slug!r} exists already.", field="slug")
    workspace = Workspace.objects.create(
        name=name, slug=slug, timezone=validate_timezone(timezone), business_hours=DEFAULT_BUSINESS_HOURS
    )
    email = normalize_email(admin_email)
    user = User.objects.filter(email=email).first() or _create_user(email=email, password=admin_password)
    membership = Membership.objects.create(
        workspace=workspace, user=user, role=Role.ADMIN, display_name=admin_name or user.email.split("@")[0]
    )
    if user.last_workspace_id is None:
        user.last_workspace = workspace
        user.save(update_fields=["last_workspace"])
    return workspace, membership


def normalize_email(email: str) -> str:
    email = User.objects.normalize_email(email.strip()).lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise ValidationFailed(f"{email!r} is not an email address.", field="email")
    return email


def _create_user(*, email: str, password: str) -> User:
    """A login with a password its owner chose (Django's password validators apply)."""
    user = User(username=email, email=email)
    try:
        validate_password(password, user)
    except DjangoValidationError as error:
        raise ValidationFailed(" ".join(error.messages), field="password") from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same address signed up a moment ago, through another invitation
        raise Conflict(f"{email} has an account already: sign in to accept.", field="email") from None
    return user


@transaction.atomic
def seed_member(*, workspace: Workspace, email: str, password: str, display_name: str,
                role: Role = Role.AGENT) -> Membership:
    """A person for the demo data or a benchmark, loaded by whoever runs them at the shell.

    No view, API or task calls this: in a running desk people join only by accepting an invitation.
    An address that has an account already keeps its own password."""
    email = normalize_email(email)
    user = User.objects.filter(email=email).first() or _create_user(email=email, password=password)
    membership = Membership.objects.create(workspace=workspace, user=user, role=Role(role),
                                           display_name=display_name or email)
    if user.last_workspace_id is None:
        User.objects.filter(pk=user.pk).update(last_workspace=workspace)
    return membership


# ---- invitations -----------------------------------------------------------------------------------


def desk_address(request: HttpRequest) -> str:
    """Where the people invited open their link: PUBLIC_BASE_URL, else the address this request came to."""
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def invite_member(*, actor: Actor, email: str, display_name: str, role: Role = Role.AGENT, site: str) -> Invitation:
    """Store an invitation and mail its link to the address. Nobody joins until that person accepts.

    `site` is the desk's public address (see `desk_address`), for the link in the mail."""
    actor.require(Role.ADMIN)
    email = normalize_email(email)
    with transaction.atomic():
        member = Membership.objects.filter(workspace_id=actor.workspace_id, user__email=email).first()
        if member is not None and member.is_active:
            raise Conflict(f"{email} is a member of this workspace already.", field="email")
        if member is not None:
            raise Conflict(f"{email} was deactivated here: reactivate them in the list of people instead.",
                           field="email")
        token = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():  # the constraint allows one open invitation per address, even in a race
                invitation = Invitation.objects.create(
                    workspace_id=actor.workspace_id, email=email, role=Role(role), invited_by_id=actor.membership_id,
                    display_name=(display_name or "").strip()[:120] or email, token_hash=hash_token(token),
                    expires_at=now() + timedelta(seconds=settings.INVITATION_TTL_S),
                )
        except IntegrityError:
            raise Conflict(f"{email} has an open invitation already: resend it, or revoke it first.",
                           field="email") from None
        audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="invitation.sent",
                     obj=invitation, data={"email": email, "role": invitation.role})
    _mail_invitation(invitation, token, site)  # after the commit: a link always names a stored invitation
    return invitation


def resend_invitation(*, actor: Actor, invitation: Invitation, site: str) -> Invitation:
    """A new link with a new expiry, mailed again; the earlier link stops working. Re-invites after expiry."""
    actor.require(Role.ADMIN)
    check_same_workspace(actor, invitation)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status in ("accepted", "revoked"):
            raise Conflict(f"This invitation was {invitation.status}; invite {invitation.email} again instead.")
        token = secrets.token_urlsafe(32)
        invitation.token_hash = hash_token(token)
        invitation.expires_at = now() + timedelta(seconds=settings.INVITATION_TTL_S)
        invitation.save(update_fields=["token_hash", "expires_at"])
        audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="invitation.resent",
                     obj=invitation)
    _mail_invitation(invitation, token, site)
    return invitation


@transaction.atomic
def revoke_invitation(*, actor: Actor, invitation: Invitation) -> Invitation:
    actor.require(Role.ADMIN)
    check_same_workspace(actor, invitation)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise Conflict(f"{invitation.email} accepted already: deactivate them in the list of people instead.")
    if invitation.revoked_at is None:
        invitation.revoked_at = now()
        invitation.save(update_fields=["revoked_at"])
        audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="invitation.revoked",
                     obj=invitation)
    return invitation


def open_invitation(token: str) -> Invitation:
    """The invitation a link's token opens, while it can still be accepted; else why not."""
    invitation = (Invitation.objects.select_related("workspace", "invited_by")
                  .filter(token_hash=hash_token(token or "")).first())
    if invitation is None:
        raise NotFound("This invitation link is not valid: open the whole link from the mail, or ask for a new one.")
    if invitation.status == "accepted":
        raise InvitationClosed("This invitation has been accepted already: sign in instead.")
    if invitation.status == "revoked":
        raise InvitationClosed("This invitation was withdrawn. Ask an admin of the workspace if you should join.")
    if invitation.status == "expired":
        raise InvitationClosed("This invitation has expired. Ask the admin who invited you to send a new one.")
    return invitation


@transaction.atomic
def accept_invitation(*, token: str, user: User | None = None, password: str = "") -> Membership:
    """The invited person joins. `user` is who is signed in, if anyone.

    An address that has an account joins only when its owner, signed in, accepts: no password is
    taken for it here. An address new to Touchpoint gets an account with the password its owner
    chooses now."""
    invitation = open_invitation(token)
    invitation = Invitation.objects.select_for_update().select_related("workspace").get(pk=invitation.pk)
    if invitation.status != "pending":  # accepted or withdrawn while we looked
        raise InvitationClosed("This invitation is no longer open.")
    account = User.objects.filter(email=invitation.email).first()
    signed_in = user if user is not None and user.is_authenticated else None
    if account is not None and (signed_in is None or signed_in.pk != account.pk):
        raise PermissionDenied(f"{invitation.email} has a Touchpoint account: sign in as {invitation.email} to "
                               "accept.", code="sign_in_to_accept")
    if account is None:
        if signed_in is not None:
            raise PermissionDenied(f"This invitation is for {invitation.email}, and you are signed in as "
                                   f"{signed_in.email}: sign out first.", code="signed_in_as_someone_else")
        account = _create_user(email=invitation.email, password=password)
    if Membership.objects.filter(workspace_id=invitation.workspace_id, user=account).exists():
        raise Conflict(f"{account.email} is a member of {invitation.workspace.name} already.")
    membership = Membership.objects.create(workspace_id=invitation.workspace_id, user=account,
                                           role=invitation.role, display_name=invitation.display_name)
    invitation.accepted_at = now()
    invitation.accepted_by = account
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    account.last_workspace_id = invitation.workspace_id
    account.save(update_fields=["last_workspace"])
    audit.record(workspace_id=invitation.workspace_id, actor_id=membership.pk, action="invitation.accepted",
                 obj=invitation, data={"role": membership.role})
    return membership


def remember_workspace(*, user: User, workspace_id: int) -> None:
    """The workspace a person chose: the next session opens there."""
    if user.last_workspace_id != workspace_id:
        user.last_workspace_id = workspace_id
        User.objects.filter(pk=user.pk).update(last_workspace_id=workspace_id)


def _mail_invitation(invitation: Invitation, token: str, site: str) -> None:
    """Mail the link, and note on the invitation whether it left (an admin sees why not, and resends)."""
    workspace = invitation.workspace
    inviter = invitation.invited_by.display_name if invitation.invited_by else "An admin"
    expires = invitation.expires_at.astimezone(zoneinfo.ZoneInfo(workspace.timezone))
    body = render_to_string("accounts/invitation_mail.txt", {
        "invitation": invitation, "workspace": workspace, "inviter": inviter, "expires": expires,
        "link": f"{site.rstrip('/')}/invitations/{token}/", "role": invitation.get_role_display().lower(),
    })
    try:
        send_notice(workspace_id=workspace.pk, to=invitation.email, body=body,
                    subject=f"{inviter} invites you to {workspace.name} on Touchpoint")
    except MailNotSent as error:
        Invitation.objects.filter(pk=invitation.pk).update(sent_at=None, send_error=str(error)[:500])
        invitation.sent_at, invitation.send_error = None, str(error)[:500]
        return
    sent_at = now()
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=sent_at, send_error="")
    invitation.sent_at, invitation.send_error = sent_at, ""


@transaction.atomic
def set_role(*, actor: Actor, membership: Membership, role: Role) -> Membership:
    actor.require(Role.ADMIN)
    _same_workspace(actor, membership)
    if membership.role == Role.ADMIN and role != Role.ADMIN:
        admins = Membership.objects.filter(workspace_id=actor.workspace_id, role=Role.ADMIN, is_active=True).count()
        if admins <= 1:
            raise Conflict("A workspace needs at least one admin; make someone else admin first.")
    old = membership.role
    if old == role:
        return membership
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="member.role_changed",
                 obj=membership, data={"from": old, "to": membership.role})
    # Open pages reconnect with the new role (an agent's socket must not go on as a supervisor's).
    publish(AccessChanged(workspace_id=membership.workspace_id, membership_id=membership.pk, reason="role_changed"))
    return membership


@transaction.atomic
def update_member(
    *, actor: Actor, membership: Membership, role: Role | None = None, display_name: str | None = None,
    is_active: bool | None = None,
) -> Membership:
    """An admin edits a person's role, name or access in one go: all of it applies, or none."""
    actor.require(Role.ADMIN)
    _same_workspace(actor, membership)
    if role is not None and role != membership.role:
        set_role(actor=actor, membership=membership, role=role)
    if display_name is not None:
        if not display_name.strip():
            raise ValidationFailed("A display name cannot be empty.", field="display_name")
        membership.display_name = display_name.strip()[:120]
        membership.save(update_fields=["display_name"])
    if is_active is not None and is_active != membership.is_active:
        if not is_active and membership.role == Role.ADMIN:
            admins = Membership.objects.filter(workspace_id=actor.workspace_id, role=Role.ADMIN, is_active=True).count()
            if admins <= 1:
                raise Conflict("A workspace needs at least one active admin; make someone else admin first.",
                               field="is_active")
        membership.is_active = is_active
        membership.save(update_fields=["is_active"])
        audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id,
                     action="member.reactivated" if is_active else "member.deactivated", obj=membership)
        if not is_active:
            publish(AccessChanged(workspace_id=membership.workspace_id, membership_id=membership.pk,
                                  reason="deactivated"))
    return membership


def signed_out(*, user: User, session_key: str | None) -> None:
    """A person signed out of one session: whatever that session has open closes now, in every
    workspace of theirs. (Django's logout has already ended the session itself.)"""
    session = session_fingerprint(session_key)
    if not session:
        return
    for membership in Membership.objects.filter(user=user, is_active=True).only("pk", "workspace_id"):
        publish(AccessChanged(workspace_id=membership.workspace_id, membership_id=membership.pk, reason="signed_out",
                              session=session))


def update_workspace_settings(
    *, actor: Actor, workspace: Workspace, name: str | None = None, timezone: str | None = None,
    business_hours: dict | None = None, holidays: list[str] | None = None,
) -> Workspace:
    actor.require(Role.ADMIN)
    if workspace.pk != actor.workspace_id:
        raise NotFound("No such workspace.")
    if name is not None:
        workspace.name = name
    if timezone is not None:
        workspace.timezone = validate_timezone(timezone)
    if business_hours is not None:
        workspace.business_hours = validate_business_hours(business_hours)
    if holidays is not None:
        workspace.holidays = holidays
    workspace.save()
    return workspace


def create_team(*, actor: Actor, name: str) -> Team:
    actor.require(Role.SUPERVISOR)
    name = name.strip()
    if not name:
        raise ValidationFailed("A team needs a name.", field="name")
    try:
        with transaction.atomic():
            return Team.objects.create(workspace_id=actor.workspace_id, name=name)
    except IntegrityError:
        raise Conflict(f"A team named {name!r} exists already.", field="name") from None


def set_team_members(*, actor: Actor, team: Team, members: list[Membership]) -> Team:
    actor.require(Role.SUPERVISOR)
    _same_workspace(actor, team, *members)
    team.members.set(members)
    return team


def create_skill(*, actor: Actor, name: str) -> Skill:
    actor.require(Role.SUPERVISOR)
    skill, _ = Skill.objects.get_or_create(workspace_id=actor.workspace_id, name=name.strip())
    return skill


def set_agent_skill(*, actor: Actor, membership: Membership, skill: Skill, proficiency: int) -> AgentSkill:
    actor.require(Role.SUPERVISOR)
    _same_workspace(actor, membership, skill)
    if not 1 <= proficiency <= 5:
        raise ValidationFailed("Proficiency runs from 1 (novice) to 5 (expert).", field="proficiency")
    agent_skill, _ = AgentSkill.objects.update_or_create(
        membership=membership, skill=skill, defaults={"proficiency": proficiency, "workspace_id": actor.workspace_id}
    )
    return agent_skill


@transaction.atomic
def set_agent_skills(*, actor: Actor, membership: Membership, levels: list[tuple[Skill, int]]) -> list[AgentSkill]:
    """Replace a person's skills with exactly `levels`; skills left out are taken away."""
    actor.require(Role.SUPERVISOR)
    _same_workspace(actor, membership, *(skill for skill, _ in levels))
    skill_ids = [skill.pk for skill, _ in levels]
    if len(set(skill_ids)) != len(skill_ids):
        raise ValidationFailed("Each skill may be listed once.", field="skills")
    AgentSkill.objects.filter(membership=membership).exclude(skill_id__in=skill_ids).delete()
    return [set_agent_skill(actor=actor, membership=membership, skill=skill, proficiency=level) for skill, level in levels]


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def issue_token(*, actor: Actor, name: str, role: Role) -> tuple[ApiToken, str]:
    """Returns the token and its key. The key is not stored and cannot be shown again."""
    actor.require(Role.ADMIN)
    if actor.membership_id is None:
        raise ValidationFailed("Tokens are issued to a person.")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        workspace_id=actor.workspace_id, membership_id=actor.membership_id, name=name or "API token",
        role=Role(role), prefix=key[:10], key_hash=hash_token(key),
    )
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="token.issued", obj=token,
                 data={"role": token.role, "name": token.name})
    return token, key


def revoke_token(*, actor: Actor, token: ApiToken) -> ApiToken:
    actor.require(Role.ADMIN)
    _same_workspace(actor, token)
    if token.revoked_at is None:
        token.revoked_at = now()
        token.save(update_fields=["revoked_at"])
        audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="token.revoked", obj=token)
    return token


def authenticate_token(key: str) -> ApiToken | None:
    token = (
        ApiToken.objects.select_related("membership")
        .filter(key_hash=hash_token(key), revoked_at__isnull=True, membership__is_active=True)
        .first()
    )
    if token is not None and (token.last_used_at is None or now() - token.last_used_at > timedelta(minutes=1)):
        # Written at most once a minute per token, so reads stay reads.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now())
    return token


def _same_workspace(actor: Actor, *objs: object) -> None:
    for obj in objs:
        if getattr(obj, "workspace_id", None) != actor.workspace_id:
            raise NotFound("No such record in this workspace.")
