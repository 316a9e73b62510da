"""/api/v1/canned-replies and /api/v1/macros: the whole round through HTTP, refusals as problems that
change nothing, and no way into another workspace's items."""

import pytest

from tests.apiclient import api_as, assert_problem, snapshot
from touchpoint.accounts import services as accounts
from touchpoint.automation import services
from touchpoint.automation.models import CannedReply, Macro

REFUND = "Hi {{customer.first_name|there}}, your refund for order {{order.number}} is on its way."


@pytest.fixture
def supervisor(desk):
    return api_as(desk.supervisor)


@pytest.fixture
def agent(desk):
    return api_as(desk.agent)


def test_canned_reply_round_trip(desk, supervisor, agent, conversation):
    created = supervisor.post("/canned-replies", {"shortcut": "refund-policy", "title": "Refund policy", "body": REFUND})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["shortcut"] == "refund-policy" and body["team"] is None and body["usage_count"] == 0
    assert body["created_by"]["id"] == desk.supervisor.pk
    cid = body["id"]

    found = agent.get("/canned-replies", q="/REF")
    assert [item["id"] for item in found.json()["items"]] == [cid] and found.json()["next_cursor"] is None
    assert agent.get("/canned-replies", q="nothing like it").json()["items"] == []

    preview = agent.post(f"/conversations/{conversation.pk}/canned-replies/{cid}/render")
    assert preview.status_code == 200
    assert preview.json() == {"text": "Hi Maria, your refund for order A-1001 is on its way.", "missing": []}

    billing = accounts.create_team(actor=desk.supervisor_actor, name="Billing")
    changed = supervisor.patch(f"/canned-replies/{cid}", {"title": "Refunds", "team_id": billing.pk})
    assert changed.json()["team"] == {"id": billing.pk, "name": "Billing"} and changed.json()["title"] == "Refunds"
    assert supervisor.patch(f"/canned-replies/{cid}", {"title": "Refunds (EU)"}).json()["team"]["id"] == billing.pk
    assert agent.get(f"/canned-replies/{cid}").status_code == 404  # Ana is not in Billing
    assert supervisor.patch(f"/canned-replies/{cid}", {"team_id": None}).json()["team"] is None
    assert agent.get(f"/canned-replies/{cid}").status_code == 200

    assert supervisor.delete(f"/canned-replies/{cid}").status_code == 204
    assert_problem(agent.get(f"/canned-replies/{cid}"), 404, "not_found")


def test_listing_pages_with_a_cursor(desk, supervisor):
    for i in range(5):
        services.create_canned_reply(actor=desk.supervisor_actor, shortcut=f"r{i}", title=f"Reply {i}", body="Hello")
    first = supervisor.get("/canned-replies", limit=3).json()
    second = supervisor.get("/canned-replies", limit=3, cursor=first["next_cursor"]).json()
    assert [i["shortcut"] for i in first["items"] + second["items"]] == ["r0", "r1", "r2", "r3", "r4"]
    assert second["next_cursor"] is None


def test_agents_may_not_write_canned_replies_and_nothing_changes(agent):
    before = snapshot()
    response = agent.post("/canned-replies", {"shortcut": "mine", "title": "Mine", "body": "Hello"})
    assert_problem(response, 403, "permission_denied")
    assert snapshot() == before and not CannedReply.objects.exists()


def test_an_unknown_placeholder_is_a_422_naming_it(supervisor):
    response = supervisor.post("/canned-replies", {"shortcut": "typo", "title": "Typo", "body": "Hi {{customer.nme}}"})
    problem = assert_problem(response, 422, "unknown_placeholder")
    assert "{{customer.nme}}" in problem["detail"] and problem["field"] == "body"


def test_a_duplicate_shortcut_is_a_409(supervisor):
    supervisor.post("/canned-replies", {"shortcut": "hello", "title": "Hello", "body": "Hello"})
    assert_problem(supervisor.post("/canned-replies", {"shortcut": "HELLO", "title": "Again", "body": "Hi"}), 409)


def test_a_missing_value_is_reported_by_the_preview(desk, agent, conversation):
    canned = services.create_canned_reply(actor=desk.supervisor_actor, shortcut="late", title="Late",
                                          body="Order {{order.number}} for {{customer.email}}")
    from touchpoint.customers.services import update_customer

    update_customer(actor=desk.admin_actor, customer=conversation.customer, custom_attributes={"order_number": None})
    preview = agent.post(f"/conversations/{conversation.pk}/canned-replies/{canned.pk}/render").json()
    assert preview == {"text": "Order  for maria@example.com", "missing": ["order.number"]}


MACRO = {"name": "Refund sent", "description": "Close a refund case", "actions": [
    {"type": "reply", "body": REFUND},
    {"type": "tag", "tags": ["refund"]},
    {"type": "assign", "to": "me"},
    {"type": "status", "status": "pending"},
]}


