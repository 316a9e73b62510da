"""What the API says about workspaces, people, teams, skills and tokens."""

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from touchpoint.accounts.models import Membership
from touchpoint.core.api import Id, Input
from touchpoint.core.permissions import Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
LongName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


# ---- workspace and me ---------------------------------------------------------------------------


class WorkspaceOut(Schema):
    id: int
    name: str
    slug: str
    timezone: str
    business_hours: dict[str, list[list[str]]] = Field(description='Open hours per day, e.g. {"mon": [["09:00", "17:00"]]}.')
    holidays: list[str] = Field(description="ISO dates the desk is closed on.")
    created_at: datetime


class WorkspacePatch(Input):
    name: LongName | None = None
    timezone: str | None = Field(None, max_length=64, description="An IANA time zone such as Europe/Paris.")
    business_hours: dict[str, list[list[str]]] | None = None
    holidays: list[date] | None = Field(None, max_length=366)


class MeOut(Schema):
    id: int = Field(description="Your user id (membership) in this workspace.")
    email: str
    display_name: str
    role: Role = Field(description="The role you act with now: a token never exceeds its issuer's role.")
    via_token: bool
    workspace: WorkspaceOut


# ---- users --------------------------------------------------------------------------------------


class SkillLevelOut(Schema):
    skill_id: int
    name: str
    proficiency: int


class UserOut(Schema):
    id: int = Field(description="The membership id: one person in this workspace.")
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    skills: list[SkillLevelOut]
    team_ids: list[int]

    @staticmethod
    def resolve_email(obj: Membership) -> str:
        return obj.user.email

    @staticmethod
    def resolve_skills(obj: Membership) -> list[dict]:
        return [{"skill_id": s.skill_id, "name": s.skill.name, "proficiency": s.proficiency} for s in obj.skills.all()]

    @staticmethod
    def resolve_team_ids(obj: Membership) -> list[int]:
        return [team.pk for team in obj.teams.all()]


class UserIn(Input):
    """An invitation to join: the person chooses their own password (or signs in) when they accept."""

    email: str = Field(max_length=254, examples=["ana@example.com"])
    display_name: LongName
    role: Role = Role.AGENT

    @model_validator(mode="before")
    @classmethod
    def no_password(cls, data: object) -> object:
        if isinstance(data, dict) and "password" in data:
            # Said plainly, not as an unknown field: a client written for the old API learns why.
            raise PydanticCustomError(
                "password_not_accepted",
                "Passwords are not set here: the person is mailed an invitation and chooses their own "
                "password when they accept it. Leave out 'password'.",
            )
        return data


InvitationStatus = Literal["pending", "expired", "accepted", "revoked"]


class InvitationOut(Schema):
    id: int = Field(description="The invitation's id (not a user id: the person is not a member until they accept).")
    email: str
    display_name: str
    role: Role
    status: InvitationStatus = Field(
        description="pending until accepted, withdrawn (revoked) or past `expires_at` (expired: resend it).")
    invited_by: int | None = Field(description="The user id of the admin who invited.")
    created_at: datetime
    expires_at: datetime
    sent_at: datetime | None = Field(description="When the link was last mailed; null when the mail did not go out.")
    send_error: str = Field(description="Why the last mailing failed, if it did: fix the email account and resend.")
    accepted_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_invited_by(obj) -> int | None:
        return obj.invited_by_id


class UserPatch(Input):
    role: Role | None = None
    display_name: LongName | None = None
    is_active: bool | None = None


class SkillLevelIn(Input):
    skill: Id = Field(description="The skill's id.")
    proficiency: int = Field(ge=1, le=5, description="1 (novice) to 5 (expert).")


# ---- teams and skills ---------------------------------------------------------------------------


class TeamOut(Schema):
    id: int
    name: str
    member_ids: list[int]
    created_at: datetime

    @staticmethod
    def resolve_member_ids(obj) -> list[int]:
        return [member.pk for member in obj.members.all()]


class TeamIn(Input):
    name: Name


class TeamMembersIn(Input):
    member_ids: list[Id] = Field(max_length=1000, description="The user ids the team consists of, replacing the old list.")


class SkillOut(Schema):
    id: int
    name: str


class SkillIn(Input):
    name: Name


# ---- API tokens ---------------------------------------------------------------------------------


class TokenOut(Schema):
    id: int
    name: str
    role: Role
    prefix: str = Field(description="The key's first characters, to recognise it.")
    issued_by: int = Field(description="The user id whose role the token acts within.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_issued_by(obj) -> int:
        return obj.membership_id


class TokenCreated(TokenOut):
    key: str = Field(description="The secret key. Shown this once; store it now.")


class TokenIn(Input):
    name: Name
    role: Role = Field(Role.AGENT, description="What the token may do; never more than its issuer.")
