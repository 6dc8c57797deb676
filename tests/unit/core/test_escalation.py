"""Escalation chains on a four-hour SLA: who hears what when, exactly once, and quiet hours."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.calendar import BusinessCalendar
from core.clock import FrozenClock
from core.escalation import (
    Anchor,
    EscalationChain,
    EscalationError,
    EscalationStep,
    NoticeKind,
    Recipient,
    RecipientKind,
)
from core.escalation_plan import (
    EscalationPlan,
    EscalationState,
    StepFiring,
    due_steps,
    fire,
    next_due,
    plan,
    replan,
    restart,
)
from core.i18n import Text
from core.people import Team
from core.quiet_hours import DeliveryRoute, deliver_at
from core.sla import SlaMetric, SlaPolicy, SlaTarget, start_clocks
from core.ticket import Priority

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
OFFICE = BusinessCalendar(
    id="office",
    timezone="Asia/Shanghai",
    weekly=dict.fromkeys(range(5), ((time(9), time(12)), (time(13), time(18)))),
    holidays=frozenset(),
    workdays=frozenset(),
)
FOUR_HOURS = SlaPolicy(
    "it-p2", (SlaTarget(SlaMetric.FIRST_RESPONSE, 4 * HOUR, business_time=True),), "office"
)
TWO_HOURS = SlaPolicy(
    "it-p1", (SlaTarget(SlaMetric.FIRST_RESPONSE, 2 * HOUR, business_time=True),), "office"
)
CHAIN = EscalationChain(
    id="it-standard",
    steps=(
        EscalationStep(
            -10 * MINUTE,
            Anchor.FIRST_RESPONSE,
            Recipient(RecipientKind.ASSIGNEE),
            NoticeKind.REMINDER,
        ),
        EscalationStep(
            timedelta(0),
            Anchor.FIRST_RESPONSE,
            Recipient(RecipientKind.TEAM_LEAD),
            also_team_channel=True,
        ),
        EscalationStep(
            HOUR,
            Anchor.FIRST_RESPONSE,
            Recipient(RecipientKind.MANAGER),
            repeat_every=30 * MINUTE,
            max_repeats=4,
        ),
    ),
    urgent_priorities=frozenset({Priority.URGENT}),
)
# Wednesday 2026-01-07 09:00 Shanghai: a four-hour business target is due at 14:00 (lunch 12-13)
OPENED = datetime(2026, 1, 7, 9, 0, tzinfo=SHANGHAI)
BREACH = datetime(2026, 1, 7, 14, 0, tzinfo=SHANGHAI)


def opened(policy: SlaPolicy = FOUR_HOURS) -> tuple[EscalationPlan, EscalationState]:
    clocks = start_clocks(policy, {"office": OFFICE}, OPENED)
    return plan(CHAIN, clocks, OPENED, ticket_key="IT-1042"), EscalationState()


def who(sent: list[StepFiring]) -> list[str]:
    return [f"{n.recipient}#{n.occurrence}" for n in sent]


def at(hh: int, mm: int) -> datetime:
    return datetime(2026, 1, 7, hh, mm, tzinfo=SHANGHAI)


def run_until(
    until: datetime, current: EscalationPlan, state: EscalationState, clock: FrozenClock
) -> tuple[list[tuple[datetime, str]], EscalationState]:
    """Drive the chain like the scheduler would: jump to each next due instant and fire."""
    log: list[tuple[datetime, str]] = []
    while (due := next_due(current, state)) is not None and due <= until:
        clock.set(due)
        sent, state = fire(current, clock.now(), state)
        log += [(clock.now(), name) for name in who(sent)]
    return log, state


def test_four_hour_chain_reminds_then_escalates_then_repeats_until_the_limit() -> None:
    current, state = opened()
    clock = FrozenClock(OPENED)
    log, state = run_until(BREACH + 5 * HOUR, current, state, clock)
    assert log == [
        (at(13, 50), "assignee#0"),
        (at(14, 0), "team_lead#0"),
        (at(14, 0), "team_channel#0"),
        (at(15, 0), "manager#0"),
        (at(15, 30), "manager#1"),
        (at(16, 0), "manager#2"),
        (at(16, 30), "manager#3"),
        (at(17, 0), "manager#4"),
    ]
    assert next_due(current, state) is None


def test_each_step_fires_once_however_often_the_scheduler_asks() -> None:
    current, state = opened()
    sent, state = fire(current, BREACH, state)
    assert who(sent) == ["assignee#0", "team_lead#0", "team_channel#0"]
    assert fire(current, BREACH, state)[0] == []
    assert fire(current, BREACH + 59 * MINUTE, state)[0] == []


def test_repeats_missed_during_downtime_fire_once_for_the_latest() -> None:
    current, state = opened()
    _, state = fire(current, BREACH, state)
    sent, state = fire(current, BREACH + HOUR + 65 * MINUTE, state)
    assert who(sent) == ["manager#2"]
    assert next_due(current, state) == BREACH + HOUR + 90 * MINUTE


def test_acknowledging_stops_the_chain() -> None:
    current, state = opened()
    _, state = fire(current, BREACH, state)
    state = state.acknowledge()
    assert next_due(current, state) is None
    assert due_steps(current, BREACH + 3 * HOUR, state) == []


def test_resolving_cancels_pending_steps() -> None:
    current, state = opened()
    state = state.resolve()
    assert next_due(current, state) is None
    assert due_steps(current, BREACH + HOUR, state) == []


def test_replan_after_priority_change_does_not_refire_fired_steps() -> None:
    current, state = opened(FOUR_HOURS)
    _, state = fire(current, BREACH - 10 * MINUTE, state)  # the reminder went out at 13:50
    # raised to high at 13:55: the new two-hour target (from 09:00) was due at 11:00 already
    clocks = start_clocks(TWO_HOURS, {"office": OFFICE}, OPENED)
    current, state = replan(current, clocks, state)
    sent = due_steps(current, datetime(2026, 1, 7, 13, 55, tzinfo=SHANGHAI), state)
    # no second reminder; the lead hears now, the manager once (for the 13:30 repeat)
    assert who(sent) == ["team_lead#0", "team_channel#0", "manager#3"]


def test_replan_makes_timers_of_the_old_plan_do_nothing() -> None:
    old, state = opened()
    clocks = start_clocks(FOUR_HOURS, {"office": OFFICE}, OPENED)
    new, new_state = replan(old, clocks, state)
    assert new.generation == new_state.generation == old.generation + 1
    assert due_steps(new, BREACH, new_state, token=old.generation) == []
    assert due_steps(old, BREACH, new_state) == []
    assert who(due_steps(new, BREACH, new_state, token=new.generation))[0] == "assignee#0"


def test_paused_clock_holds_its_steps_until_resumed() -> None:
    clocks = start_clocks(FOUR_HOURS, {"office": OFFICE}, OPENED)
    current, state = plan(CHAIN, clocks, OPENED, ticket_key="IT-1042"), EscalationState()
    # waiting for the requester from 10:00 to 11:00
    paused = {m: c.pause(OPENED + HOUR) for m, c in clocks.items()}
    current, state = replan(current, paused, state)
    assert next_due(current, state) is None
    resumed = {m: c.resume(OPENED + 2 * HOUR) for m, c in paused.items()}
    current, state = replan(current, resumed, state)
    assert next_due(current, state) == BREACH + HOUR - 10 * MINUTE


def test_step_relative_to_creation_counts_from_opening() -> None:
    chain = EscalationChain(
        "nudge",
        (EscalationStep(30 * MINUTE, Anchor.CREATED, Recipient.parse("li.lei")),),
    )
    current = plan(chain, {}, OPENED, ticket_key="IT-7")
    assert next_due(current, EscalationState()) == OPENED + 30 * MINUTE
    [notice] = due_steps(current, OPENED + 30 * MINUTE, EscalationState())
    assert notice.recipient == Recipient(RecipientKind.PERSON, "li.lei")
    assert notice.key == "IT-7/nudge:0#0/li.lei"


def test_restart_counts_creation_steps_from_the_reopen_with_new_keys_and_nothing_fired() -> None:
    chain = EscalationChain(
        "nudge",
        (EscalationStep(30 * MINUTE, Anchor.CREATED, Recipient.parse("li.lei")),),
    )
    current = plan(chain, {}, OPENED, ticket_key="IT-7")
    [first], state = fire(current, OPENED + 30 * MINUTE, EscalationState())
    state = state.acknowledge().resolve()
    reopened = OPENED + 2 * 24 * HOUR

    again, fresh = restart(current, {}, state, reopened)

    assert next_due(again, fresh) == reopened + 30 * MINUTE
    [notice] = due_steps(again, reopened + 30 * MINUTE, fresh, token=again.generation)
    assert (first.key, notice.key) == ("IT-7/nudge:0#0/li.lei", "IT-7/nudge:0@2#0/li.lei")
    assert due_steps(again, reopened + HOUR, fresh, token=current.generation) == []
    assert restart(again, {}, fresh, reopened + HOUR)[0].steps[0].step_id == "nudge:0@3"


def test_plan_and_state_survive_a_json_round_trip() -> None:
    current, state = opened()
    _, state = fire(current, BREACH, state)
    stored_plan = json.loads(json.dumps(current.to_json()))
    stored_state = json.loads(json.dumps(state.to_json()))
    assert EscalationPlan.from_json(stored_plan) == current
    assert EscalationState.from_json(stored_state) == state


def test_recipients_resolve_to_the_people_holding_the_roles() -> None:
    team = Team("it", Text("IT", "IT"), ("han.meimei",), lead="li.lei", manager="zhao.min")
    assert Recipient.parse("assignee").person("han.meimei", team) == "han.meimei"
    assert Recipient.parse("team_lead").person("han.meimei", team) == "li.lei"
    assert Recipient.parse("manager").person(None, team) == "zhao.min"
    assert Recipient.parse("team_channel").person("han.meimei", team) is None


def test_the_team_channel_and_a_vacant_role_name_nobody_and_a_person_names_themselves() -> None:
    assert Recipient.parse("team_lead").person("han.meimei", None) is None
    assert Recipient(RecipientKind.TEAM_CHANNEL).person("han.meimei", None) is None
    assert Recipient.parse("wang.fang").person("han.meimei", None) == "wang.fang"


@pytest.mark.parametrize(
    ("kind", "person_id"), [(RecipientKind.PERSON, None), (RecipientKind.ASSIGNEE, "li.lei")]
)
def test_only_a_person_recipient_names_a_person(kind: RecipientKind, person_id: str | None) -> None:
    with pytest.raises(EscalationError, match="names a person id"):
        Recipient(kind, person_id)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"repeat_every": timedelta(0)}, "repeat_every must be positive"),
        ({"repeat_every": HOUR, "max_repeats": -1}, "max_repeats must not be negative"),
    ],
)
def test_a_step_that_cannot_repeat_as_written_is_refused(
    changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(EscalationError, match=reason):
        EscalationStep(HOUR, Anchor.CREATED, Recipient(RecipientKind.ASSIGNEE), **changes)


def test_a_damaged_stored_plan_is_refused_with_what_is_wrong() -> None:
    current, _ = opened()
    damaged = current.to_json()
    del damaged["steps"][0]["anchor"]
    with pytest.raises(EscalationError, match="not a stored escalation plan: KeyError"):
        EscalationPlan.from_json(damaged)


# --- quiet hours -------------------------------------------------------------------------------


def reminder_at(when: datetime) -> StepFiring:
    current, state = opened()
    [notice] = due_steps(current, BREACH - 10 * MINUTE, state)
    return StepFiring(
        notice.recipient, notice.kind, notice.ticket_key, notice.step_id, 0, when,
        notice.urgent_priorities,
    )  # fmt: skip


def test_quiet_hours_hold_a_reminder_until_the_recipients_morning() -> None:
    evening = datetime(2026, 1, 7, 20, 0, tzinfo=SHANGHAI)
    when, route = deliver_at(reminder_at(evening), OFFICE, Priority.NORMAL, evening)
    assert when == datetime(2026, 1, 8, 9, 0, tzinfo=SHANGHAI)
    assert route is DeliveryRoute.NORMAL


def test_urgent_ticket_goes_out_now_by_the_urgent_route() -> None:
    evening = datetime(2026, 1, 7, 20, 0, tzinfo=SHANGHAI)
    when, route = deliver_at(reminder_at(evening), OFFICE, Priority.URGENT, evening)
    assert when == evening.astimezone(UTC)
    assert route is DeliveryRoute.URGENT


def test_reminder_within_working_hours_goes_out_now() -> None:
    noon = datetime(2026, 1, 7, 11, 0, tzinfo=SHANGHAI)
    assert deliver_at(reminder_at(noon), OFFICE, Priority.URGENT, noon) == (
        noon.astimezone(UTC),
        DeliveryRoute.NORMAL,
    )


def test_recipient_without_a_calendar_takes_messages_at_any_hour() -> None:
    night = datetime(2026, 1, 8, 3, 0, tzinfo=SHANGHAI)
    assert deliver_at(reminder_at(night), None, Priority.LOW, night)[1] is DeliveryRoute.NORMAL
