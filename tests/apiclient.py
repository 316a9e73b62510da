"""Helpers for the API tests: a client that speaks JSON with a bearer token, and a snapshot of every row."""

import json
from typing import Any

from django.apps import apps
from django.test import Client

from touchpoint.accounts.models import Membership
from touchpoint.accounts.services import issue_token
from touchpoint.core.permissions import Actor, Role

PREFIX = "/api/v1"
_APPS = ("accounts", "core", "customers", "conversations")
_VOLATILE = {"last_used_at"}  # written by authentication itself, at most once a minute


class Api:
    """Calls /api/v1 as one person through an API token (or through `client` as given)."""

    def __init__(self, key: str | None = None, client: Client | None = None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = client or Client(headers=headers)

    def call(self, method: str, path: str, body: Any = None, *, raw: str | bytes | None = None, **query: Any):
        url = PREFIX + path
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs: dict[str, Any] = {}
        if method == "GET":
            return self.client.get(url, query)
        if data is not None:
            kwargs = {"data": data, "content_type": "application/json"}
        return getattr(self.client, method.lower())(url, **kwargs)

    def get(self, path: str, **query: Any):
        return self.call("GET", path, **query)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.call("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any):
        return self.call("PATCH", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any):
        return self.call("PUT", path, body, **kw)

    def delete(self, path: str):
        return self.call("DELETE", path)


def token_for(membership: Membership, role: Role | None = None) -> str:
    """An API token acting for `membership` (issued as an admin of its workspace would)."""
    issuer = Actor(workspace_id=membership.workspace_id, membership_id=membership.pk, role=Role.ADMIN)
    _, key = issue_token(actor=issuer, name=f"test {membership.display_name}", role=role or membership.role_enum)
    return key


def api_as(membership: Membership, role: Role | None = None) -> Api:
    return Api(token_for(membership, role))


def snapshot() -> dict[str, list[tuple]]:
    """Every row of Touchpoint's tables, to show a refused request changed nothing."""
    state: dict[str, list[tuple]] = {}
    for label in _APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            fields = [f.attname for f in model._meta.concrete_fields if f.attname not in _VOLATILE]
            state[model._meta.label] = sorted(model._base_manager.values_list(*fields), key=repr)
    return state


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """The response is an RFC 9457 problem with this status (and code), and says what to do."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    assert body["detail"] and body["title"] and body["type"].startswith("urn:touchpoint:problem:")
    if code is not None:
        assert body["code"] == code, body
    return body


def populate(desk: Any) -> dict[str, int]:
    """One of everything the API addresses by id, made through the services; returns their ids."""
    from touchpoint.accounts import services as accounts
    from touchpoint.conversations.services import Content, receive_message
    from touchpoint.customers.services import create_customer

    message, _ = receive_message(workspace_id=desk.id, channel="email", content=Content(text="Where is my order?"),
                                 sender=("email", f"jo@{desk.workspace.slug}.test"), sender_name="Jo")
    customer = message.conversation.customer
    team = accounts.create_team(actor=desk.supervisor_actor, name="Billing")
    skill = accounts.create_skill(actor=desk.supervisor_actor, name="French")
    token, _ = accounts.issue_token(actor=desk.admin_actor, name="Helpdesk sync", role=Role.AGENT)
    duplicate = create_customer(workspace_id=desk.id, name="Jo (duplicate)", identities=[("phone", "+442079460958")])
    invitation = accounts.invite_member(actor=desk.admin_actor, email=f"kim@{desk.workspace.slug}.test", display_name="Kim",
                                        site="http://testserver")
    return {
        "user": desk.agent.pk, "team": team.pk, "skill": skill.pk, "token": token.pk, "customer": customer.pk,
        "identity": customer.identities.get().pk, "conversation": message.conversation_id, "duplicate": duplicate.pk,
        "message": message.pk, "invitation": invitation.pk,
    }
