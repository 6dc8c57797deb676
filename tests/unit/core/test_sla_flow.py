"""SLA clocks and escalation on a ticket's life, with an injected clock: hours run in milliseconds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from core.assignment import AssignmentPolicy, Availability, Strategy, Workload
from core.bus import handle
from core.calendar import BusinessCalendar
from core.card import CardKind, build_card
from core.clock import FrozenClock
from core.commands import FireTimer
from core.escalation import (
    Anchor,
    EscalationChain,
    EscalationStep,
    NoticeKind,
    Recipient,
    RecipientKind,
)
from core.events import EventKind
from core.notice_card import build_notice_card
from core.ports import Context, Schedule, SlaChoice, TeamLoad
from core.quiet_hours import DeliveryRoute
from core.sla import SlaMetric, SlaPolicy, SlaTarget
from core.ticket import Priority
from core.timekeeping import load, sla_due
from core.workflow import Action
from tests.unit.core.fakes import FakeUnitOfWork, make_context, opened, press, tick

START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
OFFICE = BusinessCalendar(
    "office",
    "Asia/Shanghai",
    {d: ((time(9), time(18)),) for d in range(5)},
    frozenset(),
    frozenset(),
)
CHAIN = EscalationChain(
    "std",
    (
        EscalationStep(
            timedelta(minutes=-10),
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
            timedelta(hours=1),
            Anchor.FIRST_RESPONSE,
            Recipient(RecipientKind.MANAGER),
            repeat_every=timedelta(minutes=30),
        ),
    ),
    urgent_priorities=frozenset({Priority.URGENT}),
)
FOUR_HOURS = SlaPolicy(
    "four-hours",
    (
        SlaTarget(SlaMetric.FIRST_RESPONSE, timedelta(hours=4), business_time=False),
        SlaTarget(SlaMetric.RESOLUTION, timedelta(hours=8), business_time=False),
    ),
    "office",
)
ONE_HOUR = SlaPolicy(
    "one-hour",
    (SlaTarget(SlaMetric.FIRST_RESPONSE, timedelta(hours=1), business_time=False),),
    "office",
)


class Loads:
    def __init__(self, workload: Workload, last: str | None = None) -> None:
        self.workload, self.last = workload, last
        self.reads = 0
        self.decisions: list[str] = []

    async def load(self, team_id: str) -> TeamLoad:
        self.reads += 1
        return TeamLoad(self.workload, self.last)

    def assigned(self, team_id: str, person_id: str, priority: Priority) -> None:
        self.decisions.append(person_id)


def context(clock: FrozenClock, **schedule: Any) -> Context:
    def sla_for(type_id: str, priority: Priority) -> SlaChoice | None:
        policy = ONE_HOUR if priority in (Priority.URGENT, Priority.HIGH) else FOUR_HOURS
        return SlaChoice(policy, CHAIN, frozenset({"accept", "public_reply"}))

    base = make_context(clock)
    settings = Schedule(timezone="Asia/Shanghai", calendars={"office": OFFICE}, sla_for=sla_for)
    return replace(base, schedule=replace(settings, **schedule))


async def test_four_hour_chain_reminds_then_escalates_then_repeats_in_milliseconds() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    assert ticket.assignee_id == "wangfang"  # lead-or-queue: the IT team has no policy

    reminder = await tick(uow, ctx, ticket)
    assert clock.now() == START + timedelta(hours=3, minutes=50)
    assert [(n.kind, n.person_id) for n in reminder] == [(NoticeKind.REMINDER, "wangfang")]

    breach = await tick(uow, ctx, ticket)
    assert clock.now() == START + timedelta(hours=4)
    assert [n.person_id for n in breach] == ["wangfang", None]  # the lead, and the team's chat

    manager = await tick(uow, ctx, ticket)
    repeat = await tick(uow, ctx, ticket)
    assert [n.person_id for n in manager + repeat] == ["chenjing", "chenjing"]
    assert clock.now() == START + timedelta(hours=5, minutes=30)
    assert EventKind.TICKET_ESCALATED in uow.event_kinds
    assert EventKind.REMINDER_SENT in uow.event_kinds


async def test_accept_stops_the_chain() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    await tick(uow, ctx, ticket)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")

    assert ticket.wake_at is None
    tk = load(ticket, ctx)
    assert tk is not None and tk.clocks[SlaMetric.FIRST_RESPONSE].stopped


async def test_a_timer_from_before_a_change_sends_nothing() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    stale = ticket.timer_generation
    await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "wangfang", priority="high")
    clock.advance(timedelta(hours=5))

    assert await handle(FireTimer(ticket.key, stale), uow, ctx) == []


async def test_priority_change_replans_to_the_new_target_and_keeps_fired_steps_fired() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    before = sla_due(ticket)
    clock.advance(timedelta(minutes=20))
    await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "wangfang", priority="urgent")

    assert before == START + timedelta(hours=4)
    assert sla_due(ticket) == START + timedelta(hours=1)  # measured from the same start
    assert ticket.wake_at == START + timedelta(minutes=50)
    first = await tick(uow, ctx, ticket)
    assert [n.kind for n in first] == [NoticeKind.REMINDER]
    again = await tick(uow, ctx, ticket)
    assert all(n.kind is NoticeKind.ESCALATION for n in again)


async def test_waiting_pauses_and_resume_pushes_the_due_time_by_the_wait() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    clock.advance(timedelta(hours=1))
    await press(uow, ctx, ticket.key, Action.WAIT, "wangfang")
    paused = load(ticket, ctx)
    assert paused is not None and paused.clocks[SlaMetric.RESOLUTION].paused
    clock.advance(timedelta(hours=2))
    await press(uow, ctx, ticket.key, Action.RESUME, "wangfang")

    assert sla_due(ticket) == START + timedelta(hours=10)


async def test_resolve_stops_every_clock_and_cancels_pending_steps() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang")

    assert ticket.wake_at is None
    assert sla_due(ticket) is None


async def test_first_public_reply_by_the_team_counts_as_first_response() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    clock.advance(timedelta(minutes=5))
    await press(uow, ctx, ticket.key, Action.COMMENT, "lilei", body="我们在看了")

    tk = load(ticket, ctx)
    assert tk is not None and tk.clocks[SlaMetric.FIRST_RESPONSE].stopped
    assert ticket.wake_at is None  # the chain hangs off first response only


async def test_reminder_waits_for_the_recipients_morning_unless_urgent() -> None:
    late = START + timedelta(hours=9, minutes=30)  # 18:30 in Shanghai, after hours
    clock = FrozenClock(late)
    ctx = context(clock, hours={"wangfang": OFFICE})
    uow = FakeUnitOfWork()
    normal = await opened(uow, ctx)
    urgent = await opened(uow, ctx, priority="urgent")

    held = await tick(uow, ctx, normal)
    assert held[0].deliver_at == datetime(2026, 1, 6, 1, 0, tzinfo=UTC)  # 09:00 next day
    assert held[0].route is DeliveryRoute.NORMAL
    clock.set(late)
    now = await tick(uow, ctx, urgent)
    assert now[0].deliver_at == clock.now()
    assert now[0].route is DeliveryRoute.URGENT


async def test_snooze_holds_the_next_reminder() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    clock.advance(timedelta(hours=3, minutes=45))
    await press(uow, ctx, ticket.key, Action.SNOOZE, "wangfang")

    reminder = await tick(uow, ctx, ticket)
    assert reminder[0].deliver_at == START + timedelta(hours=4, minutes=15)


async def test_config_edits_affect_new_tickets_only() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)

    def stricter(type_id: str, priority: Priority) -> SlaChoice:
        return SlaChoice(ONE_HOUR, None)

    edited = replace(ctx, schedule=replace(ctx.schedule, sla_for=stricter))
    fresh = await opened(uow, edited)

    assert sla_due(ticket) == START + timedelta(hours=4)
    assert sla_due(fresh) == START + timedelta(hours=1)


async def test_team_policy_assigns_least_loaded_and_logs_the_reason() -> None:
    clock = FrozenClock(START)
    loads = Loads(Workload({"lilei": 2, "alice": 1}, {"lilei": 4, "alice": 2}))
    policy = AssignmentPolicy((Strategy.LEAST_LOADED,))
    ctx = context(clock, assignment={"it": policy}, loads=loads)
    uow = FakeUnitOfWork()
    ticket = await opened(uow, ctx)

    assert ticket.assignee_id == "hanmeimei"
    assigned = [e for e in uow.events if e.kind is EventKind.TICKET_ASSIGNED]
    assert assigned[0].data["reason"] == "least loaded: 0 open, weight 0"
    assert loads.decisions == ["hanmeimei"]


async def test_nobody_available_leaves_the_ticket_in_the_queue_with_the_reason() -> None:
    clock = FrozenClock(START)
    everyone_off = {p: Availability(hours=OFFICE) for p in ("lilei", "hanmeimei", "alice")}
    policy = AssignmentPolicy((Strategy.ROUND_ROBIN,))
    ctx = context(
        clock, assignment={"it": policy}, availability=everyone_off, loads=Loads(Workload())
    )
    clock.set(START + timedelta(hours=12))  # 21:00 in Shanghai
    uow = FakeUnitOfWork()
    ticket = await opened(uow, ctx)

    assert ticket.assignee_id is None
    reason = uow.events[-1].data["reason"]
    assert reason.startswith("nobody available (lilei off hours")


async def test_card_shows_sla_due_in_the_service_time_zone_naming_its_target() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    card = build_card(ticket, ctx, "en")
    zh = build_card(ticket, ctx, "zh-CN")

    assert ("SLA due (first response)", "2026-01-05 13:00 (Asia/Shanghai)") in [
        (f.label, f.value) for f in card.fields
    ]
    assert "SLA 截止（首次响应）" in [f.label for f in zh.fields]


async def test_escalation_card_says_how_late_who_holds_it_and_offers_take_over() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    await tick(uow, ctx, ticket)
    await tick(uow, ctx, ticket)
    manager = await tick(uow, ctx, ticket)
    card = build_notice_card(ticket, ctx, "en", manager[0])

    assert card.kind is CardKind.ESCALATION
    assert "1 h 0 min late" in card.body
    shown = {f.label: f.value for f in card.fields}
    assert shown["Held by"] == "Wang Fang"
    assert "2 earlier notices" in shown["So far"]
    assert [a.id for a in card.actions] == [Action.ASSIGN, Action.CLAIM]


async def test_reminder_card_offers_accept_and_snooze() -> None:
    clock = FrozenClock(START)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    reminder = await tick(uow, ctx, ticket)
    card = build_notice_card(ticket, ctx, "zh-CN", reminder[0])

    assert card.kind is CardKind.REMINDER
    assert [a.id for a in card.actions] == [Action.ACCEPT, Action.SNOOZE]
    assert "还剩 10 分钟" in card.body
