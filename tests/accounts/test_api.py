"""API for the workspace, people, teams, skills and tokens: behaviour, roles and workspace isolation."""

import pytest
from django.core import mail
from django.test import Client

from tests.apiclient import Api, api_as, assert_problem, populate, snapshot
from tests.conftest import invitation_link
from touchpoint.accounts.models import AgentSkill, Membership
from touchpoint.core.permissions import Role

ADMIN_ONLY = [
    ("PATCH", "/workspace", lambda i: {"name": "Taken over"}),
    ("POST", "/users", lambda i: {"email": "x@acme.test", "display_name": "X"}),
    ("GET", "/invitations", None),
    ("GET", "/invitations/{invitation}", None),
    ("POST", "/invitations/{invitation}/resend", None),
    ("DELETE", "/invitations/{invitation}", None),
    ("PATCH", "/users/{user}", lambda i: {"role": "admin"}),
    ("GET", "/tokens", None),
    ("POST", "/tokens", lambda i: {"name": "Mine now", "role": "admin"}),
    ("DELETE", "/tokens/{token}", None),
]
SUPERVISOR_ONLY = [
    ("POST", "/teams", lambda i: {"name": "Returns"}),
    ("PUT", "/teams/{team}/members", lambda i: {"member_ids": [i["user"]]}),
    ("POST", "/skills", lambda i: {"name": "German"}),
    ("PUT", "/users/{user}/skills", lambda i: [{"skill": i["skill"], "proficiency": 5}]),
]


def _call(api: Api, method: str, path: str, body, ids: dict):
    return api.call(method, path.format_map(ids), body(ids) if body else None)


@pytest.mark.parametrize("method, path, body", ADMIN_ONLY + SUPERVISOR_ONLY, ids=lambda v: v if isinstance(v, str) else "")
def test_agent_gets_403_on_admin_and_supervisor_work_and_nothing_changes(desk, method, path, body):
    ids = populate(desk)
    api = api_as(desk.agent)
    before = snapshot()
    body_ = assert_problem(_call(api, method, path, body, ids), 403, "permission_denied")
    assert "role" in body_["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("method, path, body", ADMIN_ONLY, ids=lambda v: v if isinstance(v, str) else "")
def test_supervisor_gets_403_on_admin_work(desk, method, path, body):
    ids = populate(desk)
    api = api_as(desk.supervisor)
    before = snapshot()
    assert_problem(_call(api, method, path, body, ids), 403, "permission_denied")
    assert snapshot() == before


@pytest.mark.parametrize("method, path, body", SUPERVISOR_ONLY, ids=lambda v: v if isinstance(v, str) else "")
def test_supervisor_does_team_and_skill_work(desk, method, path, body):
    ids = populate(desk)
    assert _call(api_as(desk.supervisor), method, path, body, ids).status_code in (200, 201)


def test_lists_show_only_this_workspace(desk, other_desk):
    mine, theirs = populate(desk), populate(other_desk)
    api = api_as(desk.admin)
    assert {u["id"] for u in api.get("/users").json()} == set(
        Membership.objects.filter(workspace=desk.workspace).values_list("pk", flat=True))
    assert [t["id"] for t in api.get("/teams").json()] == [mine["team"]]
    assert [s["id"] for s in api.get("/skills").json()] == [mine["skill"]]
    assert theirs["token"] not in {t["id"] for t in api.get("/tokens").json()}


def test_workspace_settings(desk):
    api = api_as(desk.admin)
    hours = {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], "sat": [["10:00", "14:00"]]}
    response = api.patch("/workspace", {"timezone": "Europe/Paris", "business_hours": hours, "holidays": ["2026-12-25"]})
    assert response.status_code == 200, response.content
    assert response.json()["timezone"] == "Europe/Paris"
    assert api.get("/workspace").json()["business_hours"] == hours
    assert api.get("/workspace").json()["holidays"] == ["2026-12-25"]


@pytest.mark.parametrize("body, field", [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"business_hours": {"mon": [["18:00", "09:00"]]}}, "business_hours"),
    ({"business_hours": {"someday": [["09:00", "17:00"]]}}, "business_hours"),
    ({"holidays": ["25/12/2026"]}, "holidays.0"),
    ({"name": "   "}, "name"),
])
def test_bad_workspace_settings_are_refused(desk, body, field):
    api = api_as(desk.admin)
    before = snapshot()
    problem = assert_problem(api.patch("/workspace", body), 422)
    assert problem["errors"][0]["field"] == field
    assert snapshot() == before


