import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from touchpoint.accounts.models import User
from touchpoint.accounts.services import create_workspace
from touchpoint.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a workspace with its first admin. Without --admin-password, asks for it (twice)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="the company or desk name, e.g. 'Acme Support'")
        parser.add_argument("--admin-email", required=True, help="the first admin's email (their login)")
        parser.add_argument("--admin-password", help="at least 8 characters; asked for when left out")
        parser.add_argument("--admin-name", default="", help="how the admin is shown to colleagues")
        parser.add_argument("--slug", default="", help="the workspace's short address; made from the name by default")
        parser.add_argument("--timezone", default="UTC", help="an IANA time zone such as Europe/Paris (default UTC)")

    def handle(self, *args, name: str, admin_email: str, admin_password: str | None, admin_name: str, slug: str,
               timezone: str, **options) -> None:
        if not name.strip():
            raise CommandError("--name is empty; give the workspace a name, e.g. --name 'Acme Support'.")
        existing_user = User.objects.filter(email__iexact=admin_email.strip()).exists()
        if admin_password is None and not existing_user:
            admin_password = self._ask_password()
        try:
            workspace, admin = create_workspace(
                name=name.strip(), slug=slug, admin_email=admin_email.strip(), admin_password=admin_password or "",
                admin_name=admin_name, timezone=timezone,
            )
        except DomainError as error:
            hint = " Choose another with --slug." if error.field == "slug" else ""
            raise CommandError(error.message + hint) from None
        self.stdout.write(self.style.SUCCESS(f"Created workspace “{workspace.name}” ({workspace.slug}, {workspace.timezone})."))
        note = " (an existing user: their password is unchanged)" if existing_user else ""
        self.stdout.write(f"Admin: {admin.user.email}{note}")

    def _ask_password(self) -> str:
        # Asked rather than required on the command line, so it stays out of shell history and `ps`.
        if not sys.stdin.isatty():
            raise CommandError("No --admin-password given and no terminal to ask for one; pass --admin-password.")
        password = getpass.getpass("Admin password (8+ characters): ")
        if password != getpass.getpass("Again: "):
            raise CommandError("The two passwords differ; nothing was created.")
        return password
