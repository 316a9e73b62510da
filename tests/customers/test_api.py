"""API for the customer 360: profiles, identities, merges and the timeline."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.apiclient import api_as, assert_problem, snapshot
from touchpoint.conversations.models import Conversation
from touchpoint.conversations.services import Content, receive_message, reply
from touchpoint.core.clock import now
from touchpoint.customers.models import Customer, Identity
from touchpoint.customers.services import create_customer


def test_create_and_read_a_customer(desk):
    api = api_as(desk.agent)
    response = api.post("/customers", {
        "name": "Jo Bloggs", "language": "fr", "custom_attributes": {"plan": "gold", "seats": 12},
        "identities": [{"kind": "email", "value": "Jo@Example.com"}, {"kind": "phone", "value": "+44 20 7946 0958"}],
    })
    assert response.status_code == 201, response.content
    jo = response.json()
    assert {(i["kind"], i["value"]) for i in jo["identities"]} == {("email", "jo@example.com"), ("phone", "+442079460958")}
    assert api.get(f"/customers/{jo['id']}").json() == jo
    assert jo["custom_attributes"] == {"plan": "gold", "seats": 12}


def test_an_identity_owned_by_another_customer_creates_nothing(desk):
    api = api_as(desk.agent)
    api.post("/customers", {"name": "Jo", "identities": [{"kind": "email", "value": "jo@example.com"}]})
    before = snapshot()
    body = assert_problem(api.post("/customers", {
        "name": "Impostor", "identities": [{"kind": "phone", "value": "+33123456789"}, {"kind": "email", "value": "jo@example.com"}],
    }), 409, "identity_taken")
    assert body["field"] == "value"
    assert snapshot() == before


def test_invalid_identity_value_is_a_clear_422(desk):
    api = api_as(desk.agent)
    before = snapshot()
    body = assert_problem(api.post("/customers", {"identities": [{"kind": "phone", "value": "call me"}]}), 422)
    assert "international form" in body["detail"]
    assert snapshot() == before


def test_update_profile_attributes_and_consent(desk):
    api = api_as(desk.agent)
    jo = api.post("/customers", {"name": "Jo", "custom_attributes": {"plan": "gold", "legacy": True}}).json()
    updated = api.patch(f"/customers/{jo['id']}", {
        "name": "Jo B.", "custom_attributes": {"legacy": None, "seats": 3}, "consent": {"surveys": True},
    }).json()
    assert updated["name"] == "Jo B."
    assert updated["custom_attributes"] == {"plan": "gold", "seats": 3}
    assert updated["consent"]["surveys"]["granted"] is True
    assert updated["consent"]["surveys"]["by"] == desk.agent.pk
    assert updated["updated_at"] > jo["updated_at"]


def test_unknown_consent_purpose_is_refused(desk):
    api = api_as(desk.agent)
    jo = api.post("/customers", {"name": "Jo"}).json()
    before = snapshot()
    body = assert_problem(api.patch(f"/customers/{jo['id']}", {"consent": {"telepathy": True}}), 422)
    assert body["errors"][0]["field"] == "consent.telepathy"
    assert snapshot() == before


def test_add_and_remove_identities(desk):
    api = api_as(desk.agent)
    jo = api.post("/customers", {"name": "Jo"}).json()
    kim = api.post("/customers", {"name": "Kim", "identities": [{"kind": "email", "value": "kim@example.com"}]}).json()
    added = api.post(f"/customers/{jo['id']}/identities", {"kind": "phone", "value": "+1 415 555 0100"})
    assert added.status_code == 201 and added.json()["value"] == "+14155550100"
    assert_problem(api.post(f"/customers/{jo['id']}/identities", {"kind": "email", "value": "KIM@example.com"}),
                   409, "identity_taken")
    kims_identity = kim["identities"][0]["id"]
    assert_problem(api.delete(f"/customers/{jo['id']}/identities/{kims_identity}"), 404, "not_found")
    assert api.delete(f"/customers/{jo['id']}/identities/{added.json()['id']}").status_code == 204
    assert api.get(f"/customers/{jo['id']}").json()["identities"] == []
    assert Identity.objects.filter(pk=kims_identity).exists()


def test_merge_is_idempotent_and_old_id_leads_to_the_survivor(desk):
    api = api_as(desk.agent)
    jo = api.post("/customers", {"name": "Jo", "identities": [{"kind": "email", "value": "jo@example.com"}]}).json()
    dup = api.post("/customers", {"identities": [{"kind": "phone", "value": "+442079460958"}],
                                  "custom_attributes": {"plan": "gold"}}).json()
    merged = api.post(f"/customers/{jo['id']}/merge", {"source_id": dup["id"]})
    assert merged.status_code == 200, merged.content
    assert {i["kind"] for i in merged.json()["identities"]} == {"email", "phone"}
    assert merged.json()["custom_attributes"] == {"plan": "gold"}
    before = snapshot()
    assert api.post(f"/customers/{jo['id']}/merge", {"source_id": dup["id"]}).json()["id"] == jo["id"]
    assert snapshot() == before
    assert api.get(f"/customers/{dup['id']}").json()["id"] == jo["id"]
    assert dup["id"] not in {c["id"] for c in api.get("/customers").json()["items"]}


def test_merge_refusals(desk):
    api = api_as(desk.agent)
    jo, kim, lee = (api.post("/customers", {"name": n}).json()["id"] for n in ("Jo", "Kim", "Lee"))
    before = snapshot()
    assert_problem(api.post(f"/customers/{jo}/merge", {"source_id": jo}), 422, "merge_into_self")
    assert snapshot() == before
    api.post(f"/customers/{jo}/merge", {"source_id": kim})
    before = snapshot()
    assert_problem(api.post(f"/customers/{lee}/merge", {"source_id": kim}), 409, "already_merged")
    assert_problem(api.post(f"/customers/{kim}/merge", {"source_id": lee}), 409, "already_merged")
    assert snapshot() == before


def test_search_customers_by_name_and_identity(desk, other_desk):
    create_customer(workspace_id=desk.id, name="Jo Bloggs", identities=[("email", "jo@example.com")])
    create_customer(workspace_id=desk.id, name="Kim", identities=[("phone", "+442079460958")])
    create_customer(workspace_id=other_desk.id, name="Jo Other", identities=[("email", "jo@other.com")])
    api = api_as(desk.agent)
    assert [c["name"] for c in api.get("/search/customers", q="jo").json()["items"]] == ["Jo Bloggs"]
    assert [c["name"] for c in api.get("/customers", q="7946").json()["items"]] == ["Kim"]
    assert_problem(api.get("/search/customers"), 422, "validation_failed")


def _conversation_with_messages(desk, customer_email: str, n: int):
    message, _ = receive_message(workspace_id=desk.id, channel="email", content=Content(text="Hello"),
                                 sender=("email", customer_email))
    for i in range(n):
        reply(actor=desk.agent_actor, conversation=message.conversation, content=Content(text=f"Reply {i}"))
    return message.conversation


def test_timeline_pages_back_in_time(desk):
    conversation = _conversation_with_messages(desk, "jo@example.com", 6)
    api = api_as(desk.agent)
    url = f"/customers/{conversation.customer_id}/timeline"
    first = api.get(url, limit=4).json()
    assert [e["kind"] for e in first["items"]] == ["message.outgoing"] * 4
    assert first["next_before"] == first["items"][-1]["at"]
    rest = api.get(url, limit=50, before=first["next_before"]).json()
    assert rest["next_before"] is None
    assert {e["kind"] for e in rest["items"]} == {"message.outgoing", "message.incoming", "conversation.opened"}
    assert all(e["at"] < first["next_before"] for e in rest["items"])
    assert_problem(api.get(url, before="2026-01-01T10:00:00"), 422)  # a time without a zone is ambiguous


def test_timeline_query_count_does_not_grow_with_history(desk):
    small = _conversation_with_messages(desk, "few@example.com", 2)
    big = _conversation_with_messages(desk, "many@example.com", 30)
    Conversation.objects.filter(pk=big.pk).update(created_at=now() - timedelta(days=1))
    api = api_as(desk.agent)
    api.get("/me")  # authentication stamps the token once a minute; keep that out of the count
    counts = []
    for conversation in (small, big):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/customers/{conversation.customer_id}/timeline").status_code == 200
        counts.append(len(queries))
    # token, customer, then the conversations source: its conversations and its messages (with authors);
    # the calls source: its calls (none here, so no legs to fetch); the commerce source: orders and parcels
    # in one query.
    assert counts == [6, 6]


def test_customer_list_query_count_does_not_grow_with_rows(desk):
    api = api_as(desk.agent)
    api.get("/me")
    counts = []
    for extra in (2, 25):
        for n in range(extra):
            create_customer(workspace_id=desk.id, name=f"C{extra}-{n}", identities=[("email", f"c{extra}-{n}@example.com")])
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/customers", limit=100).status_code == 200
        counts.append(len(queries))
    assert counts == [3, 3]  # token, customers, their identities
    assert Customer.objects.count() == 27
