"""Channel-layer group names. Every name carries the workspace id, so a socket that joins only its own
workspace's groups can never be handed another workspace's events."""

from touchpoint.realtime.models import LiveEvent


def agents_group(workspace_id: int) -> str:
    """Every signed-in agent socket of the workspace: drives inbox rows and counts."""
    return f"ws.{workspace_id}.agents"


def conversation_group(workspace_id: int, conversation_id: int) -> str:
    """Agent sockets that have this conversation open: its thread and who is viewing it."""
    return f"ws.{workspace_id}.conv.{conversation_id}"


def groups_for(event: LiveEvent) -> list[str]:
    """Who receives a live event. Today only agents: the customer's widget will get its own group,
    added here for `Audience.PUBLIC` events only, so an internal note can never reach a customer."""
    groups = [agents_group(event.workspace_id)]
    if event.conversation_id is not None:
        groups.append(conversation_group(event.workspace_id, event.conversation_id))
    # The widget issue adds the visitor's group here, for `Audience.PUBLIC` events only.
    return groups