def test_macro_round_trip_and_apply(desk, supervisor, agent, conversation):
    created = supervisor.post("/macros", MACRO)
    assert created.status_code == 201, created.content
    macro = created.json()
    assert macro["visibility"] == "workspace" and macro["actions"] == MACRO["actions"]
    assert [m["id"] for m in agent.get("/macros").json()["items"]] == [macro["id"]]

    applied = agent.post(f"/conversations/{conversation.pk}/macros/{macro['id']}/apply")
    assert applied.status_code == 200, applied.content
    body = applied.json()
    assert body["applied"] == ["reply", "tag", "assign", "status"] and body["missing"] == []
    assert body["conversation"]["status"] == "pending" and body["conversation"]["tags"] == ["refund"]
    assert body["conversation"]["assignee"]["id"] == desk.agent.pk
    thread = agent.get(f"/conversations/{conversation.pk}/messages").json()["items"]
    assert any(m["kind"] == "outgoing" and m["content_text"].startswith("Hi Maria, your refund") for m in thread)

    changed = supervisor.patch(f"/macros/{macro['id']}", {"actions": [{"type": "priority", "priority": "low"}]})
    assert changed.json()["actions"] == [{"type": "priority", "priority": "low"}]
    assert changed.json()["description"] == "Close a refund case"
    assert supervisor.delete(f"/macros/{macro['id']}").status_code == 204
    assert not Macro.objects.exists()


def test_personal_macros_are_their_makers_own(desk, agent):
    mine = agent.post("/macros", {**MACRO, "name": "Mine", "visibility": "personal"})
    assert mine.status_code == 201
    assert_problem(agent.post("/macros", {**MACRO, "name": "For all"}), 403, "permission_denied")
    ben = api_as(desk.agent2)
    assert ben.get("/macros").json()["items"] == []
    assert_problem(ben.get(f"/macros/{mine.json()['id']}"), 404, "not_found")
    assert_problem(ben.delete(f"/macros/{mine.json()['id']}"), 404, "not_found")


@pytest.mark.parametrize("actions,field", [
    ([{"type": "close"}], "actions.0"),
    ([{"type": "status", "status": "closed"}], "actions.0.status.status"),
    ([{"type": "assign", "to": "me", "agent_id": 3}], "actions.0.assign"),
    ([{"type": "tag", "tags": ["x"], "colour": "red"}], "actions.0.tag.colour"),
    ([], "actions"),
])
def test_malformed_actions_are_a_422_naming_the_field(supervisor, actions, field):
    before = snapshot()
    problem = assert_problem(supervisor.post("/macros", {"name": "Bad", "actions": actions}), 422, "validation_failed")
    assert field in [error["field"] for error in problem["errors"]], problem
    assert snapshot() == before and not Macro.objects.exists()


def test_an_action_the_workspace_cannot_do_is_a_422_naming_it(supervisor, other_desk):
    problem = assert_problem(supervisor.post("/macros", {"name": "Bad", "actions": [
        {"type": "tag", "tags": ["x"]}, {"type": "assign", "agent_id": other_desk.agent.pk}]}), 422)
    assert problem["detail"].startswith("Action 2 (assign): no agent with id")


def test_a_refused_action_answers_422_and_changes_nothing(desk, agent, conversation):
    to_ben = services.create_macro(actor=desk.supervisor_actor, name="To Ben", actions=[
        {"type": "reply", "body": "Ben takes over."}, {"type": "tag", "tags": ["handover"]},
        {"type": "assign", "agent_id": desk.agent2.pk}])
    accounts.update_member(actor=desk.admin_actor, membership=desk.agent2, is_active=False)
    before = snapshot()
    problem = assert_problem(agent.post(f"/conversations/{conversation.pk}/macros/{to_ben.pk}/apply"), 422)
    assert "Action 3 (assign)" in problem["detail"] and "nothing changed" in problem["detail"]
    assert snapshot() == before


