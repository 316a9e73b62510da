"""`touchpoint createworkspace`: a workspace and its first admin, or exit code 1 with a one-line reason."""

import io
import sys

import pytest
from django.core.management import call_command

from touchpoint import cli
from touchpoint.accounts.models import Membership, User, Workspace
from touchpoint.core.permissions import Role


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    # A command run from the command line closes every connection when it ends; in a test that
    # connection holds the test's transaction, so it stays open.
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run through the real `touchpoint` entry point; returns (exit code, stdout, stderr)."""
    code = 0
    try:
        cli.main(["createworkspace", *argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_creates_the_workspace_and_its_admin(db):
    out = io.StringIO()
    call_command("createworkspace", "--name", "Acme Support", "--admin-email", "Boss@Acme.test",
                 "--admin-password", "long-enough-1", "--timezone", "Europe/Paris", "--admin-name", "Ada Boss", stdout=out)
    workspace = Workspace.objects.get(slug="acme-support")
    assert (workspace.name, workspace.timezone) == ("Acme Support", "Europe/Paris")
    admin = Membership.objects.get(workspace=workspace)
    assert (admin.role, admin.display_name, admin.user.email) == (Role.ADMIN, "Ada Boss", "boss@acme.test")
    assert admin.user.check_password("long-enough-1")
    assert "acme-support" in out.getvalue() and "boss@acme.test" in out.getvalue()


def test_an_existing_user_becomes_admin_with_their_password_unchanged(db, capsys):
    assert _run(capsys, "--name", "First", "--admin-email", "ops@acme.test", "--admin-password", "first-pass-1")[0] == 0
    code, out, _ = _run(capsys, "--name", "Second", "--admin-email", "ops@acme.test")
    assert code == 0 and "password is unchanged" in out
    user = User.objects.get(email="ops@acme.test")
    assert user.check_password("first-pass-1")
    assert set(user.memberships.values_list("workspace__slug", flat=True)) == {"first", "second"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--name", "Globex", "--admin-email", "x@globex.test", "--admin-password", "long-enough-1"],
         "exists already. Choose another with --slug"),
        (["--name", "New", "--admin-email", "x@new.test", "--admin-password", "long-enough-1", "--timezone", "Mars/Base"],
         "Unknown time zone"),
        (["--name", "New", "--admin-email", "not-an-email", "--admin-password", "long-enough-1"], "not an email address"),
        (["--name", "New", "--admin-email", "x@new.test", "--admin-password", "short"], "at least 8 characters"),
        (["--name", "  ", "--admin-email", "x@new.test", "--admin-password", "long-enough-1"], "--name is empty"),
        (["--name", "!!!", "--admin-email", "x@new.test", "--admin-password", "long-enough-1"], "needs a name"),
        (["--name", "N" * 121, "--admin-email", "x@new.test", "--admin-password", "long-enough-1"], "at most 120"),
        (["--name", "New", "--admin-email", "x@new.test"], "pass --admin-password"),  # no terminal to ask on
    ],
)
def test_bad_input_exits_1_with_one_line_and_creates_nothing(db, capsys, argv, message):
    call_command("createworkspace", "--name", "Globex", "--admin-email", "boss@globex.test",
                 "--admin-password", "long-enough-1", stdout=io.StringIO())
    workspaces, users = Workspace.objects.count(), User.objects.count()
    code, out, err = _run(capsys, *argv)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1
    assert (Workspace.objects.count(), User.objects.count()) == (workspaces, users)


def test_missing_required_option_is_refused(db, capsys):
    code, _, err = _run(capsys, "--name", "New")
    assert code == 2 and "--admin-email" in err
    assert not Workspace.objects.exists()


def test_asks_for_the_password_twice_on_a_terminal(db, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    answers = iter(["typed-pass-1", "typed-pass-1", "typed-pass-2", "typo-pass-2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert _run(capsys, "--name", "Typed", "--admin-email", "t@typed.test")[0] == 0
    assert User.objects.get(email="t@typed.test").check_password("typed-pass-1")
    code, _, err = _run(capsys, "--name", "Typo", "--admin-email", "t2@typo.test")
    assert code == 1 and "passwords differ" in err
    assert not Workspace.objects.filter(slug="typo").exists()
