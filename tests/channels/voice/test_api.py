"""The call of a voice conversation through /api/v1: reading it and setting its disposition."""

from tests.apiclient import api_as, assert_problem
from touchpoint.channels.models import Call, ChannelAccount
from touchpoint.conversations.services import Content, receive_message

from .conftest import CALLER, ana, event, full_call, post_event


def _call(client, account, events) -> Call:
    for payload in events:
        assert post_event(client, account, payload).status_code == 200
    return Call.objects.get(account=account, external_id=events[0]["call_id"])


def test_an_agent_reads_the_call_with_its_legs_and_durations(client, desk, voice_account):
    call = _call(client, voice_account, full_call(desk))
    response = api_as(desk.agent).get(f"/conversations/{call.conversation_id}/call")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["call_id"], body["caller"], body["state"], body["abandoned"]) == ("CA-1001", CALLER, "done", False)
    assert (body["queue_time_s"], body["ring_time_s"], body["talk_time_s"], body["hold_time_s"]) == (62, 22, 268, 50)
    assert (body["after_call_work_s"], body["handle_time_s"]) == (100, 418)
    assert [leg["agent"]["display_name"] for leg in body["legs"]] == ["Ana acme", "Ben acme"]
    assert [leg["talk_time_s"] for leg in body["legs"]] == [108, 160]
    assert body["legs"][0]["transferred"] is True


def test_an_agent_sets_the_disposition(client, desk, voice_account):
    call = _call(client, voice_account, [event("offered", 0), event("answered", 5, agent_email=ana(desk))])
    api = api_as(desk.agent)
    response = api.post(f"/conversations/{call.conversation_id}/call/disposition", {"disposition": "  Wrong number "})
    assert response.status_code == 200, response.content
    assert response.json()["disposition"] == "Wrong number"
    call.refresh_from_db()
    assert (call.disposition, call.disposition_by_id) == ("Wrong number", desk.agent.pk)
    line = call.conversation.messages.latest("id")
    assert (line.kind, line.content_text) == ("event", "Ana acme set the call's disposition: Wrong number.")
    # The same again changes nothing and writes no second line.
    api.post(f"/conversations/{call.conversation_id}/call/disposition", {"disposition": "Wrong number"})
    assert call.conversation.messages.latest("id").pk == line.pk


def test_bad_dispositions_are_422_and_change_nothing(client, desk, voice_account):
    call = _call(client, voice_account, [event("offered", 0)])
    api = api_as(desk.agent)
    path = f"/conversations/{call.conversation_id}/call/disposition"
    for body in ({"disposition": ""}, {"disposition": "x" * 121}, {"disposition": 5}, {"outcome": "Sale"}, {}):
        assert_problem(api.post(path, body), 422, "validation_failed")
    assert_problem(api.post(path, raw='{"disposition": '), 400, "malformed_json")
    call.refresh_from_db()
    assert call.disposition == ""


def test_a_conversation_without_a_call_is_404(desk):
    message, _ = receive_message(workspace_id=desk.id, channel="email", sender=("email", "jo@example.test"),
                                 content=Content(text="Hi"))
    response = api_as(desk.agent).post(f"/conversations/{message.conversation_id}/call/disposition",
                                       {"disposition": "Sale"})
    assert "not a phone call" in assert_problem(response, 404, "not_found")["detail"]
    assert_problem(api_as(desk.agent).get(f"/conversations/{message.conversation_id}/call"), 404, "not_found")


def test_another_workspaces_call_is_404_like_an_unknown_one(client, desk, other_desk):
    theirs = ChannelAccount.objects.create(workspace_id=other_desk.id, kind="voice", name="Globex", address="+14155550999")
    call = _call(client, theirs, [event("offered", 0)])
    api = api_as(desk.admin)
    for path in (f"/conversations/{call.conversation_id}/call", "/conversations/987654321/call"):
        assert_problem(api.get(path), 404, "not_found")
    other = api.post(f"/conversations/{call.conversation_id}/call/disposition", {"disposition": "Mine now"})
    unknown = api.post("/conversations/987654321/call/disposition", {"disposition": "Mine now"})
    assert assert_problem(other, 404)["detail"].replace(str(call.conversation_id), "<id>") == \
        assert_problem(unknown, 404)["detail"].replace("987654321", "<id>")
    call.refresh_from_db()
    assert call.disposition == ""


def test_without_a_token_it_is_401(client, desk, voice_account):
    call = _call(client, voice_account, [event("offered", 0)])
    from tests.apiclient import Api

    assert_problem(Api().post(f"/conversations/{call.conversation_id}/call/disposition", {"disposition": "x"}), 401)
