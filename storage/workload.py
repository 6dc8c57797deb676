"""Open work per team for assignment: one grouped query per team and refresh period.

Reading the workload for every new ticket would cost a query on the ingest hot path. Instead the
figures are cached per team for a short period, and decisions made in this process meanwhile are
counted locally, so a burst of tickets still spreads across the team. Other replicas' decisions
show up at the next refresh: least-loaded is a heuristic, not an invariant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.assignment import Workload
from core.clock import Clock
from core.ports import TeamLoad
from core.ticket import Priority, Status
from storage.tables import tickets

_OPEN = [s.value for s in Status if s.is_open]


@dataclass
class _Cached:
    read_at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)
    last: str | None = None


class CachedTeamLoads:
    """core.ports.TeamLoads backed by the tickets table."""

    def __init__(self, engine: AsyncEngine, clock: Clock, ttl: timedelta = timedelta(seconds=5)):
        self._engine = engine
        self._clock = clock
        self._ttl = ttl
        self._teams: dict[str, _Cached] = {}

    async def load(self, team_id: str) -> TeamLoad:
        now = self._clock.now()
        cached = self._teams.get(team_id)
        if cached is None or now - cached.read_at >= self._ttl:
            cached = self._teams[team_id] = await self._read(team_id, now)
        return TeamLoad(Workload(dict(cached.counts), dict(cached.weights)), cached.last)

    def assigned(self, team_id: str, person_id: str, priority: Priority) -> None:
        cached = self._teams.get(team_id)
        if cached is None:
            return
        cached.counts[person_id] = cached.counts.get(person_id, 0) + 1
        cached.weights[person_id] = cached.weights.get(person_id, 0) + priority.weight
        cached.last = person_id

    async def _read(self, team_id: str, now: datetime) -> _Cached:
        grouped = (
            sa.select(tickets.c.assignee_id, tickets.c.priority, sa.func.count())
            .where(
                tickets.c.team_id == team_id,
                tickets.c.status.in_(_OPEN),
                tickets.c.assignee_id.is_not(None),
            )
            .group_by(tickets.c.assignee_id, tickets.c.priority)
        )
        # the newest assigned ticket's assignee: whose turn it was last, for round robin
        last = (
            sa.select(tickets.c.assignee_id)
            .where(tickets.c.team_id == team_id, tickets.c.assignee_id.is_not(None))
            .order_by(tickets.c.id.desc())
            .limit(1)
        )
        cached = _Cached(now)
        async with self._engine.connect() as conn:
            for assignee, priority, n in await conn.execute(grouped):
                cached.counts[assignee] = cached.counts.get(assignee, 0) + n
                weight = Priority(priority).weight * n
                cached.weights[assignee] = cached.weights.get(assignee, 0) + weight
            cached.last = (await conn.execute(last)).scalar_one_or_none()
        return cached
