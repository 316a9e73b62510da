"""The API's edge: authentication (tokens, sessions, CSRF), problem+json errors, cursor pagination."""

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.apiclient import Api, api_as, assert_problem, populate, snapshot, token_for
from tests.conftest import join
from touchpoint.accounts import services as accounts
from touchpoint.accounts.models import ApiToken
from touchpoint.conversations.models import Conversation
from touchpoint.conversations.services import Content, receive_message, reply
from touchpoint.core.api import SESSION_WORKSPACE_KEY
from touchpoint.core.clock import now
from touchpoint.core.permissions import Role
from touchpoint.customers.models import Customer
from touchpoint.customers.services import create_customer

CSRF = "k" * 32  # a CSRF secret: the cookie and the header must carry the same one


# ---- authentication -----------------------------------------------------------------------------


def test_no_credentials_is_401_with_a_bearer_challenge(db):
    response = Api().get("/me")
    body = assert_problem(response, 401, "not_authenticated")
    assert "Bearer" in body["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer tp_not-a-real-key", "Bearer ", "Basic YWRtaW46cGFzcw==", "tp_no-scheme"])
def test_invalid_credentials_are_401(desk, header):
    response = Api(client=Client(headers={"Authorization": header})).get("/me")
    assert_problem(response, 401, "not_authenticated")


def test_token_acts_in_its_workspace_with_at_most_its_issuers_role(desk):
    me = api_as(desk.agent, Role.ADMIN).get("/me").json()
    assert (me["id"], me["role"], me["via_token"]) == (desk.agent.pk, "agent", True)
    assert me["workspace"]["id"] == desk.id
    limited = api_as(desk.admin, Role.AGENT)
    assert limited.get("/me").json()["role"] == "agent"
    assert_problem(limited.get("/tokens"), 403, "permission_denied")


def test_revoked_token_is_refused(desk):
    key = token_for(desk.admin)
    api = Api(key)
    assert api.get("/me").status_code == 200
    token = ApiToken.objects.get(key_hash=accounts.hash_token(key))
    assert api.delete(f"/tokens/{token.pk}").status_code == 204
    assert_problem(api.get("/me"), 401, "not_authenticated")


def test_deactivated_persons_token_is_refused(desk):
    api = api_as(desk.agent)
    accounts.update_member(actor=desk.admin_actor, membership=desk.agent, is_active=False)
    assert_problem(api.get("/me"), 401, "not_authenticated")


def test_token_use_is_stamped(desk):
    key = token_for(desk.agent)
    Api(key).get("/me")
    assert ApiToken.objects.get(key_hash=accounts.hash_token(key)).last_used_at is not None


def _session_client(membership, *, enforce_csrf: bool = True) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(membership.user)
    return client


def test_session_can_read_and_needs_csrf_to_write(desk):
    client = _session_client(desk.supervisor)
    api = Api(client=client)
    assert api.get("/me").json()["role"] == "supervisor"
    before = snapshot()
    assert_problem(api.post("/teams", {"name": "Returns"}), 403, "csrf_failed")
    assert snapshot() == before
    client.cookies["csrftoken"] = CSRF
    response = client.post("/api/v1/teams", data={"name": "Returns"}, content_type="application/json",
                           headers={"X-CSRFToken": CSRF})
    assert response.status_code == 201, response.content


def test_a_bad_token_does_not_fall_back_to_the_session(desk):
    client = _session_client(desk.admin, enforce_csrf=False)
    client.defaults["HTTP_AUTHORIZATION"] = "Bearer tp_wrong"
    assert_problem(Api(client=client).get("/me"), 401, "not_authenticated")


