"""Joining a workspace is an invitation the person accepts: the mail (through a real SMTP relay), the
link's life (resend, revoke, expiry), who may accept and how, and tenancy and roles."""

from datetime import timedelta

import pytest
from django.core import mail

from tests.channels.email.conftest import sink  # noqa: F401  (the SMTP relay fixture)
from tests.conftest import INVITATION_LINK, invitation_token, join
from touchpoint.accounts import services
from touchpoint.accounts.errors import InvitationClosed
from touchpoint.accounts.models import Invitation, Membership, User
from touchpoint.channels.models import ChannelAccount
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from touchpoint.core.permissions import Role

SITE = "https://desk.example.com"


def invite(desk, email="kim@example.com", role=Role.AGENT, **kwargs) -> Invitation:
    return services.invite_member(actor=desk.admin_actor, email=email, display_name="Kim", role=role, site=SITE,
                                  **kwargs)


def test_the_link_goes_out_through_the_workspaces_own_relay(desk, sink, settings):  # noqa: F811
    ChannelAccount.objects.create(workspace_id=desk.id, kind="email", name="Support", address="support@acme.test",
                                  config={"smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"}})
    settings.EMAIL_PORT = 9  # the server's own relay is not there: only the workspace's can have taken it
    invitation = invite(desk, "Kim@Example.com", Role.SUPERVISOR)
    assert (invitation.email, invitation.send_error) == ("kim@example.com", "")
    assert invitation.sent_at is not None
    (envelope_from, recipients, message), = sink.received
    assert recipients == ["kim@example.com"] and envelope_from == "support@acme.test"
    assert message["From"] == "Desk acme <support@acme.test>"
    assert message["Subject"] == "Admin acme invites you to Desk acme on Touchpoint"
    text = message.get_content()
    link = INVITATION_LINK.search(text).group(0)
    assert link.startswith(SITE + "/invitations/")
    assert "as supervisor" in text and "choose your own password" in text


def test_without_an_email_account_the_servers_mail_backend_sends_it(desk, sink, settings):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "Touchpoint <desk@example.com>"
    invite(desk)
    (envelope_from, recipients, message), = sink.received
    assert (envelope_from, recipients) == ("desk@example.com", ["kim@example.com"])
    assert INVITATION_LINK.search(message.get_content())


def test_a_mail_that_does_not_go_out_is_shown_and_can_be_resent(desk, sink):  # noqa: F811
    ChannelAccount.objects.create(workspace_id=desk.id, kind="email", name="Support", address="support@acme.test",
                                  config={"smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"}})
    sink.refuse = "550 5.1.1 No such mailbox"
    invitation = invite(desk)
    assert invitation.sent_at is None and "550" in invitation.send_error
    assert Invitation.objects.get(pk=invitation.pk).send_error == invitation.send_error  # kept: an admin sees it
    sink.refuse = ""
    resent = services.resend_invitation(actor=desk.admin_actor, invitation=invitation, site=SITE)
    assert resent.sent_at is not None and resent.send_error == ""
    assert len(sink.received) == 1


def test_a_newcomer_chooses_a_password_that_passes_the_validators(desk):
    invite(desk)
    token = invitation_token("kim@example.com")
    for weak in ("short", "12345678901", "password123"):
        with pytest.raises(ValidationFailed) as refused:
            services.accept_invitation(token=token, password=weak)
        assert refused.value.field == "password"
    assert not User.objects.filter(email="kim@example.com").exists()
    membership = services.accept_invitation(token=token, password="kims-own-choice")
    assert (membership.workspace_id, membership.role, membership.display_name) == (desk.id, Role.AGENT, "Kim")
    assert membership.user.check_password("kims-own-choice")
    assert membership.user.last_workspace_id == desk.id
    with pytest.raises(InvitationClosed):  # a link opens once
        services.accept_invitation(token=token, password="kims-own-choice")


