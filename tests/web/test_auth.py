"""Signing in and out, lockout, CSRF, sessions and the workspace switcher."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from tests.conftest import join
from touchpoint.conversations.models import Message
from touchpoint.core.api import SESSION_WORKSPACE_KEY
from touchpoint.core.permissions import Role

from .conftest import signed_in


def sign_in(client: Client, email: str, password: str, **extra):
    return client.post("/login/", {"email": email, "password": password, **extra})


def test_login_page_renders_with_csrf_token(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/conversations/3/?view=mine")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/conversations/3/%3Fview%3Dmine"


def test_anonymous_htmx_request_redirects_the_whole_page(client, db):
    response = client.get("/inbox/nav/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/login/")


def test_login_with_email_and_password_opens_the_inbox(client, desk):
    response = sign_in(client, "ANA@acme.test", "agent-pass-1", next="/search/?q=x")
    assert response.status_code == 302
    assert response["Location"] == "/search/?q=x"
    inbox = client.get("/")
    assert inbox.status_code == 200
    assert client.session[SESSION_WORKSPACE_KEY] == desk.id
    # The session lasts a working day at most (SESSION_COOKIE_AGE), not forever.
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE


def test_login_refuses_a_foreign_next_url(client, desk):
    response = sign_in(client, "ana@acme.test", "agent-pass-1", next="https://evil.example/")
    assert response["Location"] == "/"


def test_wrong_password_is_refused_and_counted(client, desk):
    response = sign_in(client, "ana@acme.test", "wrong")
    assert response.status_code == 401
    assert b"Wrong email or password." in response.content
    attempt = AccessAttempt.objects.get(username="ana@acme.test")
    assert (attempt.ip_address, attempt.failures_since_start) == ("127.0.0.1", 1)
    assert "wrong" not in attempt.post_data  # the password tried is never kept
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_here_even_for_the_right_password(client, desk, settings):
    settings.LOGIN_LOCKOUT_FAILURES = 3
    settings.LOGIN_LOCKOUT_WINDOW_S = 600
    for _ in range(2):
        assert sign_in(client, "ana@acme.test", "wrong").status_code == 401
    third = sign_in(client, "ana@acme.test", "wrong")
    assert third.status_code == 429
    assert "locked for 10 minutes" in third.content.decode()
    right = sign_in(client, "ana@acme.test", "agent-pass-1")
    assert right.status_code == 429
    assert "locked for 10 minutes" in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_successful_login_clears_earlier_failures(client, desk):
    sign_in(client, "ana@acme.test", "wrong")
    sign_in(client, "ana@acme.test", "agent-pass-1")
    assert not AccessAttempt.objects.filter(username="ana@acme.test").exists()


def test_logout_needs_post_and_ends_the_session(desk):
    client = signed_in(desk.agent)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_rejected(desk):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"email": "ana@acme.test", "password": "agent-pass-1"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_posting_without_csrf_token_is_rejected_and_changes_nothing(desk, conversation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.agent.user)
    before = Message.objects.count()
    response = client.post(f"/conversations/{conversation.pk}/messages/", {"kind": "reply", "text": "hi"})
    assert response.status_code == 403
    assert Message.objects.count() == before


def test_posting_with_the_csrf_token_works(desk, conversation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.agent.user)
    page = client.get(f"/conversations/{conversation.pk}/")
    token = page.context["csrf_token"]
    response = client.post(f"/conversations/{conversation.pk}/messages/", {"kind": "reply", "text": "hi"},
                           HTTP_X_CSRFTOKEN=str(token))
    assert response.status_code == 302


def test_a_person_in_two_workspaces_switches_between_them(desk, other_desk):
    join(other_desk.admin_actor, email="ana@acme.test", display_name="Ana at Globex", role=Role.AGENT)
    client = signed_in(desk.agent)
    page = client.get("/")
    assert b'id="workspace-select"' in page.content
    first = client.session[SESSION_WORKSPACE_KEY]
    target = other_desk.id if first == desk.id else desk.id
    assert client.post("/workspace/", {"workspace": target}).status_code == 302
    assert client.session[SESSION_WORKSPACE_KEY] == target
    assert client.get("/").context["request"].actor.workspace_id == target


def test_switching_to_a_workspace_one_is_not_in_is_404(desk, other_desk):
    client = signed_in(desk.agent)
    client.get("/")
    response = client.post("/workspace/", {"workspace": other_desk.id})
    assert response.status_code == 404
    assert client.session[SESSION_WORKSPACE_KEY] == desk.id


def test_a_session_pointing_at_a_workspace_left_since_falls_back_to_a_current_one(desk, other_desk):
    client = signed_in(desk.agent)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = other_desk.id  # e.g. a stale session
    session.save()
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["request"].actor.workspace_id == desk.id


@pytest.mark.parametrize("path", ["/", "/search/?q=x", "/login/"])
def test_every_page_carries_a_strict_content_security_policy(desk, path):
    response = signed_in(desk.agent).get(path, follow=True)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_pages_have_no_inline_script_or_style(desk, conversation):
    html = signed_in(desk.agent).get(f"/conversations/{conversation.pk}/").content.decode()
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert " onclick=" not in html and " onload=" not in html
