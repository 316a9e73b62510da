from django.core.management.base import BaseCommand, CommandError

from touchpoint.accounts.models import Membership, Team, Workspace
from touchpoint.accounts.selectors import actor_for
from touchpoint.channels.webchat.services import create_widget
from touchpoint.core.errors import DomainError
from touchpoint.core.permissions import Role


class Command(BaseCommand):
    help = ("Add a chat widget to a workspace and print the snippet for the website, and once, the secret "
            "its server uses to sign signed-in users (identity verification).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("workspace", help="the workspace's slug")
        parser.add_argument("--name", required=True, help="which website it is on, e.g. 'Shop'")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="where Touchpoint is served (for the snippet)")
        parser.add_argument("--prechat", action="store_true", help="ask for name, email and topic before the chat")
        parser.add_argument("--topic", action="append", default=[], metavar="TOPIC=TEAM",
                            help="a pre-chat topic and the team that takes it, e.g. --topic Orders=Orders")
        parser.add_argument("--origin", action="append", default=[], metavar="URL",
                            help="only on this site, e.g. https://shop.example.com (repeat for more; default: any)")
        parser.add_argument("--always-online", action="store_true", help="never show the away form")

    def handle(self, *args, workspace: str, name: str, url: str, prechat: bool, topic: list[str], origin: list[str],
               always_online: bool, **options) -> None:
        found = Workspace.objects.filter(slug=workspace).first()
        if found is None:
            raise CommandError(f"No workspace {workspace!r}; `touchpoint createworkspace` makes one.")
        admin = Membership.objects.filter(workspace=found, role=Role.ADMIN, is_active=True).order_by("pk").first()
        if admin is None:
            raise CommandError(f"Workspace {workspace!r} has no active admin to act as.")
        config: dict = {"prechat": prechat, "topics": self._topics(found, topic), "allowed_origins": origin}
        if always_online:
            config["always_online"] = True
        try:
            widget = create_widget(actor=actor_for(admin), name=name, config=config)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(f"Created the widget “{widget.name}” for {found.name}."))
        self.stdout.write("\nPaste this before </body> on every page of the site:\n")
        self.stdout.write(f'  <script src="{url.rstrip("/")}/widget/v1/{widget.address}.js" async></script>\n')
        self.stdout.write("Identity verification secret (shown once; keep it on the site's server):\n")
        self.stdout.write(f"  {widget.secret}\n")
        self.stdout.write('user_hash = HMAC-SHA256(secret, user_id) as hex; to have the email trusted too, over '
                          'user_id + "\\n" + email. See "Identity verification" in the README.')

    def _topics(self, workspace: Workspace, pairs: list[str]) -> dict[str, int]:
        topics = {}
        for pair in pairs:
            topic, _, team_name = pair.partition("=")
            team = Team.objects.filter(workspace=workspace, name=team_name.strip()).first()
            if not topic.strip() or team is None:
                raise CommandError(f"--topic {pair!r}: write TOPIC=TEAM with the name of one of the workspace's teams.")
            topics[topic.strip()] = team.pk
        return topics
