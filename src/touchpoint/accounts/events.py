"""Events the accounts app publishes (after commit)."""

import hashlib
from dataclasses import dataclass

from touchpoint.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class AccessChanged(DomainEvent):
    """A person's access to a workspace ended or changed: deactivated, given another role, or signed
    out. What they have open (live sockets) must not outlive the access it was opened with.

    `session` (signed out only) is a hash of the session that ended: that session's sockets close,
    the person's other sessions stay."""

    name = "member.access_changed"
    membership_id: int
    reason: str  # "deactivated", "role_changed" or "signed_out"
    session: str = ""


def session_fingerprint(session_key: str | None) -> str:
    """Names a session to the live layer without carrying its key (which would sign anyone in)."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:24] if session_key else ""
