from django.db import models

from touchpoint.core.models import WorkspaceScopedQuerySet


class Outcome(models.TextChoices):
    STORED = "stored", "Stored as a message"
    IGNORED = "ignored", "Ignored (automatic or list mail)"
    BOUNCE = "bounce", "Delivery report"
    REJECTED = "rejected", "Unusable"


class InboundEmail(models.Model):
    """Every mail that reached one of our mailboxes, exactly as received, and what became of it.

    The raw MIME is the original the stored message was cut from (quotes, signatures, dropped files),
    and the outcome tells an admin why a mail opened no conversation. (workspace, mail_id) is unique:
    a mail fetched twice, replayed or sent to two of the workspace's addresses is taken once.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("channel_accounts.ChannelAccount", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey("conversations.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    mail_id = models.CharField(max_length=255)  # the Message-ID without <>; a digest of the mail when it has none
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    raw = models.FileField(upload_to="email/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "mail_id"], name="inboundemail_unique_mail_id")
        ]
        indexes = [models.Index(fields=["account", "-received_at"], name="inboundemail_recent")]
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.outcome}: {self.mail_id}"
