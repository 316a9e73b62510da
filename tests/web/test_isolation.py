"""One workspace never reads or changes another's data through the web; agents do no admin work."""

import pytest
from django.test import Client

from tests.conftest import invitation_link
from touchpoint.accounts import services as accounts
from touchpoint.accounts.models import ApiToken, Invitation, Membership, Team
from touchpoint.conversations.models import Conversation, Message
from touchpoint.core.permissions import Role

from .conftest import customer_writes, signed_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def theirs(other_desk):
    """A conversation of the other workspace, with a team and a member to aim at."""
    conversation = customer_writes(other_desk, "Globex secret", email="boss@globex.example")
    team = accounts.create_team(actor=other_desk.admin_actor, name="Globex team")
    return conversation, team


@pytest.mark.parametrize("path", [
    "/conversations/{c}/", "/conversations/{c}/header/", "/conversations/{c}/thread/", "/customers/{cu}/",
    "/customers/{cu}/timeline/",
])
def test_reading_another_workspaces_ids_is_404(desk, theirs, path):
    conversation, _ = theirs
    client = signed_in(desk.agent)
    response = client.get(path.format(c=conversation.pk, cu=conversation.customer_id))
    assert response.status_code == 404
    assert b"Globex secret" not in response.content
    htmx = client.get(path.format(c=conversation.pk, cu=conversation.customer_id), **HTMX)
    assert htmx.status_code == 404 and htmx["HX-Retarget"] == "#flash"


def test_another_workspaces_row_is_empty(desk, theirs):
    conversation, _ = theirs
    response = signed_in(desk.agent).get(f"/conversations/{conversation.pk}/row/?view=all", **HTMX)
    assert response.content == b""


def test_inbox_and_search_show_only_the_own_workspace(desk, theirs):
    mine = customer_writes(desk, "Acme question")
    client = signed_in(desk.agent)
    assert [c.pk for c in client.get("/?view=all").context["rows"]] == [mine.pk]
    found = client.get("/search/?q=secret")
    assert found.context["found_messages"] == [] and found.context["customers"] == []


@pytest.mark.parametrize("action,data", [
    ("messages", {"kind": "reply", "text": "hello"}),
    ("messages", {"kind": "note", "text": "hello"}),
    ("assign", {"assignee": "me"}),
    ("priority", {"priority": "urgent"}),
    ("status", {"status": "resolved"}),
    ("tags", {"add": "pwned"}),
])
def test_changing_another_workspaces_conversation_is_404_and_changes_nothing(desk, theirs, action, data):
    conversation, _ = theirs
    before = Conversation.objects.values().get(pk=conversation.pk)
    messages = Message.objects.count()
    response = signed_in(desk.agent).post(f"/conversations/{conversation.pk}/{action}/", data, **HTMX)
    assert response.status_code == 404
    assert Conversation.objects.values().get(pk=conversation.pk) == before
    assert Message.objects.count() == messages
    assert not conversation.tags.exists()


def test_assigning_to_another_workspaces_agent_or_team_is_404(desk, other_desk, theirs):
    _, their_team = theirs
    conversation = customer_writes(desk, "mine")
    client = signed_in(desk.agent)
    assert client.post(f"/conversations/{conversation.pk}/assign/", {"assignee": other_desk.agent.pk}, **HTMX).status_code == 404
    assert client.post(f"/conversations/{conversation.pk}/transfer/", {"team": their_team.pk}, **HTMX).status_code == 404
    conversation.refresh_from_db()
    assert conversation.assignee_id is None and conversation.team_id is None


# ---- admin pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/settings/users/", "/settings/teams/", "/settings/tokens/"])
def test_agent_gets_403_on_admin_pages(desk, path):
    response = signed_in(desk.agent).get(path)
    assert response.status_code == 403
    assert b"needs the" in response.content


def test_supervisor_manages_teams_but_not_people_or_tokens(desk):
    client = signed_in(desk.supervisor)
    assert client.get("/settings/teams/").status_code == 200
    assert client.get("/settings/users/").status_code == 403
    assert client.get("/settings/tokens/").status_code == 403


@pytest.mark.parametrize("path", ["/settings/users/", "/settings/teams/", "/settings/tokens/"])
def test_admin_opens_every_settings_page(desk, path):
    assert signed_in(desk.admin).get(path).status_code == 200


