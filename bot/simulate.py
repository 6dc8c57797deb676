"""`gongdan simulate`: replay historical tickets against a config, in memory, on a frozen clock.

CSV columns (header required; empty cells allowed for the optional ones):

    created_at   ISO 8601; without an offset it is read in service.timezone
    type         a ticket type id from the config
    priority     urgent | high | normal | low (empty: the type's default)
    title        free text
    accepted_at  optional: when someone accepted it (the assignee, else the team lead)
    resolved_at  optional: when it was resolved
    waiting      optional: "start/end" intervals waiting for the requester, separated by ";"

The real core handlers run against an in-memory unit of work, so the figures are what the
service would have done: who it assigns, who it reminds and escalates to, and which SLAs breach.
"""

from __future__ import annotations

import asyncio
import csv
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.scheduler import schedule_from
from core import timekeeping
from core.assignment import Workload
from core.bus import handle
from core.clock import FrozenClock
from core.commands import ActOnTicket, FireTimer, OpenTicket
from core.errors import DomainError, FormInvalid
from core.events import Event, TicketAssigned
from core.ports import Context, PersonNotice, TeamLoad
from core.ticket import ChannelRef, Comment, Priority, Ticket
from core.timekeeping import Notice
from core.workflow import Action

_ORIGIN = ChannelRef("simulate")


class _Tickets:
    def __init__(self) -> None:
        self.all: dict[str, Ticket] = {}
        self._next: dict[str, int] = {}

    async def get(self, key: str) -> Ticket | None:
        return self.all.get(key)

    async def next_number(self, prefix: str) -> int:
        self._next[prefix] = self._next.get(prefix, 1000) + 1
        return self._next[prefix]

    def add(self, ticket: Ticket) -> None:
        self.all[ticket.key] = ticket

    def update(self, ticket: Ticket) -> None:
        ticket.version += 1


@dataclass
class _Memory:
    """core.ports.UnitOfWork in memory: events are kept, messages are not sent."""

    tickets: _Tickets = field(default_factory=_Tickets)
    events: list[Event] = field(default_factory=list)
    collected: int = 0

    def record(self, event: Event) -> None:
        self.events.append(event)

    def collect_new_events(self) -> list[Event]:
        new, self.collected = self.events[self.collected :], len(self.events)
        return new

    def add_comment(self, comment: Comment) -> None: ...

    def post_card(self, ticket: Ticket, where: ChannelRef) -> None: ...

    def refresh_cards(self, ticket: Ticket) -> None: ...

    def relay_comment(self, comment: Comment) -> None: ...

    def notify_person(self, notice: PersonNotice) -> None: ...


class _Loads:
    def __init__(self, memory: _Memory) -> None:
        self._memory = memory

    async def load(self, team_id: str) -> TeamLoad:
        mine = [t for t in self._memory.tickets.all.values() if t.team_id == team_id]
        open_pairs = [(t.assignee_id, t.priority) for t in mine if t.is_open and t.assignee_id]
        last = next((t.assignee_id for t in reversed(mine) if t.assignee_id), None)
        return TeamLoad(Workload.of(open_pairs), last)

    def assigned(self, team_id: str, person_id: str, priority: Priority) -> None: ...


@dataclass(order=True)
class _Step:
    at: datetime
    seq: int
    what: str = field(compare=False)  # open | accept | wait | resume | resolve | timer
    row: int = field(compare=False)
    data: Any = field(compare=False, default=None)


def simulate(config: Config, rows: Iterable[dict[str, str]], out: TextIO) -> int:
    """Replay the rows and print what would have happened; returns the number of breaches."""
    return asyncio.run(_replay(config, list(rows), out))


async def _replay(config: Config, rows: list[dict[str, str]], out: TextIO) -> int:
    zone = ZoneInfo(config.service.timezone)
    memory = _Memory()
    clock = FrozenClock()
    ctx = Context(
        config.ticket_types(), config.directory(), clock, schedule_from(config, _Loads(memory))
    )
    steps: list[_Step] = []
    seq = 0
    for i, row in enumerate(rows):
        try:
            row_steps = _row_steps(row, zone)
        except RowProblem as problem:
            # line 1 is the header: data row i is on line i + 2
            print(f"line {i + 2}: skipped: {problem}", file=out)
            continue
        for what, at in row_steps:
            seq += 1
            heapq.heappush(steps, _Step(at, seq, what, i))
    keys: dict[int, str] = {}
    if steps:
        clock.set(min(s.at for s in steps))
    while steps:
        step = heapq.heappop(steps)
        clock.set(max(step.at, clock.now()))
        ticket = memory.tickets.all.get(keys.get(step.row, ""))
        before = ticket.timer_generation if ticket else None
        ticket = await _run(step, rows[step.row], memory, ctx, keys, out, zone)
        if ticket is not None and ticket.timer_generation != before and ticket.wake_at:
            seq += 1
            heapq.heappush(
                steps, _Step(ticket.wake_at, seq, "timer", step.row, ticket.timer_generation)
            )
    # open tickets are measured up to the last thing that happened
    return _breaches(memory, ctx, clock.now(), out)


