"""Every endpoint of /api/v1 against bad input: a malformed body, a wrong type, an unknown id and another
workspace's id each answer a clear 4xx problem and change nothing. The valid request, sent last, works."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.apiclient import api_as, assert_problem, populate, snapshot

UNKNOWN_ID = 987_654_321
ID_KEYS = ("user", "team", "skill", "token", "customer", "identity", "conversation", "duplicate", "invitation")


class Ids(dict):
    """The ids a request uses, recording which ones it read, so each can be swapped for a bad one."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.used: list[str] = []

    def __getitem__(self, key: str) -> Any:
        if key in ID_KEYS and key not in self.used:
            self.used.append(key)
        return super().__getitem__(key)


Body = Callable[[Ids], Any] | None


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: Body = None  # the valid body
    wrong: Body = None  # the same with a value of the wrong type
    query: dict[str, str] = field(default_factory=dict)  # the valid query
    wrong_query: dict[str, str] = field(default_factory=dict)
    ok: int = 200

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("GET", "/me"),
    Endpoint("GET", "/workspace"),
    Endpoint("PATCH", "/workspace", lambda i: {"name": "Acme support"}, lambda i: {"timezone": 5}),
    Endpoint("GET", "/users"),
    Endpoint("POST", "/users", lambda i: {"email": "new@acme.test", "display_name": "Nia"},
             lambda i: {"email": "new@acme.test", "display_name": "Nia", "role": 3}, ok=202),
    Endpoint("GET", "/invitations", wrong_query={"status": "lost"}),
    Endpoint("GET", "/invitations/{invitation}"),
    Endpoint("POST", "/invitations/{invitation}/resend"),
    Endpoint("DELETE", "/invitations/{invitation}", ok=204),
    Endpoint("GET", "/users/{user}"),
    Endpoint("PATCH", "/users/{user}", lambda i: {"display_name": "Ana B."}, lambda i: {"is_active": "maybe"}),
    Endpoint("PUT", "/users/{user}/skills", lambda i: [{"skill": i["skill"], "proficiency": 3}],
             lambda i: [{"skill": i["skill"], "proficiency": "high"}]),
    Endpoint("GET", "/teams"),
    Endpoint("POST", "/teams", lambda i: {"name": "Returns"}, lambda i: {"name": ["Returns"]}, ok=201),
    Endpoint("PUT", "/teams/{team}/members", lambda i: {"member_ids": [i["user"]]}, lambda i: {"member_ids": "all"}),
    Endpoint("GET", "/skills"),
    Endpoint("POST", "/skills", lambda i: {"name": "German"}, lambda i: {"name": 7}, ok=201),
    Endpoint("GET", "/tokens"),
    Endpoint("POST", "/tokens", lambda i: {"name": "CRM"}, lambda i: {"name": "CRM", "role": "owner"}, ok=201),
    Endpoint("DELETE", "/tokens/{token}", ok=204),
    Endpoint("GET", "/customers", wrong_query={"updated_since": "yesterday"}),
    Endpoint("POST", "/customers", lambda i: {"name": "Kim", "identities": [{"kind": "email", "value": "kim@x.test"}]},
             lambda i: {"name": "Kim", "custom_attributes": {"vip": [1]}}, ok=201),
    Endpoint("GET", "/customers/{customer}"),
    Endpoint("PATCH", "/customers/{customer}", lambda i: {"name": "Jo Bloggs"}, lambda i: {"consent": {"surveys": "perhaps"}}),
    Endpoint("POST", "/customers/{customer}/identities", lambda i: {"kind": "phone", "value": "+33 1 23 45 67 89"},
             lambda i: {"kind": "email", "value": 42}, ok=201),
    Endpoint("DELETE", "/customers/{customer}/identities/{identity}", ok=204),
    Endpoint("POST", "/customers/{customer}/merge", lambda i: {"source_id": i["duplicate"]}, lambda i: {"source_id": "dup"}),
    Endpoint("GET", "/customers/{customer}/timeline", wrong_query={"before": "last week"}),
    Endpoint("GET", "/conversations", wrong_query={"status": "closed"}),
    Endpoint("POST", "/conversations", lambda i: {"customer_id": i["customer"], "channel": "email", "subject": "Refund"},
             lambda i: {"customer_id": i["customer"], "channel": "fax"}, ok=201),
    Endpoint("GET", "/conversations/{conversation}"),
    Endpoint("PATCH", "/conversations/{conversation}", lambda i: {"priority": "high"}, lambda i: {"priority": 1}),
    Endpoint("GET", "/conversations/{conversation}/messages", wrong_query={"limit": "1000"}),
    Endpoint("POST", "/conversations/{conversation}/messages", lambda i: {"text": "On its way"}, lambda i: {"text": 5}, ok=201),
    Endpoint("POST", "/conversations/{conversation}/notes", lambda i: {"text": "VIP"}, lambda i: {"text": ["VIP"]}, ok=201),
    Endpoint("POST", "/conversations/{conversation}/assignment", lambda i: {"assignee_id": i["user"]},
             lambda i: {"assignee_id": "ana"}),
    Endpoint("POST", "/conversations/{conversation}/team", lambda i: {"team_id": i["team"]}, lambda i: {"team_id": "billing"}),
    Endpoint("POST", "/conversations/{conversation}/status", lambda i: {"status": "resolved"}, lambda i: {"status": "closed"}),
    Endpoint("POST", "/conversations/{conversation}/tags", lambda i: {"add": ["vip"]}, lambda i: {"add": "vip"}),
    Endpoint("POST", "/inbound/messages",
             lambda i: {"sender": {"kind": "email", "value": i["jo_email"]}, "text": "Hello?", "conversation_id": i["conversation"]},
             lambda i: {"sender": {"kind": "email", "value": i["jo_email"]}, "text": "Hello?", "external_id": 12}, ok=201),
    Endpoint("GET", "/search/messages", query={"q": "order"}, wrong_query={"q": "order", "limit": "many"}),
    Endpoint("GET", "/search/customers", query={"q": "jo"}, wrong_query={"q": "jo", "limit": "0"}),
]


