"""Shared fixtures. A test that needs a server it cannot reach is skipped on a laptop and fails under CI=true."""

import os
import re

import pytest
from django.core import mail

from touchpoint.accounts import services as accounts
from touchpoint.accounts.models import Membership, User
from touchpoint.accounts.selectors import actor_for
from touchpoint.core.permissions import Actor, Role

IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)")
    pytest.skip(reason)


INVITATION_LINK = re.compile(r"https?://[^/\s]+/invitations/([A-Za-z0-9_-]+)/")


def invitation_link(email: str) -> str:
    """The link of the last invitation mailed to `email`, read from the mail as its recipient reads it."""
    for message in reversed(mail.outbox):
        if email.lower() in (address.lower() for address in message.to):
            found = INVITATION_LINK.search(message.body)
            assert found, f"no invitation link in the mail to {email}"
            return found.group(0)
    raise AssertionError(f"no invitation was mailed to {email}")


def invitation_token(email: str) -> str:
    return INVITATION_LINK.search(invitation_link(email)).group(1)


def join(admin: Actor, *, email: str, display_name: str, role: Role = Role.AGENT, password: str = "") -> Membership:
    """Someone joins a workspace the only way a person can: an admin invites them and they accept the
    mailed link, choosing `password` when new to Touchpoint, or signed in as themselves when not."""
    accounts.invite_member(actor=admin, email=email, display_name=display_name, role=role, site="http://testserver")
    account = User.objects.filter(email=email.lower()).first()
    return accounts.accept_invitation(token=invitation_token(email), user=account, password=password)


class Desk:
    """A workspace with an admin, a supervisor and two agents, and actors for each."""

    def __init__(self, slug: str) -> None:
        self.workspace, self.admin = accounts.create_workspace(
            name=f"Desk {slug}", slug=slug, admin_email=f"admin@{slug}.test", admin_password="admin-pass-1",
            admin_name=f"Admin {slug}",
        )
        self.admin_actor = actor_for(self.admin)
        self.supervisor = join(self.admin_actor, email=f"sup@{slug}.test", password="sup-pass-12",
                               display_name=f"Sam {slug}", role=Role.SUPERVISOR)
        self.agent = join(self.admin_actor, email=f"ana@{slug}.test", password="agent-pass-1",
                          display_name=f"Ana {slug}", role=Role.AGENT)
        self.agent2 = join(self.admin_actor, email=f"ben@{slug}.test", password="agent-pass-2",
                           display_name=f"Ben {slug}", role=Role.AGENT)
        self.agent_actor: Actor = actor_for(self.agent)
        self.agent2_actor: Actor = actor_for(self.agent2)
        self.supervisor_actor: Actor = actor_for(self.supervisor)

    @property
    def id(self) -> int:
        return self.workspace.pk


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: ids are reused between tests, cached facts are not."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def desk(db) -> Desk:
    return Desk("acme")


@pytest.fixture
def other_desk(db) -> Desk:
    return Desk("globex")
