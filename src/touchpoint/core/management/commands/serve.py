import os
import warnings
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app, the API and the live sockets (uvicorn), with the task worker in-process."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="address to listen on")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)), help="port to listen on")
        parser.add_argument("--no-worker", action="store_true",
                            help="do not run tasks and periodic jobs here (run `touchpoint worker` instead)")

    def handle(self, *args, host: str, port: int, no_worker: bool, **options) -> None:
        import uvicorn

        from touchpoint.core.runtime import quieten_garbage_collector
        from touchpoint.core.worker import start_background_worker

        # WhiteNoise serves from the finders (nothing to collect) and warns when STATIC_ROOT is missing.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        # Files (static, attachments) are read by a thread under ASGI; Django says so on every one.
        warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
        stop = None if no_worker else start_background_worker()
        from touchpoint.demo_outbox import start_demo_outbox

        outbox = start_demo_outbox(host=host, port=port)  # the demo's replies go to a local outbox
        quieten_garbage_collector()
        self.stdout.write(f"Touchpoint on http://{host}:{port}/" + ("" if no_worker else " (with the task worker)"))
        try:
            # Channels' router speaks no lifespan protocol; static files come from WhiteNoise.
            # No per-message compression on the sockets: their frames are a few hundred bytes, and
            # deflating each cost more CPU than anything else a busy widget socket does.
            # X-Forwarded-For and -Proto are believed only from TRUSTED_PROXIES (core.net reads the same list).
            uvicorn.run("touchpoint.asgi:application", host=host, port=port, lifespan="off",
                        log_level=os.environ.get("LOG_LEVEL", "warning").lower(),
                        proxy_headers=bool(settings.TRUSTED_PROXIES),
                        forwarded_allow_ips=",".join(settings.TRUSTED_PROXIES) or None, ws_per_message_deflate=False)
        finally:
            if stop is not None:
                stop.set()
            if outbox is not None:
                outbox.stop()
