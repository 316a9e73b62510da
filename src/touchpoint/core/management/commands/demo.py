import os

from django.core.management.base import BaseCommand

from touchpoint import demo


class Command(BaseCommand):
    help = "Load the demo store workspace (Northwind Outfitters); --reset rebuilds it. Other workspaces are untouched."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reset", action="store_true", help="delete the demo workspace's data and load it again")
        parser.add_argument("--customers", type=int, default=demo.DEFAULT_CUSTOMERS, help="how many customers to make")
        parser.add_argument("--conversations", type=int, default=demo.DEFAULT_CONVERSATIONS,
                            help="how many conversations to make")

    def handle(self, *args, reset: bool, customers: int, conversations: int, **options) -> None:
        if not reset and demo.demo_workspace() is None:
            self.stdout.write(f"Loading the demo workspace “{demo.DEMO_NAME}”…")
        summary = demo.load_demo(customers=customers, conversations=conversations, reset=reset)
        if summary.created:
            self.stdout.write(self.style.SUCCESS(
                f"Loaded “{summary.workspace.name}” in {summary.seconds:.1f} s: {summary.customers:,} customers, "
                f"{summary.conversations:,} conversations, {summary.messages:,} messages."
            ))
        else:
            self.stdout.write(f"The demo workspace “{summary.workspace.name}” exists already; nothing changed "
                              f"(`touchpoint demo --reset` rebuilds it).")
        # `touchpoint serve` listens on $PORT when set, so the printed address follows it.
        url = demo.DEMO_URL.replace(":8000", f":{os.environ['PORT']}") if os.environ.get("PORT") else demo.DEMO_URL
        self.stdout.write(f"\nOpen {url} and sign in as:")
        for role, email, password in demo.logins():
            self.stdout.write(f"  {role:<11} {email:<26} {password}")
        self.stdout.write(f"  (every agent, e.g. {', '.join(p.email for p in demo.AGENTS[1:3])}, "
                          f"uses the password {demo.AGENT_PASSWORD})")
