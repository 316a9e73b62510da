"""Input of the routing pages: presence, a queue's settings, an agent's capacity. Parsed here, checked
again by `routing.services` (the forms catch what a browser can send wrong; the services own the rules)."""

from django import forms

from touchpoint.accounts.models import Skill
from touchpoint.conversations.models import Channel
from touchpoint.routing import policy
from touchpoint.routing.models import Presence, Queue
from touchpoint.routing.services import MAX_CAPACITY

QUEUE_PRIORITIES = [(0, "Low"), (1, "Normal"), (2, "High"), (3, "Urgent")]
POLICY_LABELS = {"best_skill": "Best skill match", "longest_idle": "Longest idle",
                 "least_occupied": "Least occupied"}
PROFICIENCIES = [("", "not needed")] + [(str(n), f"at least {n}") for n in range(1, 6)]
DAY_S = 86_400


class PresenceForm(forms.Form):
    presence = forms.ChoiceField(choices=Presence.choices)


class QueueForm(forms.Form):
    """A queue's settings. Required skills come as one field per workspace skill (`skill-<id>`), each
    empty (not needed) or the minimum proficiency 1-5."""

    name = forms.CharField(max_length=80, label="Name")
    position = forms.IntegerField(min_value=0, max_value=10_000, required=False, label="Position")
    channels = forms.MultipleChoiceField(choices=Channel.choices, required=False, label="Channels")
    team = forms.IntegerField(min_value=1, required=False, label="Team")
    priority = forms.TypedChoiceField(choices=QUEUE_PRIORITIES, coerce=int, label="Priority")
    policy = forms.ChoiceField(choices=[(p, POLICY_LABELS.get(p, p)) for p in policy.POLICIES], label="Policy")
    sticky_wait_s = forms.IntegerField(min_value=0, max_value=DAY_S, label="Wait for the last agent (s)")
    overflow_after_s = forms.IntegerField(min_value=0, max_value=DAY_S, required=False, label="Overflow after (s)")
    overflow_team = forms.IntegerField(min_value=1, required=False, label="Overflow team")

    def __init__(self, *args, skills: list[Skill], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skills = skills
        for skill in skills:
            self.fields[skill_field(skill)] = forms.ChoiceField(choices=PROFICIENCIES, required=False,
                                                                label=f"Skill {skill.name}")

    def required_skills(self) -> dict[str, int]:
        """Skill name → minimum proficiency, for the skills marked as needed."""
        return {s.name: int(self.cleaned_data[skill_field(s)]) for s in self.skills if self.cleaned_data[skill_field(s)]}


def skill_field(skill: Skill) -> str:
    return f"skill-{skill.pk}"


def queue_initial(queue: Queue, skills: list[Skill]) -> dict:
    """A saved queue as the form's values (the template reads them by field name)."""
    values = {
        "name": queue.name, "position": queue.position, "channels": list(queue.channels), "team": queue.team_id or "",
        "priority": queue.priority, "policy": queue.policy, "sticky_wait_s": queue.sticky_wait_s,
        "overflow_after_s": "" if queue.overflow_after_s is None else queue.overflow_after_s,
        "overflow_team": queue.overflow_team_id or "",
    }
    for skill in skills:
        values[skill_field(skill)] = queue.required_skills.get(skill.name, "")
    return values


NEW_QUEUE = {"name": "", "position": 0, "channels": [], "team": "", "priority": 0, "policy": policy.DEFAULT_POLICY,
             "sticky_wait_s": 30, "overflow_after_s": "", "overflow_team": ""}


class CapacityForm(forms.Form):
    voice = forms.IntegerField(min_value=0, max_value=MAX_CAPACITY, label="Calls")
    chat = forms.IntegerField(min_value=0, max_value=MAX_CAPACITY, label="Chats")
    message = forms.IntegerField(min_value=0, max_value=MAX_CAPACITY, label="Messages")
