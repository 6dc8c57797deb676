"""Timer benchmark: the real scheduler over a table of 1,000,000 open tickets with pending timers.

For each database (a fresh SQLite file; a new PostgreSQL database from GONGDAN_TEST_PG_URL,
dropped afterwards) it migrates, then bulk-loads open tickets built by core (an assigned IT
ticket whose escalation chain reminds the assignee 30 days after opening, so every ticket
carries one timer due 1 to 30 days from now), and measures with bot.scheduler.Scheduler:
  1. idle wake-up — what the loop does when nothing is due: idle_delay() (the next-due probe;
     the claim transaction, timed beside it, runs only when something is due); p50/p99 at 10k,
     100k and TICKETS open tickets,
     interleaved with the same wake-ups on a 10k-ticket reference database;
  2. fire lateness — RATE timers a minute fall due over WINDOW seconds, the scheduler loop runs
     for real on the system clock; per timer: fired_at - due_at (decided) and commit - due_at
     (its notice is durable); p50/p99/max;
  3. this process's RSS (VmRSS, VmHWM) after loading and after the run.
Each database runs in its own child process so its RSS is its own. Usage:
  .venv/bin/python bench/timers.py [--db sqlite|pg|both] [--tickets 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.webchat.rooms import WebchatReach  # noqa: E402
from bench.harness import pct, pg_database, rss_mb  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.delivery.notices import NoticeRouter  # noqa: E402
from bot.scheduler import Scheduler, SchedulerPolicy, scheduler_lock  # noqa: E402
from core import escalation as esc  # noqa: E402
from core import timekeeping  # noqa: E402
from core.forms import TicketType  # noqa: E402
from core.i18n import Text  # noqa: E402
from core.people import Person, Role, StaticDirectory, Team  # noqa: E402
from core.ports import Context, Schedule, SlaChoice  # noqa: E402
from core.sla import SlaMetric, SlaPolicy, SlaTarget  # noqa: E402
from core.ticket import ChannelRef, Priority, Status, Ticket, ticket_key  # noqa: E402
from storage.db import create_engine, reader  # noqa: E402
from storage.mapping import ticket_row  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from storage.tables import counters, outbox, tickets, timers  # noqa: E402
from storage.writer import Writer  # noqa: E402

CHUNK = 10_000
IDLE_AT = (10_000, 100_000)
REFERENCE = 10_000
ROUNDS = 5
REMIND_AFTER = timedelta(days=30)
# the due timers are inserted this long before the first of them falls due
LEAD = timedelta(seconds=3)

IT = TicketType(id="it", prefix="IT", name=Text("IT support", "IT 支持"), default_team="it")
ALICE = Person("alice", Text("Alice", "爱丽丝"), locale="en")
BOB = Person("bob", Text("Bob", "鲍勃"), locale="en", roles=frozenset({Role.AGENT}))
TEAM = Team("it", Text("IT", "IT"), members=("bob",), lead="bob")
HELPDESK_ROOM = "helpdesk"
HELPDESK = ChannelRef("webchat", HELPDESK_ROOM)
ASSIGNEE = esc.Recipient(esc.RecipientKind.ASSIGNEE)
STEP = esc.EscalationStep(REMIND_AFTER, esc.Anchor.CREATED, ASSIGNEE, esc.NoticeKind.REMINDER)
CHAIN = esc.EscalationChain("idle-month", (STEP,))
POLICY = SlaPolicy(
    "calendar-time",
    (SlaTarget(SlaMetric.FIRST_RESPONSE, timedelta(hours=4), business_time=False),),
    "always",
)


def _sla_for(type_id: str, priority: Priority) -> SlaChoice:
    return SlaChoice(POLICY, CHAIN)


def context() -> Context:
    return Context(
        types={"it": IT},
        directory=StaticDirectory([ALICE, BOB], [TEAM]),
        clock=SystemClock(),
        schedule=Schedule(sla_for=_sla_for),
    )


def ticket_rows(
    ctx: Context, first: int, created: list[datetime]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Ticket and timer rows for tickets numbered first, first+1, ...: built and scheduled by
    core exactly as open_ticket leaves an assigned ticket, then laid out by storage.mapping."""
    ticket_batch, timer_batch = [], []
    for n, at in enumerate(created, start=first):
        ticket = Ticket(
            key=ticket_key(IT.prefix, n),
            type_id=IT.id,
            number=n,
            title=f"bench ticket {n}",
            requester_id="alice",
            created_at=at,
            updated_at=at,
            team_id="it",
            assignee_id="bob",
            status=Status.ASSIGNED,
            origin=HELPDESK,
            locale="en",
        )
        timekeeping.start(ticket, ctx, at)
        assert ticket.wake_at is not None
        ticket_batch.append({"id": n, **ticket_row(ticket)})
        timer_batch.append(
            {
                "id": n,
                "ticket_id": n,
                "kind": "escalation",
                "due_at": ticket.wake_at,
                "generation": ticket.timer_generation,
                "payload": {"ticket_key": ticket.key},
                "created_at": at,
            }
        )
    return ticket_batch, timer_batch


