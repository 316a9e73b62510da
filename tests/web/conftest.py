import pytest
from django.test import Client

from touchpoint.conversations.services import Content, receive_message


def signed_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def customer_writes(desk, text: str = "Where is my order?", *, email: str = "maria@example.com", channel: str = "email",
                    **kwargs):
    message, _ = receive_message(workspace_id=desk.id, channel=channel, sender=("email", email),
                                 sender_name=email.split("@")[0].title(), content=Content(text=text), **kwargs)
    return message.conversation


@pytest.fixture
def agent_client(desk) -> Client:
    return signed_in(desk.agent)


@pytest.fixture
def conversation(desk):
    return customer_writes(desk)
