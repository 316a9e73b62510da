from django.core.management.base import BaseCommand

from touchpoint.channels.email.imap import poll_mailboxes


class Command(BaseCommand):
    help = "Fetch new mail from every email account with an IMAP mailbox (the worker does this every minute)."

    def handle(self, *args, **options) -> None:
        for account, result in poll_mailboxes():
            self.stdout.write(f"{account.address}: {result}")