def _request(api, endpoint: Endpoint, ids: Ids, *, body: Body = None, raw: str | None = None, query=None,
             path_ids: dict | None = None):
    path = endpoint.path.format_map({**ids, **(path_ids or {})}) if "{" in endpoint.path else endpoint.path
    if endpoint.method == "GET":
        return api.get(path, **(query or endpoint.query))
    return api.call(endpoint.method, path, body(ids) if body else None, raw=raw)


def _unchanged(call: Callable[[], Any]) -> Any:
    before = snapshot()
    response = call()
    assert snapshot() == before, "a refused request changed the database"
    return response


def _same_detail(a: dict, b: dict, a_id: int, b_id: int) -> None:
    assert (a["status"], a["code"]) == (b["status"], b["code"])
    assert a["detail"].replace(str(a_id), "<id>") == b["detail"].replace(str(b_id), "<id>")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_endpoint_refuses_bad_input_and_changes_nothing(desk, other_desk, endpoint: Endpoint):
    mine = Ids({**populate(desk), "jo_email": "jo@acme.test"})
    theirs = populate(other_desk)
    api = api_as(desk.admin)
    used = Ids(mine)
    if endpoint.body:
        endpoint.body(used)
    if "{" in endpoint.path:
        endpoint.path.format_map(used)

    if endpoint.body is not None:
        response = _unchanged(lambda: _request(api, endpoint, Ids(mine), raw='{"name": "unterminated'))
        assert_problem(response, 400, "malformed_json")
        response = _unchanged(lambda: _request(api, endpoint, Ids(mine), body=endpoint.wrong))
        assert_problem(response, 422, "validation_failed")["errors"]
    if endpoint.wrong_query:
        response = _unchanged(lambda: _request(api, endpoint, Ids(mine), query=endpoint.wrong_query))
        assert_problem(response, 422, "validation_failed")

    for key in used.used:
        if f"{{{key}}}" in endpoint.path:
            for bad in ("abc", "0", str(2**70)):
                response = _unchanged(lambda bad=bad, key=key: _request(api, endpoint, Ids(mine), body=endpoint.body,
                                                               path_ids={key: bad}))
                assert_problem(response, 422, "validation_failed")
        unknown = _unchanged(lambda key=key: _request(api, endpoint, Ids({**mine, key: UNKNOWN_ID}), body=endpoint.body))
        other = _unchanged(lambda key=key: _request(api, endpoint, Ids({**mine, key: theirs[key]}), body=endpoint.body))
        _same_detail(assert_problem(unknown, 404, "not_found"), assert_problem(other, 404, "not_found"),
                     UNKNOWN_ID, theirs[key])

    response = _request(api, endpoint, Ids(mine), body=endpoint.body)
    assert response.status_code == endpoint.ok, response.content[:500]


def test_nothing_of_another_workspace_shows_through_any_read(desk, other_desk):
    """Workspace B's people, customers and messages all carry "globex"; no read by A's token may show it."""
    mine = Ids({**populate(desk), "jo_email": "jo@acme.test"})
    populate(other_desk)
    api = api_as(desk.admin)
    reads = [e for e in ENDPOINTS if e.method == "GET"]
    extra = [("/customers", {"q": "jo"}), ("/conversations", {"view": "all"}), ("/search/messages", {"q": "order"}),
             ("/customers", {"updated_since": "2000-01-01T00:00:00Z"})]
    for endpoint in reads:
        response = _request(api, endpoint, Ids(mine))
        assert response.status_code == 200, (str(endpoint), response.content[:300])
        assert b"globex" not in response.content.lower(), str(endpoint)
    for path, query in extra:
        response = api.get(path, **query)
        assert response.status_code == 200 and response.json(), (path, query)
        assert b"globex" not in response.content.lower(), (path, query)
