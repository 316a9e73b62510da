import pytest

from tests.conftest import join
from touchpoint.accounts import services
from touchpoint.accounts.models import Membership
from touchpoint.accounts.selectors import actor_for
from touchpoint.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from touchpoint.core.permissions import Role


def test_agent_cannot_do_admin_work(desk):
    with pytest.raises(PermissionDenied):
        services.invite_member(actor=desk.agent_actor, email="x@acme.test", display_name="X", site="http://testserver")
    with pytest.raises(PermissionDenied):
        services.issue_token(actor=desk.agent_actor, name="t", role=Role.AGENT)
    with pytest.raises(PermissionDenied):
        services.set_role(actor=desk.agent_actor, membership=desk.agent, role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        services.create_team(actor=desk.agent_actor, name="Sneaky")
    desk.agent.refresh_from_db()
    assert desk.agent.role == Role.AGENT


def test_token_is_shown_once_stored_hashed_and_capped_by_issuer(desk):
    token, key = services.issue_token(actor=desk.admin_actor, name="crm", role=Role.ADMIN)
    assert key.startswith("tp_") and key not in (token.key_hash, token.prefix)
    assert services.authenticate_token(key).pk == token.pk
    assert services.authenticate_token(key + "x") is None
    # An admin demoted to agent: their admin token now acts as an agent.
    services.set_role(actor=desk.admin_actor, membership=desk.supervisor, role=Role.ADMIN)
    services.set_role(actor=desk.admin_actor, membership=desk.admin, role=Role.AGENT)
    desk.admin.refresh_from_db()
    assert actor_for(desk.admin, token=token).role == Role.AGENT
    services.revoke_token(actor=actor_for(desk.supervisor), token=token)
    assert services.authenticate_token(key) is None


def test_last_admin_cannot_be_demoted(desk):
    with pytest.raises(Conflict):
        services.set_role(actor=desk.admin_actor, membership=desk.admin, role=Role.AGENT)


def test_cross_workspace_changes_are_refused(desk, other_desk):
    with pytest.raises(NotFound):
        services.set_role(actor=desk.admin_actor, membership=other_desk.agent, role=Role.ADMIN)
    team = services.create_team(actor=desk.admin_actor, name="Orders")
    with pytest.raises(NotFound):
        services.set_team_members(actor=desk.admin_actor, team=team, members=[other_desk.agent])
    other_token, _ = services.issue_token(actor=other_desk.admin_actor, name="t", role=Role.AGENT)
    with pytest.raises(NotFound):
        services.revoke_token(actor=desk.admin_actor, token=other_token)


def test_skills_proficiency_is_1_to_5(desk):
    skill = services.create_skill(actor=desk.supervisor_actor, name="Returns")
    with pytest.raises(ValidationFailed):
        services.set_agent_skill(actor=desk.supervisor_actor, membership=desk.agent, skill=skill, proficiency=6)
    services.set_agent_skill(actor=desk.supervisor_actor, membership=desk.agent, skill=skill, proficiency=4)
    services.set_agent_skill(actor=desk.supervisor_actor, membership=desk.agent, skill=skill, proficiency=5)
    assert list(desk.agent.skills.values_list("proficiency", flat=True)) == [5]


def test_workspace_settings_are_validated(desk):
    with pytest.raises(ValidationFailed):
        services.update_workspace_settings(actor=desk.admin_actor, workspace=desk.workspace, timezone="Mars/Base")
    with pytest.raises(ValidationFailed):
        services.update_workspace_settings(actor=desk.admin_actor, workspace=desk.workspace,
                                           business_hours={"mon": [["17:00", "09:00"]]})
    services.update_workspace_settings(actor=desk.admin_actor, workspace=desk.workspace, timezone="Europe/Paris",
                                       business_hours={"sat": [["10:00", "14:00"]]})
    desk.workspace.refresh_from_db()
    assert desk.workspace.timezone == "Europe/Paris"


def test_one_user_in_two_workspaces(desk, other_desk):
    join(other_desk.admin_actor, email=desk.agent.user.email, display_name="Ana at Globex")
    assert Membership.objects.filter(user=desk.agent.user).count() == 2
