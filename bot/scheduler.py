"""The timer scheduler: fires due escalation timers, each exactly once, across replicas.

Each pass claims due rows under a lease and fires each one in its own unit of work: core decides
what to send (core.bus.handle(FireTimer)), the router turns that into outbox rows, and the
timer's compare-and-set (storage.timers.mark_fired) commits with them, or the whole firing is
dropped. Between passes the loop sleeps until the next due time, but never longer than
`max_sleep`, and re-reads the table: due times are UTC instants, so a restart or a wall-clock
jump only changes how long the next sleep is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Config
from bot.delivery.notices import NoticeRouter
from core.bus import handle
from core.clock import Clock
from core.commands import FireTimer
from core.ports import Context, Schedule, SlaChoice, TeamLoads
from core.ticket import Priority
from core.timekeeping import Notice
from storage import timers
from storage.timers import DueTimer, SqliteSchedulerLock, TimerFenced
from storage.unit_of_work import StorageUnitOfWork
from storage.writer import Writer

log = logging.getLogger("gongdan.scheduler")


@dataclass(frozen=True)
class SchedulerPolicy:
    batch: int = 256
    lease: timedelta = timedelta(seconds=60)
    max_sleep_s: float = 5.0
    # when due rows exist but others hold them: how soon to look again
    busy_poll_s: float = 0.5


class Scheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        writer: Writer,
        ctx: Context,
        router: NoticeRouter,
        *,
        clock: Clock | None = None,
        policy: SchedulerPolicy | None = None,
        lock: SqliteSchedulerLock | None = None,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.ctx = ctx
        self.router = router
        self.clock = clock or ctx.clock
        self.policy = policy or SchedulerPolicy()
        self.lock = lock
        self.owner = owner or f"scheduler-{uuid.uuid4().hex[:8]}"
        self.fired = 0
        self.fenced = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Take the SQLite lock (raises SchedulerLocked), then run the loop."""
        if self.lock is not None:
            self.lock.acquire()
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="timer-scheduler")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            await task
        if self.lock is not None:
            self.lock.release()

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        missed = 0
        while not self._stopping:
            try:
                # The idle path is one read; a write transaction (the claim) only when due.
                delay = await self.idle_delay()
                if delay <= 0:
                    fired = await self.tick()
                    missed = 0 if fired else missed + 1
                    # due but taken by another replica in between: look again, but not hot
                    delay = 0.0 if missed < 2 else self.policy.busy_poll_s
            except Exception:
                log.exception("scheduler pass failed; retrying shortly")
                delay = self.policy.busy_poll_s
            if delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    async def idle_delay(self) -> float:
        """Seconds until a timer can be claimed (0: now), bounded by max_sleep. A due row that
        another replica has leased counts from its lease end; one indexed probe either way."""
        async with self.engine.connect() as conn:
            head = await timers.due_head(conn)
        p = self.policy
        if not head:
            return p.max_sleep_s
        now = self.clock.now()
        claimable = min(
            lease if lease is not None and lease > due and lease > now else due
            for due, lease in head
        )
        return min(p.max_sleep_s, max(0.0, (claimable - now).total_seconds()))

    async def tick(self) -> int:
        """One pass: claim what is due and fire it. Returns how many timers fired."""
        return await self.fire(await self.claim())

    async def claim(self) -> list[DueTimer]:
        now = self.clock.now()
        owner, p = self.owner, self.policy
        return await self.writer.run(lambda c: timers.claim(c, owner, now, p.batch, p.lease))

    async def fire(self, claimed: list[DueTimer]) -> int:
        results = await asyncio.gather(*(self._fire_one(t) for t in claimed))
        return sum(results)

    async def _fire_one(self, timer: DueTimer) -> int:
        ctx, router, clock = self.ctx, self.router, self.clock

        async def work(uow: StorageUnitOfWork) -> list[Notice]:
            notices: list[Notice] = []
            key = timer.ticket_key
            if key is not None:
                notices = await handle(FireTimer(key, timer.generation), uow, ctx)
                ticket = await uow.tickets.get(key)
                if ticket is not None:
                    for notice in notices:
                        for send in router.sends(ticket, notice):
                            uow.send(send)
            # last: once this row is ours nothing else in this work can fail
            await timers.mark_fired(uow.batch.conn, timer, clock.now())
            return notices

        try:
            await self.writer.submit(work)
        except TimerFenced:
            self.fenced += 1
            return 0
        self.fired += 1
        return 1


def schedule_from(config: Config, loads: TeamLoads | None = None) -> Schedule:
    """The time-related configuration as core wants it; SLA choices worked out once."""
    calendars = config.calendars()
    chains = config.chains()
    choices: dict[tuple[str, Priority], SlaChoice] = {}
    for type_id in config.ticket_types():
        for priority in Priority:
            found = config.sla_policy_for(type_id, priority)
            if found is not None:
                choices[(type_id, priority)] = SlaChoice(
                    found.policy(),
                    chains.get(found.escalation) if found.escalation else None,
                    frozenset(found.first_response_counts),
                )

    def sla_for(type_id: str, priority: Priority) -> SlaChoice | None:
        return choices.get((type_id, priority))

    team_hours = {
        member: calendars[t.assignment.calendar]
        for t in config.teams
        if t.assignment is not None and t.assignment.calendar
        for member in (*t.members, t.lead, t.manager)
        if member
    }
    hours = {
        p.id: calendars[p.calendar] if p.calendar else team_hours[p.id]
        for p in config.people
        if p.calendar or p.id in team_hours
    }
    return Schedule(
        timezone=config.service.timezone,
        calendars=calendars,
        sla_for=sla_for,
        assignment=config.assignment_policies(calendars),
        availability=config.availability(calendars),
        hours=hours,
        loads=loads,
    )


def scheduler_lock(url: str) -> SqliteSchedulerLock | None:
    """Taken now on SQLite (raises SchedulerLocked); PostgreSQL replicas need no lock."""
    if make_url(url).get_backend_name() != "sqlite":
        return None
    lock = SqliteSchedulerLock(url)
    lock.acquire()
    return lock
