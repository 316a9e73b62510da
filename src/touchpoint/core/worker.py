"""The task worker and the periodic jobs. `touchpoint worker` runs them in the foreground;
`touchpoint serve` runs them on background threads of the web process (the embedded mode)."""

import logging
import threading
import time
import uuid
from collections.abc import Callable

from django.db import close_old_connections

log = logging.getLogger(__name__)


def _wake_snoozed() -> None:
    from touchpoint.conversations.services import wake_snoozed

    wake_snoozed()


def _prune_live_events() -> None:
    from touchpoint.realtime.services import prune_live_events

    prune_live_events()


def _poll_mailboxes() -> None:
    from touchpoint.channels.email.imap import poll_mailboxes

    poll_mailboxes()


def _route_waiting() -> None:
    from touchpoint.routing.services import route_all_waiting

    route_all_waiting()


def _check_slas() -> None:
    from touchpoint.routing.services import check_slas

    check_slas()


# (every N seconds, job). Each job is idempotent: several workers may run it at once.
PERIODIC: list[tuple[float, Callable[[], None]]] = [
    (30.0, _wake_snoozed), (3600.0, _prune_live_events), (60.0, _poll_mailboxes),
    (5.0, _route_waiting), (15.0, _check_slas),
]


def run_periodic(stop: threading.Event) -> None:
    due = dict.fromkeys(range(len(PERIODIC)), 0.0)
    while not stop.is_set():
        for i, (every, job) in enumerate(PERIODIC):
            if time.monotonic() >= due[i]:
                due[i] = time.monotonic() + every
                close_old_connections()
                try:
                    job()
                except Exception:
                    log.exception("periodic job %s failed", job.__name__)
        stop.wait(1.0)
    close_old_connections()


def make_task_worker(*, interval: float = 1.0):
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"], interval=interval, batch=False, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id=f"touchpoint-{uuid.uuid4().hex[:12]}", excluded_queue_names=[],
    )


def start_background_worker(*, interval: float = 1.0) -> threading.Event:
    """Start the task worker and the periodic jobs on daemon threads; set the returned event to stop them."""
    stop = threading.Event()
    worker = make_task_worker(interval=interval)

    def stop_tasks_when_asked() -> None:
        stop.wait()
        worker.running = False  # the worker finishes its current task and leaves its loop

    threading.Thread(target=worker.run, name="touchpoint-tasks", daemon=True).start()
    threading.Thread(target=stop_tasks_when_asked, name="touchpoint-tasks-stop", daemon=True).start()
    threading.Thread(target=run_periodic, args=(stop,), name="touchpoint-periodic", daemon=True).start()
    return stop