def test_agent_cannot_issue_tokens_add_people_or_change_roles(desk):
    client = signed_in(desk.agent)
    assert client.post("/settings/tokens/", {"name": "mine", "role": "admin"}).status_code == 403
    assert client.post("/settings/users/", {"email": "x@acme.test", "display_name": "X", "role": "admin"}).status_code == 403
    assert client.post(f"/settings/users/{desk.agent.pk}/role/", {"role": "admin"}).status_code == 403
    assert client.post("/settings/teams/", {"name": "Shadow"}).status_code == 403
    assert not ApiToken.objects.exists() and not Team.objects.exists()
    desk.agent.refresh_from_db()
    assert desk.agent.role == Role.AGENT
    assert not Membership.objects.filter(user__email="x@acme.test").exists()
    assert not Invitation.objects.filter(email="x@acme.test").exists()


def test_admin_invites_a_person_and_changes_a_role(desk):
    client = signed_in(desk.admin)
    response = client.post("/settings/users/", {"email": "new@acme.test", "display_name": "Nia", "role": "agent"})
    assert response.status_code == 200
    assert b"Invitation mailed to new@acme.test" in response.content
    Client().post(invitation_link("new@acme.test"), {"password": "new-pass-12", "password_again": "new-pass-12"})
    nia = Membership.objects.get(user__email="new@acme.test")
    client.post(f"/settings/users/{nia.pk}/role/", {"role": "supervisor"})
    nia.refresh_from_db()
    assert nia.role == Role.SUPERVISOR


def test_adding_a_person_twice_is_a_409_with_the_form_kept(desk):
    response = signed_in(desk.admin).post("/settings/users/", {"email": "ana@acme.test", "display_name": "Ana again",
                                                               "role": "agent"})
    assert response.status_code == 409
    assert b"is a member of this workspace already" in response.content
    assert b'value="Ana again"' in response.content


def test_the_last_admin_cannot_be_demoted(desk):
    response = signed_in(desk.admin).post(f"/settings/users/{desk.admin.pk}/role/", {"role": "agent"})
    assert response.status_code == 409
    desk.admin.refresh_from_db()
    assert desk.admin.role == Role.ADMIN


def test_admin_cannot_change_another_workspaces_member(desk, other_desk):
    response = signed_in(desk.admin).post(f"/settings/users/{other_desk.agent.pk}/role/", {"role": "admin"})
    assert response.status_code == 404
    other_desk.agent.refresh_from_db()
    assert other_desk.agent.role == Role.AGENT


def test_supervisor_creates_a_team_and_sets_members(desk):
    client = signed_in(desk.supervisor)
    assert client.post("/settings/teams/", {"name": "Returns"}).status_code == 302
    team = Team.objects.get(name="Returns")
    client.post(f"/settings/teams/{team.pk}/members/", {"members": [desk.agent.pk, desk.agent2.pk]})
    assert set(team.members.values_list("pk", flat=True)) == {desk.agent.pk, desk.agent2.pk}
    assert client.post("/settings/teams/", {"name": "Returns"}).status_code == 409


def test_team_members_from_another_workspace_are_refused(desk, other_desk):
    team = accounts.create_team(actor=desk.admin_actor, name="Returns")
    response = signed_in(desk.supervisor).post(f"/settings/teams/{team.pk}/members/", {"members": [other_desk.agent.pk]})
    assert response.status_code == 422
    assert not team.members.exists()


def test_token_key_is_shown_once_and_can_be_revoked(desk):
    client = signed_in(desk.admin)
    response = client.post("/settings/tokens/", {"name": "CRM sync", "role": "agent"})
    assert response.status_code == 201
    key = response.context["new_key"]
    assert key.startswith("tp_") and key.encode() in response.content
    assert response["Cache-Control"].startswith("max-age=0")
    assert key.encode() not in client.get("/settings/tokens/").content
    token = ApiToken.objects.get(name="CRM sync")
    assert accounts.authenticate_token(key) == token
    client.post(f"/settings/tokens/{token.pk}/revoke/")
    assert accounts.authenticate_token(key) is None


def test_revoking_another_workspaces_token_is_404(desk, other_desk):
    token, key = accounts.issue_token(actor=other_desk.admin_actor, name="theirs", role=Role.AGENT)
    assert signed_in(desk.admin).post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert accounts.authenticate_token(key) == token