def test_session_works_in_the_workspace_it_chose(desk, other_desk):
    both = join(other_desk.admin_actor, email=desk.agent.user.email, display_name="Ana at Globex",
                role=Role.SUPERVISOR)
    client = _session_client(desk.agent)
    api = Api(client=client)
    # No choice in the session yet: the workspace last used, here the one just joined.
    assert api.get("/me").json()["workspace"]["id"] == other_desk.id
    session = client.session
    session[SESSION_WORKSPACE_KEY] = desk.id
    session.save()
    assert api.get("/me").json()["workspace"]["id"] == desk.id
    session[SESSION_WORKSPACE_KEY] = other_desk.id
    session.save()
    me = api.get("/me").json()
    assert (me["id"], me["role"], me["workspace"]["id"]) == (both.pk, "supervisor", other_desk.id)
    accounts.update_member(actor=other_desk.admin_actor, membership=both, is_active=False)
    assert_problem(api.get("/me"), 401, "not_authenticated")  # never silently another workspace


# ---- problems -----------------------------------------------------------------------------------


def test_validation_problem_lists_each_field(desk):
    response = api_as(desk.admin).post("/customers", {"name": 5, "identities": [{"kind": "fax", "value": "1"}], "vip": 1})
    body = assert_problem(response, 422, "validation_failed")
    fields = {(e["in"], e["field"]) for e in body["errors"]}
    assert fields == {("body", "name"), ("body", "identities.0.kind"), ("body", "vip")}
    assert all(e["message"] and e["code"] for e in body["errors"])
    assert "identities.0.kind" in body["detail"]


def test_domain_refusal_keeps_its_code_and_field(desk):
    api = api_as(desk.supervisor)
    assert api.post("/teams", {"name": "Billing"}).status_code == 201
    body = assert_problem(api.post("/teams", {"name": "Billing"}), 409, "conflict")
    assert body["field"] == "name"
    assert body["errors"] == [{"field": "name", "code": "conflict", "message": body["detail"]}]


@pytest.mark.parametrize("raw, status, code", [
    ("", 422, "validation_failed"),  # no body at all: the required fields are missing
    ("[1, 2]", 422, "validation_failed"),
    ('"text"', 422, "validation_failed"),
    ('{"name": NaN}', 422, "invalid_number"),
    ('{"name": "Kim\\u0000"}', 422, "invalid_text"),
    ('{"name": "\\ud800"}', 422, "invalid_text"),
    (b'{"name": "\xff\xfe"}', 400, "malformed_json"),
    ("[" * 100_000, 400, "malformed_json"),
])
def test_bodies_that_cannot_be_stored_are_refused(desk, raw, status, code):
    api = api_as(desk.admin)
    before = snapshot()
    assert_problem(api.post("/teams", raw=raw), status, code)
    assert snapshot() == before


def test_nul_in_a_query_is_refused(desk):
    assert_problem(api_as(desk.agent).get("/customers", q="jo\x00"), 422, "invalid_text")