class Loader:
    """Appends tickets numbered 1, 2, ... in chunks: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, engine: AsyncEngine, ctx: Context) -> None:
        self.engine = engine
        self.ctx = ctx
        self.count = 0
        self.seconds = 0.0
        self.settle_seconds = 0.0

    async def grow_to(self, total: int, now: datetime) -> None:
        rng = random.Random(self.count)
        started = time.perf_counter()
        while self.count < total:
            size = min(CHUNK, total - self.count)
            # opened within the last 29 days: reminders due 1 to 30 days from now
            created = [now - timedelta(seconds=rng.uniform(0, 29 * 86400)) for _ in range(size)]
            await self.append(created)
        self.seconds += time.perf_counter() - started

    async def append(self, created: list[datetime]) -> list[int]:
        first = self.count + 1
        ticket_batch, timer_batch = ticket_rows(self.ctx, first, created)
        if self.engine.dialect.name == "postgresql":
            await self._copy(ticket_batch, timer_batch)
        else:
            async with self.engine.begin() as conn:
                await conn.execute(sa.insert(tickets), ticket_batch)
                await conn.execute(sa.insert(timers), timer_batch)
        self.count += len(created)
        return list(range(first, self.count + 1))

    async def _copy(
        self, ticket_batch: list[dict[str, Any]], timer_batch: list[dict[str, Any]]
    ) -> None:
        json_columns = {"fields", "origin", "watchers", "sla", "payload"}

        def records(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
            return [
                tuple(
                    json.dumps(v) if k in json_columns and v is not None else v
                    for k, v in row.items()
                )
                for row in rows
            ]

        async with self.engine.begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.copy_records_to_table(
                "tickets", records=records(ticket_batch), columns=list(ticket_batch[0])
            )
            await raw.copy_records_to_table(
                "timers", records=records(timer_batch), columns=list(timer_batch[0])
            )

    async def settle(self) -> None:
        """What the database does by itself after a bulk load, done now so the figures show
        the steady state: SQLite folds the WAL back into the file, PostgreSQL vacuums and
        analyzes (autovacuum's job) and writes its dirty buffers out."""
        started = time.perf_counter()
        try:
            await self._settle()
        finally:
            self.settle_seconds += time.perf_counter() - started

    async def _settle(self) -> None:
        async with self.engine.begin() as conn:  # sequences and counter past the rows written
            if self.engine.dialect.name == "postgresql":
                for table in ("tickets", "timers"):
                    sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"
                    await conn.execute(sa.text(sql), {"n": self.count})
            await conn.execute(sa.delete(counters).where(counters.c.name == IT.prefix))
            await conn.execute(sa.insert(counters).values(name=IT.prefix, value=self.count))
        if self.engine.dialect.name == "postgresql":
            async with self.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text("VACUUM ANALYZE tickets, timers"))
                await conn.execute(sa.text("CHECKPOINT"))
            return
        database = self.engine.url.database or ""
        with sqlite3.connect(database) as direct:
            direct.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        direct.close()


async def wakeups(scheduler: Scheduler, n: int) -> tuple[list[float], ...]:
    """n idle wake-ups, in ms: the claim a due pass would run (timed for reference) and the
    next-due probe, which is all the loop runs when nothing is due."""
    claim, probe, total = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        fired = await scheduler.tick()
        t1 = time.perf_counter()
        delay = await scheduler.idle_delay()
        t2 = time.perf_counter()
        assert fired == 0 and delay == scheduler.policy.max_sleep_s, "something was due"
        claim.append((t1 - t0) * 1e3)
        probe.append((t2 - t1) * 1e3)
        total.append((t2 - t1) * 1e3)  # the idle loop probes only
    return claim, probe, total


