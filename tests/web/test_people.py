"""Settings → People (invite, resend, revoke, deactivate, reactivate) and the page an invitation's link opens."""

import pytest
from django.test import Client

from tests.conftest import invitation_link
from touchpoint.accounts import services as accounts
from touchpoint.accounts.models import Invitation, Membership
from touchpoint.core.api import SESSION_WORKSPACE_KEY

from .conftest import signed_in


def invite(desk, email="kim@example.com", role="agent"):
    return signed_in(desk.admin).post("/settings/users/", {"email": email, "display_name": "Kim", "role": role})


def test_the_people_page_lists_members_and_open_invitations(desk):
    invite(desk)
    html = signed_in(desk.admin).get("/settings/users/").content.decode()
    assert "kim@example.com" in html and "Pending, until" in html and ">Resend<" in html and ">Revoke<" in html
    assert "ana@acme.test" in html and ">Deactivate<" in html
    assert 'name="password"' not in html  # nobody sets a password here


def test_an_invitation_that_could_not_be_mailed_says_so_where_the_admin_looks(desk, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    response = invite(desk)
    assert response.status_code == 200
    html = response.content.decode()
    assert "saved, but its mail did not go out" in html and "Mail not sent:" in html
    assert Invitation.objects.get(email="kim@example.com").send_error


def test_resend_and_revoke_from_the_page(desk):
    invite(desk)
    invitation = Invitation.objects.get(email="kim@example.com")
    first = invitation_link("kim@example.com")
    client = signed_in(desk.admin)
    response = client.post(f"/settings/invitations/{invitation.pk}/resend/")
    assert response.status_code == 200 and b"the earlier one no longer works" in response.content
    assert invitation_link("kim@example.com") != first
    assert client.post(f"/settings/invitations/{invitation.pk}/revoke/").status_code == 302
    assert Invitation.objects.get(pk=invitation.pk).status == "revoked"
    assert b"kim@example.com" not in client.get("/settings/users/").content


def test_deactivate_and_reactivate_from_the_page(desk):
    client = signed_in(desk.admin)
    assert client.post(f"/settings/users/{desk.agent.pk}/access/", {"is_active": "0"}).status_code == 302
    assert not Membership.objects.get(pk=desk.agent.pk).is_active
    assert signed_in(desk.agent).get("/").status_code == 403  # nothing left to work in
    assert ">Reactivate<" in client.get("/settings/users/").content.decode()
    assert client.post(f"/settings/users/{desk.agent.pk}/access/", {"is_active": "1"}).status_code == 302
    assert Membership.objects.get(pk=desk.agent.pk).is_active


def test_the_last_admin_cannot_be_deactivated(desk):
    response = signed_in(desk.admin).post(f"/settings/users/{desk.admin.pk}/access/", {"is_active": "0"})
    assert response.status_code == 409 and b"at least one active admin" in response.content
    assert Membership.objects.get(pk=desk.admin.pk).is_active


@pytest.mark.parametrize("who", ["agent", "supervisor"])
def test_only_admins_invite_resend_revoke_or_deactivate(desk, who):
    invite(desk)
    invitation = Invitation.objects.get(email="kim@example.com")
    client = signed_in(getattr(desk, who))
    assert client.post("/settings/users/", {"email": "x@example.com", "display_name": "X", "role": "admin"}).status_code == 403
    assert client.post(f"/settings/invitations/{invitation.pk}/resend/").status_code == 403
    assert client.post(f"/settings/invitations/{invitation.pk}/revoke/").status_code == 403
    assert client.post(f"/settings/users/{desk.agent2.pk}/access/", {"is_active": "0"}).status_code == 403
    assert Invitation.objects.get(pk=invitation.pk).status == "pending"
    assert not Invitation.objects.filter(email="x@example.com").exists()
    assert Membership.objects.get(pk=desk.agent2.pk).is_active


def test_another_workspaces_invitations_and_people_are_404(desk, other_desk):
    invite(other_desk)
    theirs = Invitation.objects.get(email="kim@example.com")
    client = signed_in(desk.admin)
    assert client.post(f"/settings/invitations/{theirs.pk}/resend/").status_code == 404
    assert client.post(f"/settings/invitations/{theirs.pk}/revoke/").status_code == 404
    assert client.post(f"/settings/users/{other_desk.agent.pk}/access/", {"is_active": "0"}).status_code == 404
    assert Invitation.objects.get(pk=theirs.pk).status == "pending"
    assert Membership.objects.get(pk=other_desk.agent.pk).is_active


# ---- the invitation page -------------------------------------------------------------------------


def test_a_newcomer_chooses_a_password_and_lands_in_the_workspace(desk, other_desk):
    invite(desk)
    link = invitation_link("kim@example.com")
    client = Client()
    page = client.get(link).content.decode()
    assert "invites you to join <strong>Desk acme</strong> as agent" in page and "Choose a password" in page
    differ = client.post(link, {"password": "kims-own-choice", "password_again": "kims-own-choicE"})
    assert differ.status_code == 422 and b"The two passwords differ" in differ.content
    weak = client.post(link, {"password": "12345678", "password_again": "12345678"})
    assert weak.status_code == 422 and b"entirely numeric" in weak.content
    assert not Membership.objects.filter(user__email="kim@example.com").exists()
    assert client.post(link, {"password": "kims-own-choice", "password_again": "kims-own-choice"})["Location"] == "/"
    assert client.session[SESSION_WORKSPACE_KEY] == desk.id
    assert client.get("/").context["request"].actor.workspace_id == desk.id
    again = Client().get(link)
    assert again.status_code == 410 and b"accepted already" in again.content


def test_a_person_with_an_account_is_asked_to_sign_in_and_then_accepts(desk, other_desk):
    invite(other_desk, email=desk.agent.user.email)
    link = invitation_link(desk.agent.user.email)
    page = Client().get(link).content.decode()
    assert "has a Touchpoint account" in page and f"/login/?next={link.split('testserver')[1]}" in page
    assert 'name="password"' not in page
    client = signed_in(desk.agent)
    page = client.get(link).content.decode()
    assert "Join Desk globex" in page
    assert client.post(link)["Location"] == "/"
    assert client.get("/").context["request"].actor.workspace_id == other_desk.id


def test_someone_else_signed_in_is_told_to_sign_out_first(desk):
    invite(desk)
    link = invitation_link("kim@example.com")
    client = signed_in(desk.agent2)
    page = client.get(link).content.decode()
    assert "You are signed in as <strong>ben@acme.test</strong>" in page
    refused = client.post(link, {"password": "kims-own-choice", "password_again": "kims-own-choice"})
    assert refused.status_code == 403
    assert not Membership.objects.filter(user__email="kim@example.com").exists()
    # Sign out returns to the invitation, never to another site.
    path = link.split("testserver")[1]
    assert client.post("/logout/", {"next": path})["Location"] == path
    assert signed_in(desk.agent2).post("/logout/", {"next": "https://evil.example/"})["Location"] == "/login/"


def test_a_wrong_or_withdrawn_link_says_what_to_do(desk):
    assert b"not valid" in Client().get("/invitations/made-up-token/").content
    invite(desk)
    accounts.revoke_invitation(actor=desk.admin_actor, invitation=Invitation.objects.get(email="kim@example.com"))
    response = Client().get(invitation_link("kim@example.com"))
    assert response.status_code == 410 and b"withdrawn" in response.content