def test_invite_accept_change_and_deactivate_a_person(desk):
    api = api_as(desk.admin)
    response = api.post("/users", {"email": "Nia@Acme.test", "display_name": "Nia"})
    assert response.status_code == 202
    invited = response.json()
    assert (invited["email"], invited["role"], invited["status"]) == ("nia@acme.test", "agent", "pending")
    assert invited["invited_by"] == desk.admin.pk and invited["sent_at"] and invited["send_error"] == ""
    assert not Membership.objects.filter(user__email="nia@acme.test").exists()
    assert_problem(api.post("/users", {"email": "nia@acme.test", "display_name": "Nia"}), 409, "conflict")
    assert_problem(api.post("/users", {"email": desk.agent.user.email, "display_name": "Ana"}), 409, "conflict")

    accepted = Client().post(invitation_link("nia@acme.test"), {"password": "nias-own-pass", "password_again": "nias-own-pass"})
    assert accepted.status_code == 302
    assert api.get(f"/invitations/{invited['id']}").json()["status"] == "accepted"
    nia = next(u for u in api.get("/users").json() if u["email"] == "nia@acme.test")
    changed = api.patch(f"/users/{nia['id']}", {"role": "supervisor", "display_name": "Nia K."}).json()
    assert (changed["role"], changed["display_name"]) == ("supervisor", "Nia K.")
    assert api.patch(f"/users/{nia['id']}", {"is_active": False}).json()["is_active"] is False
    # Deactivated: no way back in by a new invitation; an admin reactivates instead.
    assert "reactivate" in assert_problem(api.post("/users", {"email": "nia@acme.test", "display_name": "Nia"}),
                                          409)["detail"]
    assert api.patch(f"/users/{nia['id']}", {"is_active": True}).json()["is_active"] is True


def test_a_password_is_refused_with_a_reason_and_nothing_changes(desk):
    api = api_as(desk.admin)
    before = snapshot()
    body = assert_problem(api.post("/users", {"email": "n@acme.test", "password": "long-enough-1",
                                              "display_name": "N"}), 422, "validation_failed")
    assert "chooses their own password" in body["errors"][0]["message"]
    assert snapshot() == before
    assert not mail.outbox or all("n@acme.test" not in m.to for m in mail.outbox)


def test_resend_gives_a_new_link_and_revoke_closes_it(desk):
    api = api_as(desk.admin)
    invitation = api.post("/users", {"email": "kim@acme.test", "display_name": "Kim", "role": "supervisor"}).json()
    first = invitation_link("kim@acme.test")
    resent = api.post(f"/invitations/{invitation['id']}/resend")
    assert resent.status_code == 200 and resent.json()["expires_at"] >= invitation["expires_at"]
    second = invitation_link("kim@acme.test")
    assert second != first
    assert Client().get(first).status_code == 404  # the earlier link no longer opens anything
    assert Client().get(second).status_code == 200
    listed = api.get("/invitations", status="pending").json()
    assert [i["email"] for i in listed] == ["kim@acme.test"]

    assert api.delete(f"/invitations/{invitation['id']}").status_code == 204
    assert api.get(f"/invitations/{invitation['id']}").json()["status"] == "revoked"
    closed = Client().get(second)
    assert closed.status_code == 410 and b"withdrawn" in closed.content
    assert_problem(api.post(f"/invitations/{invitation['id']}/resend"), 409, "conflict")
    # Re-invite after a withdrawal: a new invitation, with its own link.
    assert api.post("/users", {"email": "kim@acme.test", "display_name": "Kim"}).status_code == 202
    assert api.get("/invitations", status="revoked").json()[0]["id"] == invitation["id"]


