import secrets

from django.db import models

from touchpoint.conversations.models import Channel
from touchpoint.core.models import WorkspaceScopedQuerySet


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class ChannelAccount(models.Model):
    """A configured way in and out for one workspace: a mailbox, a phone number, a website's widget.

    `address` routes inbound traffic to its workspace (the mailbox address, the E.164 number, the
    widget's public key), so it is unique per kind across all workspaces.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="channel_accounts")
    kind = models.CharField(max_length=16, choices=Channel.choices)
    name = models.CharField(max_length=120)
    address = models.CharField(max_length=255)
    # Non-secret settings: IMAP host and folder, Twilio account SID, pre-chat form, team for a topic...
    config = models.JSONField(default=dict, blank=True)
    # The shared secret of this account: widget identity-verification key, Twilio auth token,
    # voice webhook signing key, IMAP password. Never shown after creation.
    secret = models.CharField(max_length=255, default=new_secret)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "address"], name="channelaccount_unique_address")]
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"
