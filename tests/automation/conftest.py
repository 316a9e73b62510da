import pytest

from touchpoint.conversations.services import Content, receive_message
from touchpoint.customers.services import update_customer


@pytest.fixture
def conversation(desk):
    """Maria Garcia asks about her parcel by email; she has an order number on her record."""
    message, _ = receive_message(workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
                                 sender_name="Maria Garcia", subject="Parcel", content=Content(text="Where is it?"))
    customer = message.conversation.customer
    update_customer(actor=desk.admin_actor, customer=customer, custom_attributes={"order_number": "A-1001"})
    return message.conversation
