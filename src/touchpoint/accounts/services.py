"""Every write to workspaces, people and access goes through here."""

import hashlib
import re
import secrets
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from touchpoint.accounts.models import (
    DEFAULT_BUSINESS_HOURS,
    AgentSkill,
    ApiToken,
    LoginFailure,
    Membership,
    Skill,
    Team,
    User,
    Workspace,
)
from touchpoint.core import audit
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, ValidationFailed
from touchpoint.core.permissions import Actor, Role

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
    user = _get_or_create_user(email=admin_email, password=admin_password)
    membership = Membership.objects.create(
        workspace=workspace, user=user, role=Role.ADMIN, display_name=admin_name or user.email.split("@")[0]
    )
    return workspace, membership


def _get_or_create_user(*, email: str, password: str) -> User:
    email = User.objects.normalize_email(email).lower()
    if "@" not in email:
        raise ValidationFailed(f"{email!r} is not an email address.", field="email")
    user = User.objects.filter(email=email).first()
    if user is None:
        if len(password) < 8:
            raise ValidationFailed("A password needs at least 8 characters.", field="password")
        user = User.objects.create_user(username=email, email=email, password=password)
    return user


@transaction.atomic
def add_member(*, actor: Actor, email: str, password: str, display_name: str, role: Role = Role.AGENT) -> Membership:
    actor.require(Role.ADMIN)
    user = _get_or_create_user(email=email, password=password)
    if Membership.objects.filter(workspace_id=actor.workspace_id, user=user).exists():
        raise Conflict(f"{user.email} is a member of this workspace already.", field="email")
    membership = Membership.objects.create(
        workspace_id=actor.workspace_id, user=user, role=Role(role), display_name=display_name or user.email
    )
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="member.added", obj=membership,
                 data={"role": membership.role})
    return membership


@transaction.atomic
def set_role(*, actor: Actor, membership: Membership, role: Role) -> Membership:
    actor.require(Role.ADMIN)
    _same_workspace(actor, membership)
    if membership.role == Role.ADMIN and role != Role.ADMIN:
        admins = Membership.objects.filter(workspace_id=actor.workspace_id, role=Role.ADMIN, is_active=True).count()
        if admins <= 1:
            raise Conflict("A workspace needs at least one admin; make someone else admin first.")
    old = membership.role
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="member.role_changed",
                 obj=membership, data={"from": old, "to": membership.role})
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
    return membership


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


def record_login_failure(*, username: str, ip: str | None) -> None:
    LoginFailure.objects.create(username=username.lower(), ip=ip, at=now())


def clear_login_failures(*, username: str) -> None:
    LoginFailure.objects.filter(username=username.lower()).delete()


def is_locked_out(username: str) -> bool:
    since = now() - timedelta(seconds=settings.LOGIN_LOCKOUT_WINDOW_S)
    return LoginFailure.objects.filter(username=username.lower(), at__gte=since).count() >= settings.LOGIN_LOCKOUT_FAILURES


def _same_workspace(actor: Actor, *objs: object) -> None:
    for obj in objs:
        if getattr(obj, "workspace_id", None) != actor.workspace_id:
            raise NotFound("No such record in this workspace.")
