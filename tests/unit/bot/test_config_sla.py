"""Calendars, SLA policies, escalation chains, rotations and assignment in the config file."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.config import Config, ConfigError, load_config, parse_config
from bot.config.schedule import parse_duration
from core.assignment import Strategy, TicketFacts, Workload, assign
from core.escalation import Anchor, NoticeKind, Recipient, RecipientKind
from core.oncall import who_is_on_call
from core.sla import SlaMetric
from core.ticket import Priority

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "gongdan.example.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")

BASE: dict[str, Any] = {
    "service": {"name": "Test desk"},
    "people": [
        {"id": "li.lei", "name": "Li Lei", "roles": ["agent", "lead"]},
        {"id": "han.meimei", "name": "Han Meimei", "roles": ["agent"]},
    ],
    "teams": [{"id": "it", "name": "IT", "members": ["han.meimei"], "lead": "li.lei"}],
    "ticket_types": [{"id": "it", "prefix": "IT", "name": "IT", "default_team": "it"}],
    "calendars": [
        {"id": "office", "kind": "china", "hours": [["09:00", "12:00"], ["13:00", "18:00"]]}
    ],
    "sla_policies": [
        {
            "id": "it-default",
            "calendar": "office",
            "applies_to": {"types": ["it"], "priorities": ["normal", "low"]},
            "first_response": {"within": "4h"},
            "escalation": "standard",
        }
    ],
    "escalation_chains": [
        {
            "id": "standard",
            "steps": [{"at": "-10m", "relative_to": "first_response", "notify": "assignee"}],
        }
    ],
}


def config_with(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def problems_of(data: dict[str, Any] | str) -> list[str]:
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    return caught.value.problems


def policy(**changes: Any) -> dict[str, Any]:
    return {**BASE["sla_policies"][0], **changes}


@pytest.fixture
def example() -> Config:
    return load_config(EXAMPLE, env={})


# --- the example file ----------------------------------------------------------------------------


def test_example_chinese_office_calendar_knows_the_spring_festival(example: Config) -> None:
    office = example.calendars(years=[2026])["cn-office"]
    # 2026-02-16 is inside the Spring Festival break; Saturday 2026-02-14 is a make-up workday
    assert not office.is_open(datetime(2026, 2, 16, 10, 0, tzinfo=SHANGHAI))
    assert office.is_open(datetime(2026, 2, 14, 10, 0, tzinfo=SHANGHAI))
    assert not office.is_open(datetime(2026, 12, 31, 10, 0, tzinfo=SHANGHAI))


def test_example_picks_one_sla_policy_per_type_and_priority(example: Config) -> None:
    normal = example.sla_policy_for("it", Priority.NORMAL)
    urgent = example.sla_policy_for("it", Priority.URGENT)
    repair = example.sla_policy_for("repair", Priority.LOW)
    assert (normal and normal.id, urgent and urgent.id, repair and repair.id) == (
        "it-default",
        "it-urgent",
        "facilities",
    )
    assert normal is not None
    assert normal.first_response_counts == ("accept", "public_reply")
    targets = {t.metric: t for t in example.sla_policies()["it-default"].targets}
    assert targets[SlaMetric.FIRST_RESPONSE].duration == timedelta(hours=4)
    assert targets[SlaMetric.FIRST_RESPONSE].business_time
    assert targets[SlaMetric.RESOLUTION].duration == timedelta(days=2)
    assert not targets[SlaMetric.RESOLUTION].business_time


def test_example_chain_reminds_assignee_then_lead_then_manager(example: Config) -> None:
    chain = example.chains()["it-standard"]
    reminder, lead, manager, _late = chain.steps
    assert (reminder.offset, reminder.anchor, reminder.kind) == (
        timedelta(minutes=-10),
        Anchor.FIRST_RESPONSE,
        NoticeKind.REMINDER,
    )
    assert lead.recipient == Recipient(RecipientKind.TEAM_LEAD)
    assert lead.also_team_channel
    assert (manager.offset, manager.repeat_every, manager.max_repeats) == (
        timedelta(hours=1),
        timedelta(minutes=30),
        4,
    )
    assert chain.urgent_priorities == frozenset({Priority.URGENT})
    facilities = example.chains()["facilities-standard"]
    assert facilities.steps[-1].recipient == Recipient(RecipientKind.PERSON, "zhao.min")


def test_example_rotation_override_covers_a_week_of_leave(example: Config) -> None:
    rotation = example.rotations()["it-on-call"]
    first_week = datetime(2026, 1, 7, 23, 0, tzinfo=SHANGHAI)
    covered = datetime(2026, 2, 10, 23, 0, tzinfo=SHANGHAI)
    assert who_is_on_call(rotation, first_week)[0] == "zhang.wei"
    assert who_is_on_call(rotation, covered)[0] == "li.lei"


def test_example_it_team_assigns_by_skill_then_load(example: Config) -> None:
    calendars = example.calendars(years=[2026])
    policies = example.assignment_policies(calendars)
    assert policies["it"].strategies == (Strategy.SKILLS, Strategy.LEAST_LOADED, Strategy.ON_CALL)
    team = example.directory().team("it")
    assert team is not None
    people = example.availability(calendars)
    # Wednesday 14:00: both at work; only zhang.wei knows networks
    decision = assign(
        team,
        policies["it"],
        TicketFacts("it", {"category": "network"}),
        now=datetime(2026, 1, 7, 14, 0, tzinfo=SHANGHAI),
        workload=Workload(),
        availability=people,
    )
    assert decision.assignee_id == "zhang.wei"
    assert decision.reason == "skill network matched; least loaded: 0 open, weight 0"


def test_example_it_team_falls_back_to_on_call_at_night(example: Config) -> None:
    calendars = example.calendars(years=[2026])
    team = example.directory().team("it")
    assert team is not None
    decision = assign(
        team,
        example.assignment_policies(calendars)["it"],
        TicketFacts("it", {"category": "hardware"}),
        now=datetime(2026, 1, 7, 23, 0, tzinfo=SHANGHAI),
        workload=Workload(),
        availability=example.availability(calendars),
    )
    assert (decision.assignee_id, decision.reason) == (
        "zhang.wei",
        "skill hardware not held by any available member; on call (weekly rotation)",
    )


def test_example_people_carry_their_calendar_and_leave(example: Config) -> None:
    people = example.availability(example.calendars(years=[2026]))
    assert people["han.meimei"].on_leave(datetime(2026, 2, 13, 17, 0, tzinfo=SHANGHAI))
    late_shift = people["zhang.wei"].hours
    assert late_shift is not None
    assert late_shift.is_open(datetime(2026, 1, 7, 19, 30, tzinfo=SHANGHAI))


# --- durations and times ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(hours=48)),
        ("1h30m", timedelta(minutes=90)),
        ("-10m", timedelta(minutes=-10)),
        ("+1h", timedelta(hours=1)),
        ("0", timedelta(0)),
        (0, timedelta(0)),
    ],
)
def test_durations_read_as_written(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_bad_duration_is_reported_at_its_key() -> None:
    data = config_with(sla_policies=[policy(first_response={"within": "12x"})])
    assert problems_of(data) == [
        "sla_policies[0].first_response.within: '12x' is not a duration; write a number with "
        "d, h, m or s, e.g. 30m, 4h, 2d or 1h30m (a sign for offsets: -10m, +1h)"
    ]


def test_zero_target_is_refused() -> None:
    data = config_with(sla_policies=[policy(first_response={"within": "0"})])
    assert problems_of(data) == [
        "sla_policies[0].first_response.within: '0' must be a positive duration, e.g. 30m or 4h"
    ]


def test_unquoted_time_of_day_is_explained() -> None:
    text = yaml.safe_dump(config_with(calendars=[]), allow_unicode=True)
    text = text.replace(
        "calendars: []", "calendars:\n- {id: office, kind: china, hours: [[9:00, 18:00]]}"
    )
    assert problems_of(text) == [
        'calendars[0].hours[0][0]: got the number 540: quote times of day, e.g. "18:00"',
        'calendars[0].hours[0][1]: got the number 1080: quote times of day, e.g. "18:00"',
    ]


# --- sections checking themselves ------------------------------------------------------------------


def test_business_time_target_without_a_calendar_is_refused() -> None:
    data = config_with(sla_policies=[policy(calendar=None)])
    assert problems_of(data) == [
        "sla_policies[0]: targets in business time need a 'calendar' (or set business_time: false)"
    ]


def test_weekly_calendar_with_china_keys_is_refused() -> None:
    calendar = {
        "id": "berlin",
        "timezone": "Europe/Berlin",
        "weekly": {"mon": [["09:00", "17:00"]]},
    }
    data = config_with(calendars=[{**calendar, "extra_holidays": ["2026-12-24"]}])
    assert problems_of(data)[0] == "calendars[0]: a weekly calendar does not take extra_holidays"


def test_reversed_business_hours_are_refused() -> None:
    data = config_with(calendars=[{"id": "office", "weekly": {"mon": [["17:00", "09:00"]]}}])
    assert problems_of(data) == [
        "calendars[0]: calendar 'office', weekday 0: range 17:00:00-09:00:00 must open before it closes"
    ]


def test_weekly_calendar_builds_with_its_hours() -> None:
    weekly = {"mon": [["09:00", "17:00"]], "sat": [["10:00", "12:00"]]}
    calendar = {"id": "office", "kind": "weekly", "timezone": "Europe/Berlin", "weekly": weekly}
    config = parse_config(yaml.safe_dump(config_with(calendars=[calendar])), env={})
    built = config.calendars()["office"]
    assert built.weekly[0] == ((time(9), time(17)),)
    assert built.weekly[5] == ((time(10), time(12)),)
    assert built.timezone == "Europe/Berlin"


def test_on_call_strategy_without_rotation_is_refused() -> None:
    team = {**BASE["teams"][0], "assignment": {"strategy": "on_call"}}
    assert problems_of(config_with(teams=[team])) == [
        "teams[0].assignment: the on_call strategy needs 'rotation'"
    ]


def test_leave_ending_before_it_starts_is_refused() -> None:
    people = copy.deepcopy(BASE["people"])
    people[1]["leave"] = [{"from": date(2026, 2, 9), "to": date(2026, 2, 1)}]
    assert problems_of(config_with(people=people)) == [
        "people[1].leave[0]: 'to' (2026-02-01) is before 'from' (2026-02-09)"
    ]


def test_max_repeats_without_repeat_every_is_refused() -> None:
    step = {"at": "0", "relative_to": "first_response", "notify": "manager", "max_repeats": 3}
    data = config_with(escalation_chains=[{"id": "standard", "steps": [step]}])
    assert problems_of(data) == [
        "escalation_chains[0].steps[0]: 'max_repeats' needs 'repeat_every'"
    ]


# --- references between sections --------------------------------------------------------------------


def test_unknown_calendar_chain_rotation_and_person_are_reported() -> None:
    people = copy.deepcopy(BASE["people"])
    people[0]["calendar"] = "night-shift"
    team = {
        **BASE["teams"][0],
        "assignment": {"strategy": ["on_call"], "rotation": "nights", "skills": {"wang.wu": ["x"]}},
    }
    step = {"at": "0", "relative_to": "first_response", "notify": "zhao.min"}
    data = config_with(
        people=people,
        teams=[team],
        sla_policies=[policy(calendar="offfice", escalation="standrad")],
        escalation_chains=[{"id": "standard", "steps": [step]}],
        rotations=[
            {
                "id": "days",
                "kind": "weekly",
                "participants": ["li.lei", "ghost"],
                "start": "2026-01-05",
            }
        ],
    )
    assert problems_of(data) == [
        "people[0].calendar: unknown calendar 'night-shift' (known: office)",
        "sla_policies[0].calendar: unknown calendar 'offfice' (known: office)",
        "sla_policies[0].escalation: unknown escalation chain 'standrad' (known: standard)",
        "escalation_chains[0].steps[0].notify: unknown person 'zhao.min' (known: li.lei, han.meimei)",
        "rotations[0].participants[1]: unknown person 'ghost' (known: li.lei, han.meimei)",
        "teams[0].assignment.rotation: unknown rotation 'nights' (known: days)",
        "teams[0].assignment.skills.wang.wu: unknown person 'wang.wu' (known: li.lei, han.meimei)",
    ]


def test_overlapping_policies_are_reported() -> None:
    second = policy(id="it-all", applies_to={"types": ["it"]})
    data = config_with(sla_policies=[BASE["sla_policies"][0], second])
    assert problems_of(data) == [
        "sla_policies[1].applies_to: overlaps sla_policies[0] (it-default) for type it, "
        "priority low, normal; a ticket type and priority may have one SLA policy only"
    ]


def test_disjoint_policies_are_fine() -> None:
    urgent = policy(id="it-urgent", applies_to={"types": ["it"], "priorities": ["urgent"]})
    config = parse_config(
        yaml.safe_dump(config_with(sla_policies=[BASE["sla_policies"][0], urgent])), env={}
    )
    chosen = config.sla_policy_for("it", Priority.URGENT)
    assert chosen is not None
    assert chosen.id == "it-urgent"
    assert config.sla_policy_for("it", Priority.HIGH) is None


def test_duplicate_ids_are_reported() -> None:
    data = config_with(calendars=BASE["calendars"] * 2)
    assert problems_of(data) == [
        "calendars[1].id: duplicate calendar id 'office' (already used by calendars[0])"
    ]


def test_rotation_override_without_offset_is_read_in_the_rotations_zone() -> None:
    rotation = {
        "id": "nights",
        "kind": "daily",
        "participants": ["li.lei"],
        "timezone": "Europe/Berlin",
        "start": "2026-01-05",
        "overrides": [
            {"person": "han.meimei", "from": "2026-01-10 18:00", "to": "2026-01-11 09:00"}
        ],
    }
    config = parse_config(yaml.safe_dump(config_with(rotations=[rotation])), env={})
    [override] = config.rotations()["nights"].overrides
    assert override.start == datetime(2026, 1, 10, 17, 0, tzinfo=UTC)
