"""The routing policy on plain state: no database, every decision checked with its reason."""

from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.routing.policy import (
    AWAY,
    OFFLINE,
    ONLINE,
    POLICIES,
    AgentState,
    Choice,
    ContactState,
    RoutingRules,
    UnknownPolicyError,
    choose_agent,
    contact_order_key,
    explain,
    has_capacity,
    next_contact_for,
    qualifies,
    rank_agents,
)

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
RULES = RoutingRules()


def agent(agent_id: int, *, presence: str = ONLINE, skills: dict | None = None, teams: tuple = (),
          capacity: dict | None = None, load: dict | None = None, idle_min: float = 0,
          blocks_chat: bool = False) -> AgentState:
    return AgentState(
        agent_id=agent_id, presence=presence, skills=skills if skills is not None else {"billing": 3},
        team_ids=frozenset(teams), capacity=capacity or {"voice": 1, "chat": 3, "message": 10},
        load=load or {}, idle_since=NOW - timedelta(minutes=idle_min), in_call_blocks_chat=blocks_chat,
    )


def contact(contact_id: int = 1, *, kind: str = "chat", skills: dict | None = None, team: int | None = None,
            priority: int = 0, vip: bool = False, sla_in: timedelta | None = None, waited_s: float = 0,
            last_agent: int | None = None) -> ContactState:
    return ContactState(
        contact_id=contact_id, work_kind=kind, required_skills=skills if skills is not None else {"billing": 2},
        team_id=team, priority=priority, vip=vip, sla_due_at=None if sla_in is None else NOW + sla_in,
        waiting_since=NOW - timedelta(seconds=waited_s), last_agent_id=last_agent,
    )


# ---- capacity and qualification ---------------------------------------------------------------


def test_capacity_is_counted_per_work_kind() -> None:
    a = agent(1, load={"chat": 3, "voice": 0, "message": 9})
    assert not has_capacity(a, "chat")
    assert has_capacity(a, "voice")
    assert has_capacity(a, "message")
    assert not has_capacity(agent(2, load={"message": 10}), "message")


def test_default_capacity_is_one_call_three_chats_ten_messages() -> None:
    a = AgentState(agent_id=1, presence=ONLINE, skills={}, idle_since=NOW)
    assert dict(a.capacity) == {"voice": 1, "chat": 3, "message": 10}


def test_a_call_blocks_new_chats_only_when_the_workspace_says_so() -> None:
    in_call = {"voice": 1, "chat": 1}
    assert not has_capacity(agent(1, load=in_call, blocks_chat=True), "chat")
    assert has_capacity(agent(1, load=in_call, blocks_chat=False), "chat")
    # the call blocks chats, not email
    assert has_capacity(agent(1, load=in_call, blocks_chat=True), "message")
    assert has_capacity(agent(1, load={"chat": 1}, blocks_chat=True), "chat")


def test_only_online_agents_with_capacity_and_skills_qualify() -> None:
    c = contact(skills={"billing": 2, "spanish": 3})
    assert qualifies(agent(1, skills={"billing": 2, "spanish": 3}), c, NOW, RULES)
    assert not qualifies(agent(2, skills={"billing": 2, "spanish": 2}), c, NOW, RULES)  # too weak
    assert not qualifies(agent(3, skills={"billing": 5}), c, NOW, RULES)  # missing a skill
    assert not qualifies(agent(4, presence=AWAY, skills={"billing": 5, "spanish": 5}), c, NOW, RULES)
    assert not qualifies(agent(5, presence=OFFLINE, skills={"billing": 5, "spanish": 5}), c, NOW, RULES)
    assert not qualifies(agent(6, skills={"billing": 5, "spanish": 5}, load={"chat": 3}), c, NOW, RULES)


def test_a_contact_for_a_team_goes_to_that_team_only() -> None:
    c = contact(team=7)
    assert qualifies(agent(1, teams=(7, 8)), c, NOW, RULES)
    assert not qualifies(agent(2, teams=(8,)), c, NOW, RULES)
    assert qualifies(agent(2, teams=(8,)), contact(team=None), NOW, RULES)


def test_overflow_lowers_the_proficiency_and_opens_the_overflow_team_after_the_wait() -> None:
    rules = RoutingRules(overflow_after=timedelta(seconds=90), overflow_team_id=9)
    weak = agent(1, skills={"billing": 1}, teams=(7,))
    other_team = agent(2, skills={"billing": 1}, teams=(9,))
    unskilled = agent(3, skills={"orders": 5}, teams=(7, 9))
    early, late = contact(team=7, waited_s=89), contact(team=7, waited_s=90)
    assert not qualifies(weak, early, NOW, rules)
    assert not qualifies(other_team, early, NOW, rules)
    assert qualifies(weak, late, NOW, rules)
    assert qualifies(other_team, late, NOW, rules)
    assert not qualifies(unskilled, late, NOW, rules)  # overflow lowers the bar, the skill is still needed
    assert not qualifies(weak, late, NOW, RULES)  # no overflow configured: waits for a real match
    choice = choose_agent(late, [weak], NOW, rules)
    assert choice is not None and "overflow after 1 min waiting" in choice.reason


