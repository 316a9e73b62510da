"""Input of the SLA settings page. Targets are typed in minutes (people think of "4 hours" as 240
minutes more easily than as 14,400 seconds); `routing.services` checks everything again."""

from django import forms

from touchpoint.conversations.models import Channel, Priority
from touchpoint.routing.models import SlaPolicy

YEAR_MIN = 366 * 24 * 60
# (form field, when, action) for each escalation checkbox; move_to_team has a team select per moment.
ESCALATION_BOXES = [("at_risk_raise", "at_risk", "raise_priority"), ("at_risk_notify", "at_risk", "notify"),
                    ("breached_raise", "breached", "raise_priority")]
ESCALATION_TEAMS = [("at_risk_team", "at_risk"), ("breached_team", "breached")]


class SlaPolicyForm(forms.Form):
    name = forms.CharField(max_length=80, label="Name")
    position = forms.IntegerField(min_value=0, max_value=10_000, required=False, label="Position")
    priorities = forms.MultipleChoiceField(choices=Priority.choices, required=False, label="Priorities")
    channels = forms.MultipleChoiceField(choices=Channel.choices, required=False, label="Channels")
    segments = forms.CharField(max_length=400, required=False, label="Customer segments")
    first_response_min = forms.IntegerField(min_value=1, max_value=YEAR_MIN, required=False, label="First response")
    next_response_min = forms.IntegerField(min_value=1, max_value=YEAR_MIN, required=False, label="Next response")
    resolution_min = forms.IntegerField(min_value=1, max_value=YEAR_MIN, required=False, label="Resolution")
    business_hours = forms.BooleanField(required=False, label="Business hours")
    at_risk_percent = forms.IntegerField(min_value=1, max_value=100, label="At risk at (% of the target)")
    at_risk_raise = forms.BooleanField(required=False)
    at_risk_notify = forms.BooleanField(required=False)
    breached_raise = forms.BooleanField(required=False)
    at_risk_team = forms.IntegerField(min_value=1, required=False, label="At risk: move to team")
    breached_team = forms.IntegerField(min_value=1, required=False, label="Breached: move to team")

    def policy_fields(self) -> dict:
        """The service's keyword arguments from the clean data."""
        data = self.cleaned_data
        escalation = [{"when": when, "action": action} for field, when, action in ESCALATION_BOXES if data[field]]
        escalation += [{"when": when, "action": "move_to_team", "team_id": data[field]}
                       for field, when in ESCALATION_TEAMS if data[field]]
        fields = {
            "name": data["name"].strip(), "priorities": data["priorities"], "channels": data["channels"],
            "segments": [s.strip() for s in data["segments"].split(",") if s.strip()],
            "first_response_s": _seconds(data["first_response_min"]), "next_response_s": _seconds(data["next_response_min"]),
            "resolution_s": _seconds(data["resolution_min"]), "business_hours": data["business_hours"],
            "at_risk_ratio": data["at_risk_percent"] / 100, "escalation": escalation,
        }
        if data["position"] is not None:
            fields["position"] = data["position"]
        return fields


def _seconds(minutes: int | None) -> int | None:
    return minutes * 60 if minutes else None


def _minutes(seconds: int | None) -> int | str:
    return seconds // 60 if seconds else ""


def policy_initial(policy: SlaPolicy) -> dict:
    """A saved policy as the form's values (the template reads them by field name)."""
    values: dict = {
        "name": policy.name, "position": policy.position, "priorities": list(policy.priorities),
        "channels": list(policy.channels), "segments": ", ".join(policy.segments),
        "first_response_min": _minutes(policy.first_response_s), "next_response_min": _minutes(policy.next_response_s),
        "resolution_min": _minutes(policy.resolution_s), "business_hours": policy.business_hours,
        "at_risk_percent": round(policy.at_risk_ratio * 100),
    }
    steps = {(step["when"], step["action"]): step for step in policy.escalation}
    for field, when, action in ESCALATION_BOXES:
        values[field] = (when, action) in steps
    for field, when in ESCALATION_TEAMS:
        values[field] = steps.get((when, "move_to_team"), {}).get("team_id", "")
    return values


NEW_POLICY = {"name": "", "position": 0, "priorities": [], "channels": [], "segments": "", "first_response_min": 60,
              "next_response_min": "", "resolution_min": "", "business_hours": True, "at_risk_percent": 80,
              "at_risk_raise": False, "at_risk_notify": False, "breached_raise": False, "at_risk_team": "",
              "breached_team": ""}
