from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from touchpoint.core.clock import now
from touchpoint.core.models import WorkspaceScopedQuerySet
from touchpoint.core.permissions import ROLE_CHOICES, Role

DEFAULT_BUSINESS_HOURS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


class Workspace(models.Model):
    """A tenant: one company's desk. Every other row belongs to exactly one workspace."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # {"mon": [["09:00", "17:00"]], ...}; days left out are closed.
    business_hours = models.JSONField(default=dict, blank=True)
    # ISO dates the desk is closed on, beside any country calendar named in `holiday_country`.
    holidays = models.JSONField(default=list, blank=True)
    holiday_country = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in. What they may do depends on their membership in a workspace."""

    email = models.EmailField(unique=True)
    # Where a new session opens: the workspace this person last chose (switched to, or joined).
    last_workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, default=Role.AGENT)
    display_name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")]
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class Team(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=80)
    members = models.ManyToManyField(Membership, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="team_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="skills")
    name = models.CharField(max_length=80)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="skill_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentSkill(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="agents")
    proficiency = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "skill"], name="agentskill_unique"),
            models.CheckConstraint(
                condition=models.Q(proficiency__gte=1, proficiency__lte=5), name="agentskill_proficiency_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill_id}@{self.proficiency}"


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the key is shown once, when issued."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Invitation(models.Model):
    """An admin's offer to one email address to join the workspace with a role.

    Nobody joins without accepting: the link mailed to the address carries a random token of which
    only the SHA-256 is stored, so neither the database nor the admin can open it. A person new to
    Touchpoint chooses their own password there; someone with an account signs in as themselves."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    display_name = models.CharField(max_length=120)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, default=Role.AGENT)
    invited_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    # The last mailing of the link: when it left, or why it did not (shown beside Resend).
    sent_at = models.DateTimeField(null=True, blank=True)
    send_error = models.CharField(max_length=500, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            # One open invitation per address and workspace: a second is a Resend, not a new link.
            models.UniqueConstraint(fields=["workspace", "email"], name="invitation_one_open_per_email",
                                    condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True)),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"

    @property
    def status(self) -> str:
        """pending, expired, accepted or revoked."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now() else "pending"

