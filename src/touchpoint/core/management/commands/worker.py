import threading

from django.core.management.base import BaseCommand

from touchpoint.core.worker import make_task_worker, run_periodic


class Command(BaseCommand):
    help = "Run background tasks and periodic jobs (scale-out: run as many as you need)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")

    def handle(self, *args, interval: float, **options) -> None:
        stop = threading.Event()
        threading.Thread(target=run_periodic, args=(stop,), daemon=True).start()
        worker = make_task_worker(interval=interval)
        worker.configure_signals()
        try:
            worker.run()
        finally:
            stop.set()