async def idle_cost(big: Scheduler, small: Scheduler, ticks: int) -> dict[str, float]:
    """Wake-ups on the big table in rounds interleaved with the same on the small reference
    table: a slow moment of the shared machine slows both alike, the difference is size."""
    for scheduler in (big, small):
        await wakeups(scheduler, 20)  # warm the pool, the statement caches and the pages
    measured: dict[Scheduler, list[list[float]]] = {big: [[], [], []], small: [[], [], []]}
    for _ in range(ROUNDS):
        for scheduler, found in measured.items():
            for into, got in zip(found, await wakeups(scheduler, ticks // ROUNDS), strict=True):
                into.extend(got)
    (claim, probe, total), reference = measured[big], measured[small][2]
    return {
        "claim_p50": pct(claim, 0.5),
        "claim_p99": pct(claim, 0.99),
        "probe_p50": pct(probe, 0.5),
        "probe_p99": pct(probe, 0.99),
        "p50": pct(total, 0.5),
        "p99": pct(total, 0.99),
        "ref_p50": pct(reference, 0.5),
        "ref_p99": pct(reference, 0.99),
        "load": os.getloadavg()[0],
    }


async def lateness(
    loader: Loader,
    scheduler: Scheduler,
    commits: list[datetime],
    rate: float,
    window: float,
) -> dict[str, float]:
    """RATE/minute timers fall due over WINDOW seconds while the real loop runs."""
    n = round(rate * window / 60)
    start = datetime.now(UTC) + LEAD
    due = [start + timedelta(seconds=window * i / n) for i in range(n)]
    ids = await loader.append([d - REMIND_AFTER for d in due])
    inserted_late = datetime.now(UTC) > start
    await scheduler.start()
    deadline = time.monotonic() + LEAD.total_seconds() + window + 120
    # the scheduler keeps a counter, not an event to wait on
    while scheduler.fired < n and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    await scheduler.stop()
    async with loader.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(timers.c.due_at, timers.c.fired_at).where(
                    timers.c.ticket_id.between(ids[0], ids[-1])
                )
            )
        ).all()
        notices = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(outbox)
            .where(outbox.c.kind == "remind", outbox.c.ticket_id.between(ids[0], ids[-1]))
        )
    fired = [(r.due_at, r.fired_at) for r in rows if r.fired_at is not None]
    decided = [(f - d).total_seconds() for d, f in fired]
    committed = []
    for d, f in fired:
        i = bisect.bisect_left(commits, f)
        committed.append(((commits[i] if i < len(commits) else f) - d).total_seconds())
    return {
        "due": n,
        "fired": len(fired),
        "notices": int(notices or 0),
        "inserted_late": float(inserted_late),
        "decided_p50": pct(decided, 0.5),
        "decided_p99": pct(decided, 0.99),
        "decided_max": max(decided, default=float("nan")),
        "p50": pct(committed, 0.5),
        "p99": pct(committed, 0.99),
        "max": max(committed, default=float("nan")),
    }


@dataclass
class Rig:
    """One database with a writer and a scheduler, wired as bot.bootstrap wires them."""

    loader: Loader
    scheduler: Scheduler
    commits: list[datetime]


@asynccontextmanager
async def rig(db: str, ctx: Context, tmp: Path) -> AsyncIterator[Rig]:
    database = sqlite_database(tmp) if db == "sqlite" else pg_database()
    async with database as url:
        await migrate(url)
        lock = scheduler_lock(url)
        engine = create_engine(url)
        commits: list[datetime] = []
        writer = Writer(
            engine, clock=ctx.clock, on_outbox=lambda _channels: commits.append(datetime.now(UTC))
        )
        router = NoticeRouter(ctx, (WebchatReach({"it": HELPDESK_ROOM}),))
        policy = SchedulerPolicy(max_sleep_s=1.0)
        scheduler = Scheduler(reader(engine), writer, ctx, router, policy=policy, lock=lock)
        await writer.start()
        try:
            yield Rig(Loader(engine, ctx), scheduler, commits)
        finally:
            await writer.stop()
            await engine.dispose()
            if lock is not None:
                lock.release()


