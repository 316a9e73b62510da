"""Domain events, published by services after their transaction commits.

Listeners are registered explicitly (each app's `listeners.register()` from `AppConfig.ready`),
never through model signals, so that what runs on a change is readable in one place.
A listener's failure is logged and does not undo the committed change nor stop the other listeners.

Outbox listeners (`subscribe_in_transaction`) run at publish time, inside the service's transaction:
they only write rows (typically enqueue a task with the database task backend), so work that must
never be lost (delivering a reply, a webhook) commits or rolls back together with the change.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from django.db import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    name: ClassVar[str] = "event"
    workspace_id: int


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], None]
_handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)
_outbox_handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def subscribe_in_transaction(event_type: type[E], handler: Callable[[E], None]) -> None:
    if handler not in _outbox_handlers[event_type]:
        _outbox_handlers[event_type].append(handler)


def publish(event: DomainEvent) -> None:
    """Run outbox listeners now, in the transaction; deliver to the others once it commits."""
    for handler in list(_outbox_handlers[type(event)]):
        handler(event)  # a failure here fails the use case: nothing is half-written
    transaction.on_commit(lambda: dispatch(event), robust=True)


def dispatch(event: DomainEvent) -> None:
    for handler in list(_handlers[type(event)]):
        try:
            handler(event)
        except Exception:  # a broken listener must not hide the event from the others
            log.exception("listener %s failed on %s", getattr(handler, "__qualname__", handler), event.name)
