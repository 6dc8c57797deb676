"""Who gets a new ticket: strategies, availability, and the reason written to the event log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.assignment import (
    AssignmentPolicy,
    Availability,
    Leave,
    SkillRule,
    Strategy,
    TicketFacts,
    Workload,
    assign,
    assignable,
    choose_assignee,
)
from core.calendar import BusinessCalendar
from core.i18n import Text
from core.oncall import Rotation, RotationKind
from core.people import Person, Role, StaticDirectory, Team
from core.ticket import Priority

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEAM = Team(
    id="it",
    name=Text("IT", "IT"),
    members=("han.meimei", "zhang.wei", "liu.yang"),
    lead="li.lei",
    manager="zhao.min",
)
OFFICE = BusinessCalendar(
    id="office",
    timezone="Asia/Shanghai",
    weekly=dict.fromkeys(range(5), ((time(9), time(18)),)),
    holidays=frozenset(),
    workdays=frozenset(),
)
# Wednesday 2026-01-07, mid-morning in Shanghai
NOW = datetime(2026, 1, 7, 10, 0, tzinfo=SHANGHAI)
MINUTE = timedelta(minutes=1)
TICKET = TicketFacts("it", {"category": "network", "office": "beijing"})
IDLE = Workload()


def decide(*strategies: Strategy, **kwargs: object) -> tuple[str | None, str]:
    policy_args = {
        k: kwargs.pop(k)
        for k in ("skills", "skill_rules", "region_field", "regions", "rotation", "calendar")
        if k in kwargs
    }
    policy = AssignmentPolicy(strategies=strategies, **policy_args)  # type: ignore[arg-type]
    ticket = kwargs.pop("ticket", TICKET)
    decision = assign(
        TEAM,
        policy,
        ticket,  # type: ignore[arg-type]
        now=kwargs.pop("now", NOW),  # type: ignore[arg-type]
        workload=kwargs.pop("workload", IDLE),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )
    return decision.assignee_id, decision.reason


# --- round robin ------------------------------------------------------------------------------


def test_round_robin_gives_each_member_a_turn_in_order() -> None:
    last = None
    turns = []
    for _ in range(6):
        last, _reason = decide(Strategy.ROUND_ROBIN, last_assignee=last)
        turns.append(last)
    assert turns == ["han.meimei", "zhang.wei", "liu.yang"] * 2


def test_round_robin_names_who_had_the_last_turn() -> None:
    assert decide(Strategy.ROUND_ROBIN, last_assignee="han.meimei") == (
        "zhang.wei",
        "round robin after han.meimei",
    )


def test_round_robin_skips_an_absent_member_without_losing_the_turn_order() -> None:
    away = {"zhang.wei": Availability(leave=(Leave(date(2026, 1, 5), date(2026, 1, 9)),))}
    assignee, _ = decide(Strategy.ROUND_ROBIN, last_assignee="han.meimei", availability=away)
    assert assignee == "liu.yang"


# --- least loaded ------------------------------------------------------------------------------


def test_least_loaded_counts_priority_weights_and_says_how_many_are_open() -> None:
    workload = Workload.of(
        [
            ("han.meimei", Priority.URGENT),  # one ticket, weight 8
            ("zhang.wei", Priority.LOW),
            ("zhang.wei", Priority.NORMAL),  # two tickets, weight 3
            ("liu.yang", Priority.HIGH),  # one ticket, weight 4
        ]
    )
    assignee, reason = decide(Strategy.LEAST_LOADED, workload=workload)
    assert assignee == "zhang.wei"
    assert reason == "least loaded: 2 open, weight 3"


def test_least_loaded_ties_go_to_the_next_in_round_robin_order() -> None:
    workload = Workload.of([("liu.yang", Priority.NORMAL)])
    assert decide(Strategy.LEAST_LOADED, workload=workload, last_assignee="han.meimei")[0] == (
        "zhang.wei"
    )
    assert decide(Strategy.LEAST_LOADED, workload=workload, last_assignee="zhang.wei")[0] == (
        "han.meimei"
    )


# --- skills and region --------------------------------------------------------------------------

SKILLS = {
    "han.meimei": frozenset({"hardware"}),
    "zhang.wei": frozenset({"network", "hardware"}),
    "liu.yang": frozenset({"network"}),
}
CATEGORY_IS_SKILL = (SkillRule(frozenset(), type_id="it", field="category"),)


def test_skills_pick_the_least_loaded_of_the_members_who_have_them() -> None:
    workload = Workload.of([("zhang.wei", Priority.NORMAL)])
    assignee, reason = decide(
        Strategy.SKILLS,
        Strategy.LEAST_LOADED,
        skills=SKILLS,
        skill_rules=CATEGORY_IS_SKILL,
        workload=workload,
    )
    assert assignee == "liu.yang"
    assert reason == "skill network matched; least loaded: 0 open, weight 0"


def test_skills_alone_fall_back_to_least_loaded_among_matches() -> None:
    workload = Workload.of([("liu.yang", Priority.NORMAL)])
    rule = (SkillRule(frozenset({"network"}), field="category", value="network"),)
    assignee, _ = decide(Strategy.SKILLS, skills=SKILLS, skill_rules=rule, workload=workload)
    assert assignee == "zhang.wei"


def test_ticket_needing_no_skill_may_go_to_anyone() -> None:
    rule = (SkillRule(frozenset({"printers"}), type_id="repair"),)
    assignee, reason = decide(
        Strategy.SKILLS, Strategy.ROUND_ROBIN, skills=SKILLS, skill_rules=rule
    )
    assert assignee == "han.meimei"
    assert reason == "round robin: first"


def test_nobody_with_the_skill_leaves_the_ticket_in_the_queue() -> None:
    ticket = TicketFacts("it", {"category": "account"})
    assignee, reason = decide(
        Strategy.SKILLS, skills=SKILLS, skill_rules=CATEGORY_IS_SKILL, ticket=ticket
    )
    assert assignee is None
    assert reason == (
        "nobody available (skill account not held by any available member): "
        "team queue, anyone may claim"
    )


def test_region_field_sends_the_ticket_to_people_serving_that_region() -> None:
    regions = {"beijing": ("liu.yang",), "shanghai": ("han.meimei", "zhang.wei")}
    assignee, reason = decide(
        Strategy.REGION, Strategy.ROUND_ROBIN, region_field="office", regions=regions
    )
    assert assignee == "liu.yang"
    assert reason == "region beijing; round robin: first"


def test_a_tag_rule_asks_for_its_skills_only_from_tickets_with_the_tag() -> None:
    rule = (SkillRule(frozenset({"network"}), tag="vip"),)
    vip = TicketFacts("it", {}, tags=frozenset({"vip"}))
    assert decide(Strategy.SKILLS, skills=SKILLS, skill_rules=rule, ticket=vip) == (
        "zhang.wei",
        "skill network matched; least loaded: 0 open, weight 0",
    )
    plain = TicketFacts("it", {})
    assert decide(Strategy.SKILLS, skills=SKILLS, skill_rules=rule, ticket=plain)[0] == "han.meimei"


def test_a_multi_select_field_needs_every_skill_it_names() -> None:
    both = TicketFacts("it", {"category": ["network", "hardware"]})
    assignee, reason = decide(
        Strategy.SKILLS, skills=SKILLS, skill_rules=CATEGORY_IS_SKILL, ticket=both
    )
    assert (assignee, reason.split(";")[0]) == ("zhang.wei", "skill hardware, network matched")


def test_a_ticket_without_a_region_may_go_to_anyone() -> None:
    regions = {"beijing": ("liu.yang",)}
    nowhere = TicketFacts("it", {"office": ""})
    assignee, reason = decide(
        Strategy.REGION,
        Strategy.ROUND_ROBIN,
        region_field="office",
        regions=regions,
        ticket=nowhere,
    )
    assert (assignee, reason) == ("han.meimei", "round robin: first")


def test_a_policy_without_strategies_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one strategy"):
        AssignmentPolicy(strategies=())


# --- availability -------------------------------------------------------------------------------


def test_person_on_leave_is_skipped() -> None:
    away = {"han.meimei": Availability(leave=(Leave(date(2026, 1, 7), date(2026, 1, 7)),))}
    assert decide(Strategy.ROUND_ROBIN, availability=away)[0] == "zhang.wei"


def test_leave_dates_are_read_in_the_persons_own_zone() -> None:
    # 01:00 on the 8th in Shanghai is still the 7th in UTC
    leave = (Leave(date(2026, 1, 8), date(2026, 1, 8)),)
    away = {"han.meimei": Availability(hours=None, leave=leave, timezone="Asia/Shanghai")}
    late = datetime(2026, 1, 8, 1, 0, tzinfo=SHANGHAI)
    assert decide(Strategy.ROUND_ROBIN, availability=away, now=late)[0] == "zhang.wei"


def test_person_outside_their_working_hours_is_skipped() -> None:
    berlin = BusinessCalendar(
        id="berlin",
        timezone="Europe/Berlin",
        weekly=dict.fromkeys(range(5), ((time(9), time(17)),)),
        holidays=frozenset(),
        workdays=frozenset(),
    )
    # 10:00 in Shanghai is 03:00 in Berlin
    people = {"han.meimei": Availability(hours=berlin)}
    assert decide(Strategy.ROUND_ROBIN, availability=people)[0] == "zhang.wei"


def test_team_hours_apply_to_members_without_their_own() -> None:
    evening = datetime(2026, 1, 7, 20, 0, tzinfo=SHANGHAI)
    assignee, reason = decide(Strategy.LEAST_LOADED, calendar=OFFICE, now=evening)
    assert assignee is None
    assert reason == (
        "nobody available (han.meimei off hours, zhang.wei off hours, liu.yang off hours): "
        "team queue, anyone may claim"
    )


def test_leave_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Leave(date(2026, 1, 8), date(2026, 1, 7))


def test_a_long_burst_of_tickets_keeps_reading_each_minute_right() -> None:
    # more distinct minutes than the availability remembers: answers stay right after it forgets
    person = Availability(hours=OFFICE)
    morning = datetime(2026, 1, 7, 9, 0, tzinfo=SHANGHAI)
    answers = {person.absence(morning + n * MINUTE, None) for n in range(300)}
    assert answers == {None}
    assert person.absence(datetime(2026, 1, 7, 20, 0, tzinfo=SHANGHAI), None) == "off hours"


def test_nobody_available_goes_to_the_team_queue_for_anyone_to_claim() -> None:
    leave = (Leave(date(2026, 1, 1), date(2026, 1, 31)),)
    away = {p: Availability(leave=leave) for p in TEAM.members}
    assignee, reason = decide(Strategy.ROUND_ROBIN, availability=away)
    assert assignee is None
    assert reason.startswith("nobody available")
    assert reason.endswith("team queue, anyone may claim")


# --- on call ------------------------------------------------------------------------------------

ROTA = Rotation(
    id="it-night",
    kind=RotationKind.WEEKLY,
    participants=("zhang.wei", "liu.yang"),
    handover=time(9),
    timezone="Asia/Shanghai",
    start=date(2026, 1, 5),
)


def test_on_call_person_gets_the_ticket_even_at_night() -> None:
    night = datetime(2026, 1, 8, 3, 0, tzinfo=SHANGHAI)
    assert decide(Strategy.ON_CALL, rotation=ROTA, calendar=OFFICE, now=night) == (
        "zhang.wei",
        "on call (weekly rotation)",
    )


def test_on_call_person_on_leave_hands_over_to_the_next_strategy() -> None:
    away = {"zhang.wei": Availability(leave=(Leave(date(2026, 1, 7), date(2026, 1, 7)),))}
    assignee, _ = decide(Strategy.ON_CALL, Strategy.ROUND_ROBIN, rotation=ROTA, availability=away)
    assert assignee == "han.meimei"


def test_before_the_rotation_starts_nobody_is_on_call_and_the_next_strategy_decides() -> None:
    early = datetime(2026, 1, 2, 10, 0, tzinfo=SHANGHAI)
    assert decide(Strategy.ON_CALL, Strategy.ROUND_ROBIN, rotation=ROTA, now=early) == (
        "han.meimei",
        "rotation it-night starts 2026-01-05; round robin: first",
    )


def test_on_call_strategy_without_a_rotation_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a rotation"):
        AssignmentPolicy(strategies=(Strategy.ON_CALL,))


# --- the foundation strategy ---------------------------------------------------------------------


def test_team_without_a_policy_still_goes_to_its_lead() -> None:
    directory = StaticDirectory(teams=[TEAM])
    decision = choose_assignee("it", directory)
    assert (decision.assignee_id, decision.reason) == ("li.lei", "team it lead")


# --- who may be given a ticket by hand (Reassign) ------------------------------------------------


def test_the_team_may_be_given_its_tickets_the_manager_only_when_they_work_them() -> None:
    def manager(*roles: Role) -> StaticDirectory:
        return StaticDirectory([Person("zhao.min", Text("Zhao Min"), roles=frozenset(roles))])

    everyone = ("han.meimei", "zhang.wei", "liu.yang", "li.lei")
    assert assignable(TEAM, manager(Role.MANAGER)) == everyone
    assert assignable(TEAM, StaticDirectory()) == everyone  # a manager nobody knows
    assert assignable(TEAM, manager(Role.MANAGER, Role.AGENT)) == (*everyone, "zhao.min")
    assert assignable(Team("desk", Text("Desk")), manager(Role.AGENT)) == ()