# ---- contact order ----------------------------------------------------------------------------


def test_contact_order_vip_and_sla_at_risk_first_then_priority_then_oldest() -> None:
    rules = RoutingRules(sla_at_risk_within=timedelta(minutes=5))
    contacts = [
        contact(1, priority=3, waited_s=600),
        contact(2, priority=0, waited_s=10, vip=True),
        contact(3, priority=1, waited_s=900),
        contact(4, priority=1, waited_s=60, sla_in=timedelta(minutes=4)),  # at risk
        contact(5, priority=1, waited_s=1200, sla_in=timedelta(minutes=30)),  # not yet
        contact(6, priority=0, waited_s=20, sla_in=timedelta(minutes=-1)),  # breached
        contact(7, priority=3, waited_s=30),
    ]
    ordered = sorted(contacts, key=lambda c: contact_order_key(c, NOW, rules))
    # urgent tier: 4 (priority 1) before the priority-0 pair, in which 6 has waited longer than 2
    assert [c.contact_id for c in ordered] == [4, 6, 2, 1, 7, 5, 3]


def test_ageing_lets_an_old_contact_of_the_same_priority_go_first() -> None:
    old, new = contact(1, waited_s=300), contact(2, waited_s=5)
    assert contact_order_key(old, NOW, RULES) < contact_order_key(new, NOW, RULES)


# ---- agent ranking ----------------------------------------------------------------------------


def pool() -> list[AgentState]:
    return [
        agent(1, skills={"billing": 3}, load={"chat": 0}, idle_min=20),
        agent(2, skills={"billing": 5}, load={"chat": 2}, idle_min=1),
        agent(3, skills={"billing": 5}, load={"chat": 1}, idle_min=5),
        agent(4, skills={"billing": 4}, load={"chat": 0}, idle_min=2),
        agent(5, skills={"billing": 1}, load={"chat": 0}, idle_min=60),  # below the minimum of 2
        agent(6, skills={"billing": 5}, load={"chat": 3}, idle_min=90),  # full
    ]


@pytest.mark.parametrize(("policy", "order"), [
    ("best_skill", [3, 2, 4, 1]),  # proficiency 5, 5 (less occupied first), 4, 3
    ("longest_idle", [1, 3, 4, 2]),  # idle 20, 5, 2, 1 min
    ("least_occupied", [4, 1, 3, 2]),  # 0/3 (proficiency 4 before 3), 1/3, 2/3
])
def test_each_policy_ranks_qualified_agents_in_its_documented_order(policy: str, order: list[int]) -> None:
    ranked = rank_agents(contact(), pool(), NOW, RULES, policy)
    assert [c.agent_id for c in ranked] == order
    assert choose_agent(contact(), pool(), NOW, RULES, policy) == ranked[0]


def test_reasons_name_the_deciding_criterion_first() -> None:
    c = contact()
    assert rank_agents(c, pool(), NOW, RULES, "best_skill")[0].reason == (
        "best proficiency 5 for billing, 1/3 chats, idle 5 min")
    assert rank_agents(c, pool(), NOW, RULES, "longest_idle")[0].reason == (
        "longest idle 20 min, 0/3 chats, proficiency 3 for billing")
    assert rank_agents(c, pool(), NOW, RULES, "least_occupied")[0].reason == (
        "least occupied 0/3 chats, proficiency 4 for billing, idle 2 min")


def test_best_skill_match_is_the_weakest_required_skill() -> None:
    c = contact(skills={"billing": 1, "spanish": 1})
    strong_billing = agent(1, skills={"billing": 5, "spanish": 2})
    even = agent(2, skills={"billing": 3, "spanish": 3})
    ranked = rank_agents(c, [strong_billing, even], NOW, RULES)
    assert [r.agent_id for r in ranked] == [2, 1]
    assert ranked[0].reason.startswith("best proficiency 3 for billing+spanish (billing 3, spanish 3)")


def test_ties_settle_on_the_lowest_agent_id() -> None:
    twins = [agent(9), agent(4), agent(7)]
    for name in POLICIES:
        assert [c.agent_id for c in rank_agents(contact(), twins, NOW, RULES, name)] == [4, 7, 9]


def test_no_qualified_agent_keeps_the_contact_queued() -> None:
    assert choose_agent(contact(), [agent(1, skills={"orders": 5})], NOW, RULES) is None
    assert rank_agents(contact(), [], NOW, RULES) == []


def test_an_unknown_policy_is_refused_with_the_known_names() -> None:
    with pytest.raises(UnknownPolicyError, match="best_skill, longest_idle, least_occupied"):
        choose_agent(contact(), pool(), NOW, RULES, "fastest")
    with pytest.raises(UnknownPolicyError):
        next_contact_for(agent(1), [contact()], NOW, RULES, "fastest")