@asynccontextmanager
async def sqlite_database(tmp: Path) -> AsyncIterator[str]:
    yield f"sqlite+aiosqlite:///{tmp}/bench-{uuid.uuid4().hex[:8]}.db"


async def run(db: str, args: argparse.Namespace) -> None:
    ctx = context()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="gongdan-bench-") as tmp:
        async with rig(db, ctx, Path(tmp)) as big, rig(db, ctx, Path(tmp)) as small:
            await small.loader.grow_to(REFERENCE, now)
            await small.loader.settle()
            idle: list[tuple[int, dict[str, float]]] = []
            for size in [s for s in IDLE_AT if s < args.tickets] + [args.tickets]:
                await big.loader.grow_to(size, now)
                await big.loader.settle()
                idle.append((size, await idle_cost(big.scheduler, small.scheduler, args.ticks)))
                print(
                    f"  [{db}] {size:>9,} open: idle wake-up p99 {idle[-1][1]['p99']:.2f} ms",
                    flush=True,
                )
            loaded_rss = rss_mb(os.getpid())
            late = await lateness(big.loader, big.scheduler, big.commits, args.rate, args.window)
            run_rss = rss_mb(os.getpid())
    report(db, args, big.loader, idle, late, loaded_rss, run_rss)


def report(
    db: str,
    args: argparse.Namespace,
    loader: Loader,
    idle: list[tuple[int, dict[str, float]]],
    late: dict[str, float],
    loaded_rss: tuple[float, float],
    run_rss: tuple[float, float],
) -> None:
    print(f"\n== {db}: {loader.count - int(late['due']):,} open tickets, one pending timer each ==")
    print(
        f"loading           {args.tickets:,} tickets + timers in {loader.seconds:.0f} s "
        f"({args.tickets / loader.seconds:,.0f} rows/s each table, rows built by core); "
        f"settling (checkpoint/vacuum) {loader.settle_seconds:.0f} s"
    )
    print(
        f"idle wake-up      {args.ticks} wake-ups (the next-due probe; claim txn timed for reference), ms; interleaved "
        f"with as many on a {REFERENCE:,}-ticket reference database"
    )
    print("  open tickets   wake-up p50/p99   (claim p50/p99)  probe p50/p99    reference   load")
    for size, r in idle:
        print(
            f"  {size:>12,}   {r['p50']:5.2f} /{r['p99']:6.2f}   "
            f"{r['claim_p50']:5.2f} /{r['claim_p99']:6.2f}   "
            f"{r['probe_p50']:5.2f} /{r['probe_p99']:6.2f}   "
            f"{r['ref_p50']:4.2f} /{r['ref_p99']:5.2f}  {r['load']:4.1f}"
        )
    print(
        f"fire lateness     {late['due']:,.0f} timers due over {args.window:.0f} s "
        f"({args.rate:,.0f}/min): fired {late['fired']:,.0f}, reminders queued "
        f"{late['notices']:,.0f}"
        + ("  (WARNING: inserted after the first was due)" if late["inserted_late"] else "")
    )
    for label, prefix in (("decided (fired_at", "decided_"), ("durable (commit  ", "")):
        figures = (f"{q} {late[prefix + q] * 1e3:7.1f} ms" for q in ("p50", "p99", "max"))
        print(f"  {label} - due_at)   " + "  ".join(figures))
    print(
        f"process RSS       after loading {loaded_rss[0]:.0f} MiB; after the run "
        f"{run_rss[0]:.0f} MiB, peak {run_rss[1]:.0f} MiB"
    )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10_000.0, help="timers due per minute")
    parser.add_argument("--window", type=float, default=20.0, help="seconds they fall due over")
    args = parser.parse_args()
    if args.db == "both":
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
        options = [f"--{k}={v}" for k, v in vars(args).items() if k != "db"]
        for db in ("sqlite", "pg"):
            subprocess.run([sys.executable, __file__, f"--db={db}", *options], check=True)
        return
    asyncio.run(run(args.db, args))


if __name__ == "__main__":
    main()
