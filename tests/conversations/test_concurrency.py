"""Races that only a real server shows: two deliveries of the same message at the same moment."""

import threading

import pytest
from django.db import connection, connections

from touchpoint.conversations.models import Conversation, Message
from touchpoint.conversations.services import Content, receive_message
from touchpoint.customers.models import Customer

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_deliveries_of_one_message_store_it_once(desk):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers (IMMEDIATE transactions), so this race cannot happen there")
    barrier = threading.Barrier(4)
    results: list = []

    def deliver() -> None:
        try:
            barrier.wait()
            results.append(receive_message(workspace_id=desk.id, channel="sms", sender=("phone", "+14155552671"),
                                           content=Content(text="Is my order shipped?"), external_id="SM123"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert sum(created for _, created in results) == 1
    assert len({m.pk for m, _ in results}) == 1
    assert Message.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert Customer.objects.count() == 1