# ---- stickiness -------------------------------------------------------------------------------


def test_sticky_goes_to_the_last_agent_when_free_even_if_not_ranked_first() -> None:
    c = contact(last_agent=1, waited_s=0)
    choice = choose_agent(c, pool(), NOW, RULES)
    assert choice == Choice(1, "customer's last agent, proficiency 3 for billing, 0/3 chats, idle 20 min")


def test_sticky_waits_for_a_busy_last_agent_within_the_wait_then_lets_go() -> None:
    busy_last = agent(6, skills={"billing": 5}, load={"chat": 3})
    others = [busy_last, agent(2)]
    assert choose_agent(contact(last_agent=6, waited_s=29), others, NOW, RULES) is None
    after = choose_agent(contact(last_agent=6, waited_s=30), others, NOW, RULES)
    assert after is not None and after.agent_id == 2
    longer = RoutingRules(sticky_wait=timedelta(minutes=2))
    assert choose_agent(contact(last_agent=6, waited_s=90), others, NOW, longer) is None


def test_sticky_does_not_wait_for_an_agent_who_is_away_offline_or_unskilled() -> None:
    for last in (agent(6, presence=AWAY), agent(6, presence=OFFLINE), agent(6, skills={"orders": 5})):
        choice = choose_agent(contact(last_agent=6), [last, agent(2)], NOW, RULES)
        assert choice is not None and choice.agent_id == 2
    # and an unknown last agent (not passed in) does not hold the contact either
    assert choose_agent(contact(last_agent=99), [agent(2)], NOW, RULES) == choose_agent(
        contact(), [agent(2)], NOW, RULES)


# ---- an agent gains capacity ------------------------------------------------------------------


def test_next_contact_is_the_first_in_contact_order_the_agent_qualifies_for() -> None:
    a = agent(1, skills={"billing": 3}, teams=(7,))
    contacts = [
        contact(1, waited_s=50),
        contact(2, waited_s=300, skills={"billing": 4}),  # too weak for it
        contact(3, waited_s=200, team=8),  # another team's
        contact(4, waited_s=100, kind="voice"),  # a call: capacity left for it too
        contact(5, waited_s=10, priority=2),
    ]
    assert next_contact_for(a, contacts, NOW, RULES).contact_id == 5
    assert next_contact_for(a, contacts[:4], NOW, RULES).contact_id == 4
    in_call = agent(1, skills={"billing": 3}, load={"voice": 1})
    assert next_contact_for(in_call, contacts[:4], NOW, RULES).contact_id == 1
    assert next_contact_for(agent(1, presence=AWAY), contacts, NOW, RULES) is None
    assert next_contact_for(a, [], NOW, RULES) is None


def test_presorted_contacts_are_taken_in_the_order_given() -> None:
    a = agent(1)
    given = [contact(1, waited_s=5), contact(2, waited_s=500)]
    assert next_contact_for(a, given, NOW, RULES, presorted=True).contact_id == 1
    assert next_contact_for(a, given, NOW, RULES).contact_id == 2


def test_a_contact_held_for_its_last_agent_is_left_for_them() -> None:
    last = agent(6, load={"chat": 3})
    held = contact(1, waited_s=120, last_agent=6)
    fresh = contact(2, waited_s=5)
    helper = agent(2)
    known = {6: last}
    rules = RoutingRules(sticky_wait=timedelta(minutes=5))
    assert next_contact_for(helper, [held, fresh], NOW, rules, agents_by_id=known).contact_id == 2
    # the last agent takes it themselves, and after the sticky wait anyone may
    assert next_contact_for(agent(6), [held, fresh], NOW, rules, agents_by_id=known).contact_id == 1
    assert next_contact_for(helper, [held, fresh], NOW, RULES, agents_by_id=known).contact_id == 1
    # a last agent who went offline does not hold it
    gone = {6: agent(6, presence=OFFLINE)}
    assert next_contact_for(helper, [held, fresh], NOW, rules, agents_by_id=gone).contact_id == 1


def test_explain_reports_overflow_and_short_waits() -> None:
    rules = RoutingRules(overflow_after=timedelta(seconds=30))
    reason = explain(agent(1, skills={"billing": 1}, idle_min=0.5), contact(waited_s=3700), NOW, rules)
    assert reason == "best proficiency 1 for billing, 0/3 chats, idle 30 s, overflow after 1 h 1 min waiting"
    assert explain(agent(1), contact(skills={}), NOW, RULES) == "no skill required, 0/3 chats, idle 0 s"


def test_state_refuses_unknown_presence_and_work_kind() -> None:
    with pytest.raises(ValueError, match="presence"):
        agent(1, presence="busy")
    with pytest.raises(ValueError, match="work kind"):
        contact(kind="fax")