def test_invitations_of_another_workspace_are_not_there(desk, other_desk):
    theirs = api_as(other_desk.admin).post("/users", {"email": "kim@globex.test", "display_name": "Kim"}).json()
    api = api_as(desk.admin)
    assert "kim@globex.test" not in api.get("/invitations").content.decode()
    before = snapshot()
    assert_problem(api.get(f"/invitations/{theirs['id']}"), 404, "not_found")
    assert_problem(api.post(f"/invitations/{theirs['id']}/resend"), 404, "not_found")
    assert_problem(api.delete(f"/invitations/{theirs['id']}"), 404, "not_found")
    assert snapshot() == before


def test_the_last_admin_stays_admin_and_nothing_half_changes(desk):
    api = api_as(desk.admin)
    before = snapshot()
    assert_problem(api.patch(f"/users/{desk.admin.pk}", {"display_name": "Boss", "role": "agent"}), 409, "conflict")
    assert_problem(api.patch(f"/users/{desk.admin.pk}", {"display_name": "Boss", "is_active": False}), 409, "conflict")
    assert snapshot() == before


def test_skills_are_replaced_as_a_set(desk):
    sup = api_as(desk.supervisor)
    french = sup.post("/skills", {"name": "French"}).json()["id"]
    billing = sup.post("/skills", {"name": "Billing"}).json()["id"]
    url = f"/users/{desk.agent.pk}/skills"
    assert sup.put(url, [{"skill": french, "proficiency": 4}, {"skill": billing, "proficiency": 2}]).status_code == 200
    user = sup.put(url, [{"skill": billing, "proficiency": 5}]).json()
    assert user["skills"] == [{"skill_id": billing, "name": "Billing", "proficiency": 5}]
    assert AgentSkill.objects.filter(membership=desk.agent).count() == 1


@pytest.mark.parametrize("levels, status", [
    ([{"skill": "{s}", "proficiency": 6}], 422),
    ([{"skill": "{s}", "proficiency": 0}], 422),
    ([{"skill": "{s}", "proficiency": 3}, {"skill": "{s}", "proficiency": 4}], 422),
])
def test_bad_skill_levels_are_refused(desk, levels, status):
    api = api_as(desk.supervisor)
    skill = api.post("/skills", {"name": "French"}).json()["id"]
    body = [{**level, "skill": skill} for level in levels]
    before = snapshot()
    assert_problem(api.put(f"/users/{desk.agent.pk}/skills", body), status)
    assert snapshot() == before


def test_skill_creation_is_idempotent_by_name(desk):
    api = api_as(desk.supervisor)
    first = api.post("/skills", {"name": "French"}).json()
    assert api.post("/skills", {"name": " French "}).json() == first


def test_team_members(desk, other_desk):
    api = api_as(desk.supervisor)
    team = api.post("/teams", {"name": "Billing"}).json()
    assert team["member_ids"] == []
    url = f"/teams/{team['id']}/members"
    updated = api.put(url, {"member_ids": [desk.agent.pk, desk.agent2.pk, desk.agent.pk]}).json()
    assert sorted(updated["member_ids"]) == sorted([desk.agent.pk, desk.agent2.pk])
    assert api.get(f"/users/{desk.agent.pk}").json()["team_ids"] == [team["id"]]
    before = snapshot()
    assert_problem(api.put(url, {"member_ids": [desk.agent.pk, other_desk.agent.pk]}), 404, "not_found")
    assert snapshot() == before


def test_token_key_is_shown_once_and_works(desk):
    api = api_as(desk.admin)
    created = api.post("/tokens", {"name": "CRM sync", "role": "supervisor"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith(created.json()["prefix"])
    listed = {t["id"]: t for t in api.get("/tokens").json()}
    assert "key" not in listed[created.json()["id"]]
    crm = Api(key)
    assert crm.get("/me").json()["role"] == "supervisor"
    assert api.delete(f"/tokens/{created.json()['id']}").status_code == 204
    assert api.delete(f"/tokens/{created.json()['id']}").status_code == 204  # revoking twice is harmless
    revoked = {t["id"]: t for t in api.get("/tokens").json()}[created.json()["id"]]
    assert revoked["revoked_at"] is not None
    assert_problem(crm.get("/me"), 401)


def test_token_for_a_lower_role_cannot_do_more(desk):
    api = api_as(desk.admin, Role.SUPERVISOR)
    before = snapshot()
    assert_problem(api.post("/tokens", {"name": "escalate", "role": "admin"}), 403)
    assert snapshot() == before
