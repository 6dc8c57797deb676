"""How a ticket's clocks follow what happens to it when the policy counts things differently."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.bus import handle
from core.clock import FrozenClock
from core.commands import AddComment, FireTimer
from core.escalation import Anchor, EscalationChain, EscalationStep, Recipient, RecipientKind
from core.ports import Context, SlaChoice
from core.sla import SlaMetric, SlaPolicy, SlaTarget
from core.ticket import Priority, Ticket
from core.timekeeping import Notice, due_notices, load
from core.workflow import Action
from tests.unit.core.fakes import SLACK, FakeUnitOfWork, opened, press, tick
from tests.unit.core.test_sla_flow import CHAIN, FOUR_HOURS, START, context

HOUR = timedelta(hours=1)
WITH_UPDATES = SlaPolicy(
    "updates",
    (
        SlaTarget(SlaMetric.FIRST_RESPONSE, 4 * HOUR, business_time=False),
        SlaTarget(SlaMetric.NEXT_UPDATE, 2 * HOUR, business_time=False),
    ),
    "office",
)
RESOLUTION_ONLY = SlaPolicy(
    "resolution", (SlaTarget(SlaMetric.RESOLUTION, 8 * HOUR, business_time=False),), "office"
)


def counting(*counts: str, policy: SlaPolicy = FOUR_HOURS) -> Context:
    def sla_for(type_id: str, priority: Priority) -> SlaChoice:
        return SlaChoice(policy, CHAIN, frozenset(counts))

    return context(FrozenClock(START), sla_for=sla_for)


def running(ticket: Ticket, ctx: Context, metric: SlaMetric) -> bool:
    tk = load(ticket, ctx)
    assert tk is not None
    return not tk.clocks[metric].stopped


async def test_when_only_a_public_reply_counts_accept_silences_the_chain_but_keeps_the_clock() -> (
    None
):
    ctx, uow = counting("public_reply"), FakeUnitOfWork()
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    tk = load(ticket, ctx)
    assert tk is not None and tk.state.acknowledged
    assert running(ticket, ctx, SlaMetric.FIRST_RESPONSE)


async def test_when_only_accept_counts_a_reply_restarts_the_next_update_wait_alone() -> None:
    ctx, uow = counting("accept", policy=WITH_UPDATES), FakeUnitOfWork()
    ticket = await opened(uow, ctx)
    assert isinstance(ctx.clock, FrozenClock)
    later = ctx.clock.advance(HOUR)
    await handle(AddComment(ticket.key, "wangfang", "looking into it", SLACK), uow, ctx)
    tk = load(ticket, ctx)
    assert tk is not None
    assert running(ticket, ctx, SlaMetric.FIRST_RESPONSE)
    assert tk.clocks[SlaMetric.NEXT_UPDATE].started_at == later
    assert tk.due()["next_update"] == later + 2 * HOUR


async def test_accept_without_a_first_response_target_only_silences_the_chain() -> None:
    ctx, uow = counting("accept", policy=RESOLUTION_ONLY), FakeUnitOfWork()
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    tk = load(ticket, ctx)
    assert tk is not None and tk.state.acknowledged
    assert running(ticket, ctx, SlaMetric.RESOLUTION)


async def test_starting_work_leaves_the_clocks_and_the_timer_as_they_were() -> None:
    ctx, uow = counting("accept"), FakeUnitOfWork()
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    sla, generation = dict(ticket.sla or {}), ticket.timer_generation
    await press(uow, ctx, ticket.key, Action.START, "wangfang")
    assert (ticket.sla, ticket.timer_generation) == (sla, generation)


async def test_a_ticket_without_a_chain_reopens_with_fresh_clocks() -> None:
    def no_chain(type_id: str, priority: Priority) -> SlaChoice:
        return SlaChoice(RESOLUTION_ONLY)

    clock = FrozenClock(START)
    ctx, uow = context(clock, sla_for=no_chain), FakeUnitOfWork()
    ticket = await opened(uow, ctx)
    await handle(AddComment(ticket.key, "wangfang", "on it", SLACK), uow, ctx)
    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang")
    reopened_at = clock.advance(HOUR)
    await press(uow, ctx, ticket.key, Action.REOPEN, "zhangwei")
    tk = load(ticket, ctx)
    assert tk is not None and tk.escalation is None
    assert tk.clocks[SlaMetric.RESOLUTION].started_at == reopened_at
    assert ticket.wake_at is None


async def test_a_priority_without_a_policy_keeps_the_clocks_and_a_new_target_starts_late() -> None:
    def by_priority(type_id: str, priority: Priority) -> SlaChoice | None:
        if priority is Priority.LOW:
            return None
        policy = WITH_UPDATES if priority is Priority.HIGH else FOUR_HOURS
        return SlaChoice(policy, CHAIN)

    clock = FrozenClock(START)
    ctx, uow = context(clock, sla_for=by_priority), FakeUnitOfWork()
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "wangfang", priority="low")
    kept = load(ticket, ctx)
    assert kept is not None and kept.policy_id == "four-hours"
    assert kept.due() == {"first_response": START + 4 * HOUR, "resolution": START + 8 * HOUR}
    await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "wangfang", priority="high")
    tk = load(ticket, ctx)
    assert tk is not None and tk.policy_id == "updates"
    # the new metric counts from when the ticket's clocks started, like the others
    assert tk.due() == {"first_response": START + 4 * HOUR, "next_update": START + 2 * HOUR}


async def test_a_timer_for_a_ticket_without_an_sla_sends_nothing() -> None:
    ctx, uow = context(FrozenClock(START)), FakeUnitOfWork()
    ctx = replace(ctx, schedule=replace(ctx.schedule, sla_for=lambda t, p: None))
    ticket = await opened(uow, ctx)
    notices: list[Notice] = await handle(FireTimer(ticket.key, ticket.timer_generation), uow, ctx)
    assert notices == []


async def test_an_outdated_timer_sends_nothing_even_when_asked_directly() -> None:
    ctx, uow = counting("accept"), FakeUnitOfWork()
    ticket = await opened(uow, ctx)
    later = START + 5 * HOUR
    assert due_notices(ticket, ctx, later, ticket.timer_generation - 1) == []
    assert due_notices(ticket, ctx, later, ticket.timer_generation) != []


async def test_a_vacant_role_hears_nothing_and_a_queued_tickets_reminder_goes_to_the_team() -> None:
    chain = EscalationChain(
        "vacant",
        tuple(
            EscalationStep(HOUR, Anchor.CREATED, Recipient(kind))
            for kind in (RecipientKind.ASSIGNEE, RecipientKind.TEAM_LEAD)
        ),
    )

    def sla_for(type_id: str, priority: Priority) -> SlaChoice:
        return SlaChoice(FOUR_HOURS, chain)

    ctx, uow = context(FrozenClock(START), sla_for=sla_for), FakeUnitOfWork()
    # facilities has no lead: its tickets wait in the queue, nobody assigned
    queued = await opened(uow, ctx, type_id="facilities")
    assert queued.assignee_id is None
    notices = await tick(uow, ctx, queued)
    assert [(n.person_id, n.key.rsplit("/", 1)[1]) for n in notices] == [(None, "assignee")]
