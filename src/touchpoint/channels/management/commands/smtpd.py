import asyncio
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from touchpoint.channels.email.smtpd import serve
from touchpoint.core.runtime import quieten_garbage_collector


class Command(BaseCommand):
    help = "Receive mail over SMTP for the workspaces' email accounts (run behind the domain's MX or a relay)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=settings.SMTPD_HOST, help="address to listen on (default %(default)s)")
        parser.add_argument("--port", type=int, default=settings.SMTPD_PORT, help="port (default %(default)s)")
        parser.add_argument("--threads", type=int, default=4, help="database threads per process (default %(default)s)")
        parser.add_argument("--processes", type=int, default=1,
                            help="server processes sharing the port, about one core each (default %(default)s)")
        parser.add_argument("--reuse-port", action="store_true",
                            help="share the port with other smtpd processes started separately")

    def handle(self, *args, host: str, port: int, threads: int, processes: int, reuse_port: bool, **options) -> None:
        siblings = [
            subprocess.Popen([sys.executable, "-m", "touchpoint.cli", "smtpd", "--host", host, "--port", str(port),
                              "--threads", str(threads), "--reuse-port"])
            for _ in range(processes - 1)
        ]

        def ready() -> None:
            self.stdout.write(f"SMTP server listening on {host}:{port}"
                              + (f" ({processes} processes)" if processes > 1 else ""))
            self.stdout.flush()

        quieten_garbage_collector()
        try:
            asyncio.run(serve(host, port, threads=threads, reuse_port=reuse_port or processes > 1, on_ready=ready))
        finally:
            for sibling in siblings:
                sibling.terminate()
            for sibling in siblings:
                sibling.wait()
