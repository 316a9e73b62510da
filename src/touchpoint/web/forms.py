"""Input of the agent workspace. A form that does not validate becomes a ValidationFailed naming the
field, so every view answers bad input the same way (422, nothing changed)."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from touchpoint.conversations.models import Channel, Priority, Status
from touchpoint.conversations.selectors import VIEWS
from touchpoint.core.errors import ValidationFailed
from touchpoint.core.permissions import ROLE_CHOICES

SNOOZE_CHOICES = [("1h", "1 hour"), ("tomorrow", "Tomorrow 9:00"), ("custom", "Until…")]


def cleaned(form: forms.Form) -> dict:
    """The form's clean data, or the first problem as a ValidationFailed a person can act on."""
    if form.is_valid():
        return form.cleaned_data
    name, errors = next(iter(form.errors.items()))
    label = form.fields[name].label or name.replace("_", " ").capitalize() if name in form.fields else ""
    message = f"{label}: {errors[0]}" if label else errors[0]
    raise ValidationFailed(message, field=name if name != "__all__" else None)


class LoginForm(forms.Form):
    email = forms.CharField(max_length=254)
    password = forms.CharField(max_length=128, strip=False)


class InboxQuery(forms.Form):
    """The inbox's view and filters, from the query string."""

    view = forms.ChoiceField(choices=[(v, v) for v in VIEWS], required=False)
    team = forms.IntegerField(required=False, min_value=1)
    channel = forms.ChoiceField(choices=[("", "")] + Channel.choices, required=False)
    tag = forms.CharField(max_length=50, required=False)
    cursor = forms.CharField(max_length=400, required=False)


class MessageForm(forms.Form):
    kind = forms.ChoiceField(choices=[("reply", "Reply"), ("note", "Note")])
    text = forms.CharField(required=False, max_length=100_000, strip=False)
    # A reply may leave on another channel than the conversation's (empty: the conversation's own).
    channel = forms.ChoiceField(choices=[("", "")] + Channel.choices, required=False)


class IdentityForm(forms.Form):
    kind = forms.ChoiceField(choices=[("email", "Email"), ("phone", "Phone")])
    value = forms.CharField(max_length=320)


class MergeForm(forms.Form):
    source = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class AssignForm(forms.Form):
    # "me", a membership id, or empty to unassign
    assignee = forms.CharField(required=False, max_length=20)


class TransferForm(forms.Form):
    team = forms.IntegerField(required=False, min_value=1)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)
    snooze = forms.ChoiceField(choices=SNOOZE_CHOICES, required=False)
    until = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])

    def clean(self) -> dict:
        data = super().clean()
        if data.get("status") == Status.SNOOZED:
            data["snoozed_until"] = snooze_until(data.get("snooze") or "1h", data.get("until"))
        else:
            data["snoozed_until"] = None
        return data


def snooze_until(preset: str, custom: datetime | None) -> datetime:
    """Presets in the workspace's time zone (the active one): an hour from now, or tomorrow 9:00."""
    now = timezone.localtime()
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "tomorrow":
        return (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    if custom is None:
        raise forms.ValidationError({"until": "Pick the date and time to wake the conversation."})
    return custom  # the form made it aware in the active (workspace) time zone


class TagsForm(forms.Form):
    add = forms.CharField(required=False, max_length=500, help_text="Comma-separated")
    remove = forms.CharField(required=False, max_length=50)

    def names_to_add(self) -> list[str]:
        return [n.strip() for n in self.cleaned_data["add"].split(",") if n.strip()]


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    display_name = forms.CharField(max_length=120)
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class AccessForm(forms.Form):
    is_active = forms.TypedChoiceField(choices=[("1", "Active"), ("0", "Deactivated")], coerce=lambda v: v == "1")


class NewPasswordForm(forms.Form):
    """The password a person chooses for the account an invitation makes them."""

    password = forms.CharField(max_length=128, strip=False)
    password_again = forms.CharField(max_length=128, strip=False, label="Password again")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            raise forms.ValidationError({"password_again": "The two passwords differ; type the same one twice."})
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=80)


class TeamMembersForm(forms.Form):
    members = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, member_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [(i, i) for i in member_ids]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80)
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class SearchForm(forms.Form):
    q = forms.CharField(max_length=200, required=False)


class MailboxForm(forms.Form):
    name = forms.CharField(max_length=120)
    address = forms.CharField(max_length=254)
    smtp_host = forms.CharField(max_length=253, required=False, label="Relay host")
    smtp_port = forms.IntegerField(required=False, min_value=1, max_value=65535, label="Relay port")
    smtp_security = forms.ChoiceField(choices=[("starttls", "STARTTLS"), ("ssl", "SSL/TLS"), ("none", "None")],
                                      required=False, label="Security")
    smtp_username = forms.CharField(max_length=254, required=False, label="Relay user name")
    smtp_password = forms.CharField(max_length=256, required=False, strip=False, label="Relay password")


class RelayForm(MailboxForm):
    name = None
    address = None


class TwilioNumberForm(forms.Form):
    kind = forms.ChoiceField(choices=[("sms", "SMS"), ("whatsapp", "WhatsApp")])
    name = forms.CharField(max_length=120)
    number = forms.CharField(max_length=40)
    account_sid = forms.CharField(max_length=64, label="Account SID")
    auth_token = forms.CharField(max_length=64, strip=False, label="Auth token")
