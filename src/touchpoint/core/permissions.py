"""Who may do what. Roles are ordered: an admin can do a supervisor's work, a supervisor an agent's."""

from dataclasses import dataclass
from enum import StrEnum

from touchpoint.core.errors import NotFound, PermissionDenied


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}
ROLE_CHOICES = [(r.value, r.value.title()) for r in Role]


@dataclass(frozen=True)
class Actor:
    """The person (or token) doing something, always inside exactly one workspace."""

    workspace_id: int
    membership_id: int | None
    role: Role
    via_token: bool = False

    def can(self, role: Role) -> bool:
        return self.role.rank >= role.rank

    def require(self, role: Role) -> None:
        if not self.can(role):
            raise PermissionDenied(f"This needs the {role.value} role; you act as {self.role.value}.")


def lower_role(a: Role, b: Role) -> Role:
    return a if a.rank <= b.rank else b


def check_same_workspace(actor: Actor, *objs: object) -> None:
    """Every object given (None skipped) is the actor's workspace's, or it answers like an unknown id."""
    for obj in objs:
        if obj is not None and getattr(obj, "workspace_id", None) != actor.workspace_id:
            raise NotFound("No such record in this workspace.")
