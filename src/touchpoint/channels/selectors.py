"""Reads of a workspace's channel accounts."""

from django.db.models import QuerySet

from touchpoint.channels.models import ChannelAccount
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor


def channel_accounts_for(actor: Actor) -> QuerySet[ChannelAccount]:
    return ChannelAccount.objects.filter(workspace_id=actor.workspace_id)


def access_channel_account(actor: Actor, account_id: int) -> ChannelAccount:
    found = channel_accounts_for(actor).filter(pk=account_id).first()
    if found is None:
        raise NotFound(f"No channel account with id {account_id} in this workspace.")
    return found
