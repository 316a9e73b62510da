import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from touchpoint.channels.email.smtpd import make_controller


class Command(BaseCommand):
    help = "Receive mail over SMTP for the workspaces' email accounts (run behind the domain's MX or a relay)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=settings.SMTPD_HOST, help="address to listen on (default %(default)s)")
        parser.add_argument("--port", type=int, default=settings.SMTPD_PORT, help="port (default %(default)s)")
        parser.add_argument("--threads", type=int, default=4, help="mails stored at once (default %(default)s)")

    def handle(self, *args, host: str, port: int, threads: int, **options) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        controller = make_controller(host, port, threads=threads)
        controller.start()
        self.stdout.write(f"SMTP server listening on {host}:{port}", ending="\n")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            # Stop taking connections; a mail being stored finishes before the pool shuts down.
            controller.stop()
            controller.handler.pool.shutdown(wait=True)