def test_workspace_a_cannot_read_change_or_apply_workspace_bs_items(desk, other_desk, conversation):
    their_canned = services.create_canned_reply(actor=other_desk.supervisor_actor, shortcut="refund-policy",
                                                title="Globex refunds", body="Globex secret wording")
    their_macro = services.create_macro(actor=other_desk.supervisor_actor, name="Globex macro",
                                        actions=[{"type": "tag", "tags": ["globex"]}])
    from touchpoint.conversations.services import Content, receive_message

    their_conversation = receive_message(workspace_id=other_desk.id, channel="email", sender=("email", "b@globex.test"),
                                         content=Content(text="Globex question"))[0].conversation
    admin = api_as(desk.admin)
    services.create_canned_reply(actor=desk.supervisor_actor, shortcut="mine", title="Ours", body="Hello")
    services.create_macro(actor=desk.supervisor_actor, name="Ours", actions=[{"type": "tag", "tags": ["ours"]}])
    for listing in (admin.get("/canned-replies"), admin.get("/canned-replies", q="refund"), admin.get("/macros")):
        assert listing.status_code == 200 and b"globex" not in listing.content.lower()
    before = snapshot()
    refusals = [
        admin.get(f"/canned-replies/{their_canned.pk}"),
        admin.patch(f"/canned-replies/{their_canned.pk}", {"title": "Mine now"}),
        admin.delete(f"/canned-replies/{their_canned.pk}"),
        admin.post(f"/conversations/{conversation.pk}/canned-replies/{their_canned.pk}/render"),
        admin.get(f"/macros/{their_macro.pk}"),
        admin.patch(f"/macros/{their_macro.pk}", {"name": "Mine now"}),
        admin.delete(f"/macros/{their_macro.pk}"),
        admin.post(f"/conversations/{conversation.pk}/macros/{their_macro.pk}/apply"),
        admin.post(f"/conversations/{their_conversation.pk}/macros/{Macro.objects.get(name='Ours').pk}/apply"),
        admin.post(f"/conversations/{their_conversation.pk}/canned-replies/"
                   f"{CannedReply.objects.get(shortcut='mine').pk}/render"),
    ]
    for response in refusals:
        assert_problem(response, 404, "not_found")
        assert b"globex" not in response.content.lower()
    assert snapshot() == before
    their_canned.refresh_from_db()
    assert their_canned.title == "Globex refunds" and Macro.objects.filter(name="Globex macro").exists()


# ---- every endpoint against bad input --------------------------------------------------------------

UNKNOWN_ID = 987_654_321


def _ids(desk) -> dict:
    from tests.apiclient import populate

    ids = populate(desk)
    ids["canned"] = services.create_canned_reply(actor=desk.supervisor_actor, shortcut="hello", title="Hello",
                                                 body="Hello {{customer.name}}").pk
    ids["macro"] = services.create_macro(actor=desk.supervisor_actor, name="Tag it",
                                         actions=[{"type": "tag", "tags": ["x"]}]).pk
    return ids


ENDPOINTS = [  # method, path, valid body, the same with a wrong type, the success status
    ("POST", "/canned-replies", {"shortcut": "bye", "title": "Bye", "body": "Bye"}, {"shortcut": ["bye"]}, 201),
    ("GET", "/canned-replies/{canned}", None, None, 200),
    ("PATCH", "/canned-replies/{canned}", {"title": "Hi"}, {"team_id": "billing"}, 200),
    ("DELETE", "/canned-replies/{canned}", None, None, 204),
    ("POST", "/conversations/{conversation}/canned-replies/{canned}/render", None, None, 200),
    ("POST", "/macros", {"name": "Pend", "actions": [{"type": "status", "status": "pending"}]},
     {"name": "Pend", "actions": {"type": "status"}}, 201),
    ("GET", "/macros/{macro}", None, None, 200),
    ("PATCH", "/macros/{macro}", {"description": "Tags x"}, {"visibility": 1}, 200),
    ("DELETE", "/macros/{macro}", None, None, 204),
    ("POST", "/conversations/{conversation}/macros/{macro}/apply", None, None, 200),
]


@pytest.mark.parametrize("method,path,body,wrong,ok", ENDPOINTS, ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS])
def test_endpoint_refuses_bad_input_and_changes_nothing(desk, other_desk, method, path, body, wrong, ok):
    mine, theirs = _ids(desk), _ids(other_desk)
    api = api_as(desk.admin)

    def unchanged(call):
        before = snapshot(), list(CannedReply.objects.values()), list(Macro.objects.values())
        response = call()
        assert (snapshot(), list(CannedReply.objects.values()), list(Macro.objects.values())) == before
        return response

    if body is not None:
        assert_problem(unchanged(lambda: api.call(method, path.format_map(mine), raw='{"name": "unterminated')),
                       400, "malformed_json")
        assert_problem(unchanged(lambda: api.call(method, path.format_map(mine), wrong)), 422, "validation_failed")
    for key in ("conversation", "canned", "macro"):
        if f"{{{key}}}" not in path:
            continue
        for bad in ("abc", "0", str(2**70)):
            assert_problem(unchanged(lambda bad=bad, key=key: api.call(method, path.format_map({**mine, key: bad}), body)),
                           422, "validation_failed")
        unknown = unchanged(lambda key=key: api.call(method, path.format_map({**mine, key: UNKNOWN_ID}), body))
        other = unchanged(lambda key=key: api.call(method, path.format_map({**mine, key: theirs[key]}), body))
        a, b = assert_problem(unknown, 404, "not_found"), assert_problem(other, 404, "not_found")
        assert a["detail"].replace(str(UNKNOWN_ID), "<id>") == b["detail"].replace(str(theirs[key]), "<id>")
    response = api.call(method, path.format_map(mine), body)
    assert response.status_code == ok, response.content[:500]
