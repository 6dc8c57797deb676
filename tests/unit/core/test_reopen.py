"""A reopened ticket starts a new SLA cycle and a new escalation chain, with an injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from core.bus import handle
from core.calendar import BusinessCalendar
from core.card import build_card
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
from core.ports import Context, Schedule, SlaChoice
from core.sla import SlaMetric, SlaPolicy, SlaTarget
from core.ticket import Priority, Status, Ticket
from core.timekeeping import load, sla_due
from core.workflow import Action
from tests.unit.core.fakes import FakeUnitOfWork, make_context, opened, press, tick

MONDAY = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # Monday 2026-01-05 09:00 in Shanghai
TUESDAY_10 = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
FRIDAY_1730 = datetime(2026, 1, 9, 9, 30, tzinfo=UTC)  # Friday 17:30 in Shanghai
MONDAY_1230 = datetime(2026, 1, 12, 4, 30, tzinfo=UTC)  # next Monday 12:30 in Shanghai
OFFICE = BusinessCalendar(
    "office",
    "Asia/Shanghai",
    {d: ((time(9), time(18)),) for d in range(5)},
    frozenset(),
    frozenset(),
)
BUSINESS = SlaPolicy(
    "office-4h",
    (
        SlaTarget(SlaMetric.FIRST_RESPONSE, timedelta(hours=1), business_time=True),
        SlaTarget(SlaMetric.RESOLUTION, timedelta(hours=4), business_time=True),
    ),
    "office",
)
WITH_UPDATES = replace(
    BUSINESS,
    id="office-4h-updates",
    targets=(*BUSINESS.targets, SlaTarget(SlaMetric.NEXT_UPDATE, timedelta(hours=2), True)),
)
CHAIN = EscalationChain(
    "office",
    (
        EscalationStep(
            timedelta(minutes=30),
            Anchor.CREATED,
            Recipient(RecipientKind.ASSIGNEE),
            NoticeKind.REMINDER,
        ),
        EscalationStep(timedelta(0), Anchor.RESOLUTION, Recipient(RecipientKind.TEAM_LEAD)),
    ),
)


def context(clock: FrozenClock, policy: SlaPolicy = BUSINESS, **schedule: Any) -> Context:
    def sla_for(type_id: str, priority: Priority) -> SlaChoice:
        return SlaChoice(policy, CHAIN, frozenset({"accept", "public_reply"}))

    base = make_context(clock)
    settings = Schedule(timezone="Asia/Shanghai", calendars={"office": OFFICE}, sla_for=sla_for)
    return replace(base, schedule=replace(settings, **schedule))


async def resolved_then_reopened(
    uow: FakeUnitOfWork, ctx: Context, resolve_at: datetime = TUESDAY_10
) -> Ticket:
    """Opened Monday 09:00, accepted at once, resolved at `resolve_at`, reopened Friday 17:30."""
    assert isinstance(ctx.clock, FrozenClock)
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    ctx.clock.set(resolve_at)
    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang")
    ctx.clock.set(FRIDAY_1730)
    await press(uow, ctx, ticket.key, Action.REOPEN, "zhangwei")
    return ticket


async def test_reopen_gives_a_fresh_resolution_due_in_business_time() -> None:
    clock = FrozenClock(MONDAY)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await resolved_then_reopened(uow, ctx)

    assert ticket.status is Status.ASSIGNED
    # Friday 17:30 plus 4 business hours on a 9-18 calendar: 30 min on Friday, 3.5 h on Monday
    assert sla_due(ticket) == MONDAY_1230
    assert ("SLA due (resolution)", "2026-01-12 12:30 (Asia/Shanghai)") in [
        (f.label, f.value) for f in build_card(ticket, ctx, "en").fields
    ]


async def test_first_response_stays_answered_after_a_reopen() -> None:
    clock = FrozenClock(MONDAY)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await resolved_then_reopened(uow, ctx)

    tk = load(ticket, ctx)
    assert tk is not None
    assert tk.clocks[SlaMetric.FIRST_RESPONSE].stopped_at == MONDAY
    assert ticket.first_response_at == MONDAY


async def test_the_breached_first_cycle_is_kept_in_the_history() -> None:
    clock = FrozenClock(MONDAY)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await resolved_then_reopened(uow, ctx, resolve_at=TUESDAY_10)

    assert ticket.sla is not None
    assert ticket.sla["history"] == [
        {
            "metric": "resolution",
            "started_at": MONDAY.isoformat(),
            "stopped_at": TUESDAY_10.isoformat(),
            "target_s": 4 * 3600.0,
            "business_time": True,
            "elapsed_s": 10 * 3600.0,  # all of Monday's 9 hours and Tuesday 09:00-10:00
            "outcome": "breached",
        }
    ]


async def test_reopening_twice_keeps_both_cycles_met_and_breached() -> None:
    clock = FrozenClock(MONDAY)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await resolved_then_reopened(uow, ctx, resolve_at=MONDAY + timedelta(hours=2))
    clock.set(MONDAY_1230 + timedelta(hours=1))  # an hour past the second cycle's due time
    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang")
    clock.advance(timedelta(days=1))
    await press(uow, ctx, ticket.key, Action.REOPEN, "zhangwei")

    tk = load(ticket, ctx)
    assert tk is not None
    assert [(c.metric, c.started_at, c.breached) for c in tk.history] == [
        (SlaMetric.RESOLUTION, MONDAY, False),
        (SlaMetric.RESOLUTION, FRIDAY_1730, True),
    ]
    assert tk.clocks[SlaMetric.RESOLUTION].started_at == clock.now()


async def test_reminder_30_min_after_created_fires_30_min_after_the_reopen_once() -> None:
    clock = FrozenClock(MONDAY)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    first = await tick(uow, ctx, ticket)  # Monday 09:30: nobody accepted yet
    clock.set(TUESDAY_10)
    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang")
    clock.set(FRIDAY_1730)
    await press(uow, ctx, ticket.key, Action.REOPEN, "zhangwei")

    # not the original creation: nothing from the first cycle is overdue at once
    assert ticket.wake_at == FRIDAY_1730 + timedelta(minutes=30)
    again = await tick(uow, ctx, ticket)
    assert [(n.kind, n.person_id) for n in again] == [(NoticeKind.REMINDER, "wangfang")]
    assert again[0].key != first[0].key  # a new message, not a replay of the first cycle's
    # next: the new resolution breach, for the lead; the reminder does not come back
    assert ticket.wake_at == MONDAY_1230
    breach = await tick(uow, ctx, ticket)
    assert [(n.kind, n.person_id) for n in breach] == [(NoticeKind.ESCALATION, "wangfang")]
    assert ticket.wake_at is None


async def test_a_timer_of_the_previous_cycle_does_nothing() -> None:
    clock = FrozenClock(MONDAY)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    await tick(uow, ctx, ticket)  # the 09:30 reminder
    stale = ticket.timer_generation  # the first cycle's resolution-breach timer
    clock.set(TUESDAY_10)
    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang")
    clock.set(FRIDAY_1730)
    await press(uow, ctx, ticket.key, Action.REOPEN, "zhangwei")
    events = len(uow.events)
    clock.set(MONDAY_1230 + timedelta(hours=1))  # both steps of the new cycle are due by now

    assert await handle(FireTimer(ticket.key, stale), uow, ctx) == []
    assert len(uow.events) == events
    due = await tick(uow, ctx, ticket)
    assert sorted(n.kind for n in due) == [NoticeKind.ESCALATION, NoticeKind.REMINDER]


async def test_accept_after_the_reopen_silences_the_chain_again() -> None:
    clock = FrozenClock(MONDAY)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await resolved_then_reopened(uow, ctx)
    reopened = ticket.wake_at  # the new cycle's 30-minute reminder
    clock.advance(timedelta(minutes=5))
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")

    assert (reopened, ticket.wake_at) == (FRIDAY_1730 + timedelta(minutes=30), None)
    assert sla_due(ticket) == MONDAY_1230  # accepting is not resolving: the clock still runs


async def test_next_update_starts_again_from_the_reopen() -> None:
    clock = FrozenClock(MONDAY)
    uow, ctx = FakeUnitOfWork(), context(clock, policy=WITH_UPDATES)
    ticket = await resolved_then_reopened(uow, ctx)

    tk = load(ticket, ctx)
    assert tk is not None
    update = tk.clocks[SlaMetric.NEXT_UPDATE]
    assert (update.started_at, update.due_at()) == (
        FRIDAY_1730,
        MONDAY + timedelta(days=7, hours=1, minutes=30),
    )
    assert sorted(c.metric for c in tk.history) == [SlaMetric.NEXT_UPDATE, SlaMetric.RESOLUTION]


async def test_timekeeping_stored_before_reopens_restarted_still_loads_and_reopens() -> None:
    clock = FrozenClock(MONDAY)
    uow, ctx = FakeUnitOfWork(), context(clock)
    ticket = await opened(uow, ctx)
    clock.set(TUESDAY_10)
    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang")
    assert ticket.sla is not None
    # what an older release stored: no history, no plan cycle
    old = {k: v for k, v in ticket.sla.items() if k != "history"}
    old["plan"] = {k: v for k, v in old["plan"].items() if k != "cycle"}
    ticket.sla = old

    tk = load(ticket, ctx)
    assert tk is not None and tk.history == [] and tk.escalation is not None
    assert tk.escalation.cycle == 1
    clock.set(FRIDAY_1730)
    await press(uow, ctx, ticket.key, Action.REOPEN, "zhangwei")
    assert sla_due(ticket) == MONDAY_1230
    assert len(ticket.sla["history"]) == 1