class RowProblem(ValueError):
    """A CSV row the replay cannot use; the message names the column."""


class SimulateError(Exception):
    """The replay cannot start (the file is missing or unreadable); the message says why."""


def _row_steps(row: Mapping[str, str | None], zone: ZoneInfo) -> list[tuple[str, datetime]]:
    for column in ("created_at", "type"):
        if not (row.get(column) or "").strip():
            raise RowProblem(f"{column}: required, but empty or missing")
    found = [("open", _when(row, "created_at", str(row["created_at"]), zone))]
    for start_end in filter(None, (row.get("waiting") or "").split(";")):
        start, sep, end = start_end.partition("/")
        if not sep or "/" in end:
            raise RowProblem(f"waiting: {start_end!r} is not start/end")
        found += [("wait", _when(row, "waiting", start, zone))]
        found += [("resume", _when(row, "waiting", end, zone))]
    for column, what in (("accepted_at", "accept"), ("resolved_at", "resolve")):
        text = (row.get(column) or "").strip()
        if text:
            found.append((what, _when(row, column, text, zone)))
    return found


def _when(row: Mapping[str, str | None], column: str, text: str, zone: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RowProblem(f"{column}: not an ISO 8601 time: {text.strip()!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


async def _run(
    step: _Step,
    row: dict[str, str],
    memory: _Memory,
    ctx: Context,
    keys: dict[int, str],
    out: TextIO,
    zone: ZoneInfo,
) -> Ticket | None:
    stamp = f"{ctx.clock.now().astimezone(zone):%Y-%m-%d %H:%M}"
    if step.what == "open":
        cmd = OpenTicket(
            (row.get("type") or "").strip(),
            row.get("title") or "(untitled)",
            "simulate",
            _ORIGIN,
            priority=(row.get("priority") or "").strip() or None,
            post_card=False,
        )
        try:
            ticket: Ticket = await handle(cmd, memory, ctx)
        except DomainError as exc:
            print(f"line {step.row + 2}: skipped: {_refused(exc)}", file=out)
            return None
        keys[step.row] = ticket.key
        reason = next(
            (
                e.reason if isinstance(e, TicketAssigned) else None
                for e in reversed(memory.events)
                if e.ticket_key == ticket.key
            ),
            "",
        )
        who = ticket.assignee_id or "team queue"
        print(f"{stamp}  {ticket.key}  opened, assigned to {who} ({reason})", file=out)
        return ticket
    opened = memory.tickets.all.get(keys.get(step.row, ""))
    if opened is None:  # its opening was refused, and said so
        return None
    ticket = opened
    if step.what == "timer":
        notices: list[Notice] = await handle(FireTimer(ticket.key, int(step.data)), memory, ctx)
        for n in notices:
            kind = "reminded" if n.kind.value == "reminder" else "escalated to"
            whom = n.person_id or "the team chat"
            held = (
                ""
                if n.deliver_at <= ctx.clock.now()
                else (f", held until {n.deliver_at.astimezone(zone):%Y-%m-%d %H:%M}")
            )
            print(f"{stamp}  {ticket.key}  {kind} {whom} ({n.route.value}{held})", file=out)
        return ticket
    action = {
        "accept": Action.ACCEPT,
        "wait": Action.WAIT,
        "resume": Action.RESUME,
        "resolve": Action.RESOLVE,
    }[step.what]
    actor = ticket.assignee_id or _lead(ctx, ticket) or "simulate"
    try:
        if action is Action.ACCEPT and ticket.assignee_id is None:
            action = Action.CLAIM
        await handle(ActOnTicket(ticket.key, action, actor, _ORIGIN), memory, ctx)
    except DomainError as exc:
        print(f"{stamp}  {ticket.key}  {step.what} skipped: {exc.message}", file=out)
    return ticket


def _refused(exc: DomainError) -> str:
    """Why a row was skipped, naming the file's columns (`type`, `priority`) as written."""
    if isinstance(exc, FormInvalid):
        return "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
    return exc.message


def _lead(ctx: Context, ticket: Ticket) -> str | None:
    team = ctx.directory.team(ticket.team_id) if ticket.team_id else None
    return team.lead if team else None


def _breaches(memory: _Memory, ctx: Context, end: datetime, out: TextIO) -> int:
    breaches = 0
    for ticket in memory.tickets.all.values():
        tk = timekeeping.load(ticket, ctx)
        if tk is None:
            continue
        for metric, clock in tk.clocks.items():
            if clock.breached(max(end, clock.started_at)):
                breaches += 1
                print(f"breach  {ticket.key}  {metric.value}", file=out)
    total = len(memory.tickets.all)
    print(f"{total} tickets replayed, {breaches} SLA breaches", file=out)
    return breaches


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """The CSV's rows; SimulateError naming the file when it cannot be read as CSV text."""
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        raise SimulateError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SimulateError(f"{path}: cannot read it as UTF-8 CSV: {exc}") from None
