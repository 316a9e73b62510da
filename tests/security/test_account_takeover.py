"""Outside finding 1: cross-tenant account takeover.

Workspace B's admin added a person by email with a password B chose; when workspace A's admin later
added the same address, the account was silently attached, so B's password opened A's conversations.
B's admin could also add A's admin to B, and her next login opened in B. Now adding a person is an
invitation the person accepts; nobody but the person chooses or learns their password."""

import hashlib

import pytest
from django.test import Client

from tests.apiclient import api_as, assert_problem, snapshot
from tests.conftest import Desk, invitation_link, invitation_token
from touchpoint.accounts.models import Invitation, Membership, User
from touchpoint.core.api import SESSION_WORKSPACE_KEY
from touchpoint.core.models import AuditEntry

NEWHIRE = "newhire@a.example"


@pytest.fixture
def a(db) -> Desk:
    """The victim's workspace. Its name sorts last, so "the first workspace" is never A by accident."""
    return Desk("zeta")


@pytest.fixture
def b(db) -> Desk:
    """The hostile tenant."""
    return Desk("beta")


def sign_in(email: str, password: str) -> tuple[Client, int]:
    client = Client()
    response = client.post("/login/", {"email": email, "password": password})
    return client, response.status_code


def accept_as_newcomer(link: str, password: str) -> Client:
    client = Client()
    response = client.post(link, {"password": password, "password_again": password})
    assert response.status_code == 302, response.content[:300]
    return client


def test_another_workspace_cannot_choose_the_password_of_someone_it_adds(a, b):
    # The request: B's admin adds a new hire of A's with a password of B's choosing.
    b_admin = api_as(b.admin)
    before = snapshot()
    refused = assert_problem(b_admin.post("/users", {"email": NEWHIRE, "password": "chosen-by-B",
                                                     "role": "agent", "display_name": "New hire"}), 422)
    assert "password" in refused["errors"][0]["message"].lower()
    assert snapshot() == before
    assert not User.objects.filter(email=NEWHIRE).exists()

    # Without a password B's admin can only invite, and an invitation makes no account.
    invited = b_admin.post("/users", {"email": NEWHIRE, "role": "agent", "display_name": "New hire"})
    assert invited.status_code == 202
    assert invited.json()["status"] == "pending"
    assert not User.objects.filter(email=NEWHIRE).exists()
    b_link = invitation_link(NEWHIRE)
    assert b_link not in invited.content.decode()  # the admin never holds the link: only the mailbox does

    # A's admin invites the same address as supervisor; the person (and only they) chooses a password.
    api_as(a.admin).post("/users", {"email": NEWHIRE, "role": "supervisor", "display_name": "New hire"})
    accept_as_newcomer(invitation_link(NEWHIRE), "mine-and-only-mine-1")

    _, status = sign_in(NEWHIRE, "chosen-by-B")
    assert status == 401  # B's password reaches nothing
    client, status = sign_in(NEWHIRE, "mine-and-only-mine-1")
    assert status == 302
    assert client.get("/").context["request"].actor.workspace_id == a.id
    assert not Membership.objects.filter(user__email=NEWHIRE, workspace=b.workspace).exists()

    # B's own invitation, opened later, cannot set a password on the account that now exists.
    took_over = Client().post(b_link, {"password": "chosen-by-B-2", "password_again": "chosen-by-B-2"})
    assert took_over.status_code == 403
    assert "sign in" in took_over.content.decode().lower()
    assert User.objects.get(email=NEWHIRE).check_password("mine-and-only-mine-1")
    assert not Membership.objects.filter(user__email=NEWHIRE, workspace=b.workspace).exists()


def test_adding_another_workspaces_admin_needs_her_acceptance_and_does_not_move_her(a, b):
    her = a.admin.user.email
    # The request (a password is ignored for an existing account, so any will do), then an invitation.
    api_as(b.admin).post("/users", {"email": her, "password": "whatever-12", "role": "admin", "display_name": "Z"})
    api_as(b.admin).post("/users", {"email": her, "role": "admin", "display_name": "Admin zeta"})
    # Nothing attached: she is not in B, and her next login opens in A as before.
    assert not Membership.objects.filter(user__email=her, workspace=b.workspace).exists()
    client, status = sign_in(her, "admin-pass-1")
    assert status == 302
    assert client.get("/").context["request"].actor.workspace_id == a.id

    # The link, even in other hands, takes no password for her account and signs nobody in.
    link = invitation_link(her)
    stranger = Client()
    refused = stranger.post(link, {"password": "chosen-by-B", "password_again": "chosen-by-B"})
    assert refused.status_code == 403
    assert "_auth_user_id" not in stranger.session
    assert User.objects.get(email=her).check_password("admin-pass-1")
    assert Invitation.objects.get(email=her, workspace=b.workspace).status == "pending"

    # Signed in as herself she may accept; joining does not change where she lands after she moves back.
    assert client.post(link).status_code == 302
    assert Membership.objects.filter(user__email=her, workspace=b.workspace, role="admin").exists()
    client.post("/workspace/", {"workspace": a.id})
    client.post("/logout/")
    client, _ = sign_in(her, "admin-pass-1")
    assert client.get("/").context["request"].actor.workspace_id == a.id


def test_after_login_a_person_lands_in_the_workspace_they_last_used(a, b):
    ana = a.agent.user.email
    api_as(b.admin).post("/users", {"email": ana, "role": "agent", "display_name": "Ana at beta"})
    client, _ = sign_in(ana, "agent-pass-1")
    assert client.post(invitation_link(ana)).status_code == 302
    assert client.get("/").context["request"].actor.workspace_id == b.id  # just joined: opens there
    client.post("/logout/")

    client, _ = sign_in(ana, "agent-pass-1")
    assert client.get("/").context["request"].actor.workspace_id == b.id  # last used
    client.post("/workspace/", {"workspace": a.id})
    client.post("/logout/")
    client, _ = sign_in(ana, "agent-pass-1")
    assert client.session.get(SESSION_WORKSPACE_KEY) in (None, a.id)
    assert client.get("/").context["request"].actor.workspace_id == a.id
    # The API through the session agrees with the pages.
    assert Client().get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").json()["workspace"]["id"] == a.id


def test_an_invitation_token_is_stored_only_as_its_hash(b):
    api_as(b.admin).post("/users", {"email": NEWHIRE, "role": "agent", "display_name": "New hire"})
    token = invitation_token(NEWHIRE)
    stored = Invitation.objects.get(email=NEWHIRE)
    assert token not in str(stored.__dict__)
    assert not AuditEntry.objects.filter(data__icontains=token).exists()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
