"""Channel-layer group names. Every name carries the workspace id, so a socket that joins only its own
workspace's groups can never be handed another workspace's events."""

from touchpoint.realtime.models import Audience, LiveEvent


def agents_group(workspace_id: int) -> str:
    """Every signed-in agent socket of the workspace: drives inbox rows and counts."""
    return f"ws.{workspace_id}.agents"


def conversation_group(workspace_id: int, conversation_id: int) -> str:
    """Agent sockets that have this conversation open: its thread and who is viewing it."""
    return f"ws.{workspace_id}.conv.{conversation_id}"


def member_group(workspace_id: int, membership_id: int) -> str:
    """Every socket of one person in one workspace: told to close when their access there changes."""
    return f"ws.{workspace_id}.member.{membership_id}"


def visitor_group(workspace_id: int, customer_id: int) -> str:
    """The chat widget sockets of one customer (each tab of theirs): the public messages of their
    conversations, and agents typing to them. Nothing else is ever sent here."""
    return f"ws.{workspace_id}.customer.{customer_id}.widget"


def groups_for(event: LiveEvent) -> list[str]:
    """Who receives a live event: the workspace's agents, and for `Audience.PUBLIC` events only (a
    customer's or an agent's public message) the customer's own widget, so an internal note, an
    assignment or a status change can never reach a customer."""
    groups = [agents_group(event.workspace_id)]
    if event.conversation_id is not None:
        groups.append(conversation_group(event.workspace_id, event.conversation_id))
        customer_id = event.payload.get("customer_id")
        if event.audience == Audience.PUBLIC and customer_id is not None:
            groups.append(visitor_group(event.workspace_id, customer_id))
    return groups