def test_unknown_address_and_wrong_method_are_problems(desk):
    api = api_as(desk.agent)
    assert_problem(api.get("/no-such-thing"), 404, "not_found")
    response = api.delete("/customers")
    assert_problem(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_docs_and_schema_are_served(db):
    client = Client()
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Touchpoint API"
    docs = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()


# ---- cursor pagination --------------------------------------------------------------------------


def _walk(api: Api, path: str, **query) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        response = api.get(path, **query, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.content
        page = response.json()
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert pages < 100


def test_customer_pages_have_no_gaps_or_duplicates_even_on_equal_timestamps(desk):
    for n in range(23):
        create_customer(workspace_id=desk.id, name=f"Customer {n}")
    Customer.objects.filter(pk__in=Customer.objects.order_by("pk").values("pk")[5:15]).update(updated_at=now())
    api = api_as(desk.agent)
    walked = _walk(api, "/customers", limit=4)
    expected = list(Customer.objects.filter(workspace_id=desk.id).order_by("-updated_at", "-id").values_list("pk", flat=True))
    assert [c["id"] for c in walked] == expected
    assert len(expected) == 23


def test_inbox_pages_have_no_gaps_or_duplicates(desk):
    for n in range(17):
        receive_message(workspace_id=desk.id, channel="email", content=Content(text=f"Question {n}"),
                        sender=("email", f"c{n}@example.com"))
    tie = now() - timedelta(minutes=5)
    Conversation.objects.filter(pk__in=Conversation.objects.order_by("pk").values("pk")[:9]).update(last_message_at=tie)
    walked = _walk(api_as(desk.agent), "/conversations", limit=5)
    expected = list(Conversation.objects.order_by("-last_message_at", "-id").values_list("pk", flat=True))
    assert [c["id"] for c in walked] == expected and len(expected) == 17


def test_thread_pages_oldest_first(desk):
    message, _ = receive_message(workspace_id=desk.id, channel="email", content=Content(text="Hi"),
                                 sender=("email", "jo@example.com"))
    conversation = message.conversation
    for n in range(12):
        reply(actor=desk.agent_actor, conversation=conversation, content=Content(text=f"Answer {n}"))
    walked = _walk(api_as(desk.agent), f"/conversations/{conversation.pk}/messages", limit=5)
    expected = list(conversation.messages.order_by("created_at", "id").values_list("pk", flat=True))
    assert [m["id"] for m in walked] == expected and len(expected) == 13


def test_sync_pages_forward_by_change_time(desk):
    customers = [create_customer(workspace_id=desk.id, name=f"Customer {n}") for n in range(6)]
    start = customers[0].updated_at
    api = api_as(desk.agent)
    first = _walk(api, "/customers", updated_since=start.isoformat(), limit=4)
    assert [c["id"] for c in first] == [c.pk for c in customers]  # oldest change first
    api.patch(f"/customers/{customers[0].pk}", {"name": "Renamed"})
    since_last = first[-1]["updated_at"]
    changed = _walk(api, "/customers", updated_since=since_last)
    assert [c["id"] for c in changed][-1] == customers[0].pk


def test_conversation_sync_includes_every_status(desk):
    message, _ = receive_message(workspace_id=desk.id, channel="email", content=Content(text="Hi"),
                                 sender=("email", "jo@example.com"))
    api = api_as(desk.agent)
    api.post(f"/conversations/{message.conversation_id}/status", {"status": "resolved"})
    synced = _walk(api, "/conversations", updated_since=(now() - timedelta(hours=1)).isoformat())
    assert [c["status"] for c in synced] == ["resolved"]
    assert api.get("/conversations").json()["items"] == []  # the default view is open conversations


def test_pages_use_the_sort_key_not_offset(desk):
    for n in range(6):
        create_customer(workspace_id=desk.id, name=f"Customer {n}")
    api = api_as(desk.agent)
    cursor = api.get("/customers", limit=2).json()["next_cursor"]
    with CaptureQueriesContext(connection) as queries:
        assert len(api.get("/customers", limit=2, cursor=cursor).json()["items"]) == 2
    listing = [q["sql"] for q in queries.captured_queries if "customers_customer" in q["sql"] and "LIMIT" in q["sql"]]
    assert listing and not any("OFFSET" in sql for sql in listing)


def _cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


@pytest.mark.parametrize("cursor", [
    "not-a-cursor", "%%%", "e30", "W10", _cursor("customers.recent", "not a date", 1),
    _cursor("customers.recent", "0001-01-01T00:00:00+05:00", 1), _cursor("customers.recent", "2026-01-01T00:00:00", 1),
    _cursor("customers.recent", "2026-01-01T00:00:00+00:00", 2**70), _cursor("customers.recent", 5, 1),
])
def test_damaged_cursor_is_400(desk, cursor):
    assert_problem(api_as(desk.agent).get("/customers", cursor=cursor), 400, "invalid_cursor")


def test_cursor_of_another_listing_is_400(desk):
    ids = populate(desk)
    create_customer(workspace_id=desk.id, name="Third")
    api = api_as(desk.agent)
    customers_cursor = api.get("/customers", limit=1).json()["next_cursor"]
    assert customers_cursor
    body = assert_problem(api.get(f"/conversations/{ids['conversation']}/messages", cursor=customers_cursor), 400,
                          "invalid_cursor")
    assert "another listing" in body["detail"]
