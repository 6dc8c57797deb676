"""What a ticket's timekeeping stores in `Ticket.sla`: its clocks, chain, state and past cycles.

`core.timekeeping` moves this record as things happen to the ticket; this module only holds it
and turns it to and from JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.calendar import ALWAYS, BusinessCalendar
from core.escalation_plan import EscalationPlan, EscalationState
from core.sla import SlaClock, SlaMetric


@dataclass(frozen=True)
class SlaCycle:
    """How one cycle of a metric ended, kept when a reopen starts the next one (for reports)."""

    metric: SlaMetric
    started_at: datetime
    stopped_at: datetime
    target: timedelta
    business_time: bool
    # counted against the target, pauses excluded: business time when business_time
    elapsed: timedelta

    @property
    def breached(self) -> bool:
        return self.elapsed > self.target

    @classmethod
    def of(cls, clock: SlaClock) -> SlaCycle:
        assert clock.stopped_at is not None
        return cls(
            clock.metric,
            clock.started_at,
            clock.stopped_at,
            clock.target,
            clock.business_time,
            clock.elapsed(clock.stopped_at),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric.value,
            "started_at": self.started_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat(),
            "target_s": self.target.total_seconds(),
            "business_time": self.business_time,
            "elapsed_s": self.elapsed.total_seconds(),
            "outcome": "breached" if self.breached else "met",
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SlaCycle:
        return cls(
            metric=SlaMetric(data["metric"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            stopped_at=datetime.fromisoformat(data["stopped_at"]),
            target=timedelta(seconds=float(data["target_s"])),
            business_time=bool(data["business_time"]),
            elapsed=timedelta(seconds=float(data["elapsed_s"])),
        )


@dataclass
class Timekeeping:
    policy_id: str
    calendar_id: str
    counts: frozenset[str]
    clocks: dict[SlaMetric, SlaClock]
    escalation: EscalationPlan | None = None
    state: EscalationState = field(default_factory=EscalationState)
    snoozed_until: datetime | None = None
    # cycles ended by a reopen, oldest first
    history: list[SlaCycle] = field(default_factory=list)

    def due(self) -> dict[str, datetime | None]:
        return {m.value: c.due_at() for m, c in self.clocks.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy_id,
            "calendar": self.calendar_id,
            "counts": sorted(self.counts),
            "clocks": {m.value: _clock_json(c) for m, c in self.clocks.items()},
            # derived, kept for readers without calendars (cards, reports)
            "due": {m: d.isoformat() if d else None for m, d in self.due().items()},
            "plan": self.escalation.to_json() if self.escalation else None,
            "state": self.state.to_json(),
            "snoozed_until": self.snoozed_until.isoformat() if self.snoozed_until else None,
            "history": [c.to_json() for c in self.history],
        }

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], calendars: Mapping[str, BusinessCalendar]
    ) -> Timekeeping:
        calendar = calendars.get(str(data["calendar"]), ALWAYS)
        snoozed = data.get("snoozed_until")
        return cls(
            policy_id=str(data["policy"]),
            calendar_id=str(data["calendar"]),
            counts=frozenset(data.get("counts", ())),
            clocks={
                SlaMetric(m): _clock_from(m, c, calendar) for m, c in dict(data["clocks"]).items()
            },
            escalation=EscalationPlan.from_json(data["plan"]) if data.get("plan") else None,
            state=EscalationState.from_json(data.get("state") or {}),
            snoozed_until=datetime.fromisoformat(snoozed) if snoozed else None,
            # absent in timekeeping stored before reopens started new cycles
            history=[SlaCycle.from_json(c) for c in data.get("history") or ()],
        )


def _clock_json(c: SlaClock) -> dict[str, Any]:
    return {
        "started_at": c.started_at.isoformat(),
        "target_s": c.target.total_seconds(),
        "business_time": c.business_time,
        "paused_at": c.paused_at.isoformat() if c.paused_at else None,
        "paused_total_s": c.paused_total.total_seconds(),
        "stopped_at": c.stopped_at.isoformat() if c.stopped_at else None,
    }


def _clock_from(metric: str, data: Mapping[str, Any], calendar: BusinessCalendar) -> SlaClock:
    def instant(name: str) -> datetime | None:
        value = data.get(name)
        return datetime.fromisoformat(value) if value else None

    started = instant("started_at")
    assert started is not None
    return SlaClock(
        metric=SlaMetric(metric),
        started_at=started,
        target=timedelta(seconds=float(data["target_s"])),
        business_time=bool(data["business_time"]),
        calendar=calendar,
        paused_at=instant("paused_at"),
        paused_total=timedelta(seconds=float(data.get("paused_total_s", 0))),
        stopped_at=instant("stopped_at"),
    )