def test_someone_with_an_account_joins_only_signed_in_as_themselves(desk, other_desk):
    ana = desk.agent.user
    services.invite_member(actor=other_desk.admin_actor, email=ana.email, display_name="Ana", site=SITE)
    token = invitation_token(ana.email)
    with pytest.raises(PermissionDenied):
        services.accept_invitation(token=token, password="a-new-password-1")  # no password is taken for it
    with pytest.raises(PermissionDenied):
        services.accept_invitation(token=token, user=desk.agent2.user)  # someone else signed in
    ana.refresh_from_db()
    assert ana.check_password("agent-pass-1")
    membership = services.accept_invitation(token=token, user=ana)
    assert membership.workspace_id == other_desk.id and membership.user_id == ana.pk


def test_a_newcomers_link_refuses_whoever_else_is_signed_in(desk):
    invite(desk)
    with pytest.raises(PermissionDenied):
        services.accept_invitation(token=invitation_token("kim@example.com"), user=desk.agent.user,
                                   password="kims-own-choice")
    assert not User.objects.filter(email="kim@example.com").exists()


def test_an_expired_link_is_closed_until_re_invited(desk):
    invitation = invite(desk)
    token = invitation_token("kim@example.com")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=now() - timedelta(seconds=1))
    with pytest.raises(InvitationClosed, match="expired"):
        services.accept_invitation(token=token, password="kims-own-choice")
    invitation.refresh_from_db()
    assert invitation.status == "expired"
    with pytest.raises(Conflict):  # still the open invitation: re-invite it rather than add a second
        invite(desk)
    services.resend_invitation(actor=desk.admin_actor, invitation=invitation, site=SITE)
    with pytest.raises(NotFound):
        services.open_invitation(token)
    services.accept_invitation(token=invitation_token("kim@example.com"), password="kims-own-choice")


def test_the_expiry_is_a_setting(desk, settings):
    settings.INVITATION_TTL_S = 3600
    invitation = invite(desk)
    assert timedelta(minutes=59) < invitation.expires_at - now() <= timedelta(hours=1)


def test_a_revoked_link_opens_nothing(desk):
    invitation = invite(desk)
    services.revoke_invitation(actor=desk.admin_actor, invitation=invitation)
    with pytest.raises(InvitationClosed, match="withdrawn"):
        services.accept_invitation(token=invitation_token("kim@example.com"), password="kims-own-choice")
    with pytest.raises(NotFound):
        services.open_invitation("not-a-token")


def test_only_an_admin_invites_resends_or_revokes(desk):
    invitation = invite(desk)
    for actor in (desk.agent_actor, desk.supervisor_actor):
        with pytest.raises(PermissionDenied):
            services.invite_member(actor=actor, email="x@example.com", display_name="X", site=SITE)
        with pytest.raises(PermissionDenied):
            services.resend_invitation(actor=actor, invitation=invitation, site=SITE)
        with pytest.raises(PermissionDenied):
            services.revoke_invitation(actor=actor, invitation=invitation)
    assert Invitation.objects.get(pk=invitation.pk).status == "pending"
    assert not Invitation.objects.filter(email="x@example.com").exists()


def test_one_workspace_cannot_touch_anothers_invitations(desk, other_desk):
    theirs = invite(other_desk)
    with pytest.raises(NotFound):
        services.resend_invitation(actor=desk.admin_actor, invitation=theirs, site=SITE)
    with pytest.raises(NotFound):
        services.revoke_invitation(actor=desk.admin_actor, invitation=theirs)
    assert Invitation.objects.get(pk=theirs.pk).status == "pending"


def test_bad_addresses_and_members_are_refused(desk):
    with pytest.raises(ValidationFailed):
        invite(desk, "not-an-address")
    with pytest.raises(Conflict, match="member of this workspace already"):
        invite(desk, desk.agent.user.email.upper())
    assert not mail.outbox or all("not-an-address" not in m.to for m in mail.outbox)


def test_join_helper_is_the_real_path(desk):
    membership = join(desk.admin_actor, email="lee@example.com", display_name="Lee", password="lees-own-choice")
    assert Membership.objects.get(pk=membership.pk).user.check_password("lees-own-choice")
    assert Invitation.objects.get(email="lee@example.com").accepted_by_id == membership.user_id
