import pytest
from django.db import transaction

from touchpoint.conversations.events import MessageCreated
from touchpoint.conversations.services import Content, receive_message
from touchpoint.core import events


@pytest.fixture
def received():
    seen: list = []
    events.subscribe(MessageCreated, seen.append)
    yield seen
    events._handlers[MessageCreated].remove(seen.append)


def test_events_are_delivered_only_after_commit(desk, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        receive_message(workspace_id=desk.id, channel="api", sender=("external", "c-1"), content=Content(text="hi"))
        assert received == []  # still inside the transaction
    assert [e.kind for e in received] == ["incoming"]


def test_rolled_back_change_publishes_nothing(desk, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            receive_message(workspace_id=desk.id, channel="api", sender=("external", "c-2"), content=Content(text="hi"))
            raise RuntimeError("payment provider down")
    assert received == []


def test_a_failing_listener_does_not_stop_the_others(desk, received, django_capture_on_commit_callbacks):
    def broken(event):
        raise ValueError("boom")

    events._handlers[MessageCreated].insert(0, broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            receive_message(workspace_id=desk.id, channel="api", sender=("external", "c-3"), content=Content(text="x"))
    finally:
        events._handlers[MessageCreated].remove(broken)
    assert len(received) == 1


def test_outbox_listener_runs_inside_the_transaction(desk, django_capture_on_commit_callbacks):
    seen: list = []
    events.subscribe_in_transaction(MessageCreated, seen.append)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            receive_message(workspace_id=desk.id, channel="api", sender=("external", "c-4"), content=Content(text="x"))
            assert len(seen) == 1  # ran before commit, so its writes share the transaction
            raise RuntimeError("rolled back")
    finally:
        events._outbox_handlers[MessageCreated].remove(seen.append)
