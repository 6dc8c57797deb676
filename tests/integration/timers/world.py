"""A help desk whose tickets carry one reminder a minute after opening, for timer tests."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.webchat.rooms import WebchatReach
from bot.delivery.notices import NoticeRouter
from bot.scheduler import Scheduler, SchedulerPolicy
from core.clock import FrozenClock
from core.escalation import (
    Anchor,
    EscalationChain,
    EscalationStep,
    NoticeKind,
    Recipient,
    RecipientKind,
)
from core.people import StaticDirectory
from core.ports import Context, Schedule, SlaChoice
from core.sla import SlaMetric, SlaPolicy, SlaTarget
from core.ticket import Priority
from storage.unit_of_work import StorageUnitOfWork
from storage.writer import Writer
from tests.integration.storage.world import ALICE, BOB, CAROL, TEAM, opening
from tests.integration.storage.world import context as storage_context

REMIND_AFTER = timedelta(minutes=1)
CHAIN = EscalationChain(
    "nudge",
    (
        EscalationStep(
            REMIND_AFTER, Anchor.CREATED, Recipient(RecipientKind.ASSIGNEE), NoticeKind.REMINDER
        ),
    ),
)
POLICY = SlaPolicy(
    "calendar-time",
    (SlaTarget(SlaMetric.FIRST_RESPONSE, timedelta(hours=4), business_time=False),),
    "always",
)


def _sla_for(type_id: str, priority: Priority) -> SlaChoice:
    return SlaChoice(POLICY, CHAIN)


def context(clock: FrozenClock) -> Context:
    base = storage_context(clock)
    # bob leads the team, so every new ticket is his and the reminder goes to him directly
    directory = StaticDirectory([ALICE, BOB, CAROL], [replace(TEAM, lead="bob")])
    return replace(base, directory=directory, schedule=Schedule(sla_for=_sla_for))


def scheduler(
    engine: AsyncEngine, writer: Writer, ctx: Context, name: str, batch: int = 256
) -> Scheduler:
    router = NoticeRouter(ctx, (WebchatReach({"it": "helpdesk"}),))
    policy = SchedulerPolicy(batch=batch, lease=timedelta(seconds=30))
    return Scheduler(engine, writer, ctx, router, policy=policy, owner=name)


async def open_many(writer: Writer, ctx: Context, n: int) -> None:
    """Open n tickets at once; the writer groups them into a few transactions."""
    from core.handlers.opening import open_ticket

    async def one(i: int) -> None:
        async def work(uow: StorageUnitOfWork) -> object:
            return await open_ticket(opening(f"ticket {i}"), uow, ctx)

        await writer.submit(work, reserve="IT")

    await asyncio.gather(*(one(i) for i in range(n)))
