"""SLA clocks: targets frozen onto a ticket when its clock starts, measured in business time.

A clock is a value: pause, resume and stop return a new clock, and every question takes `now`
from the caller's Clock. Paused time never counts, so resuming pushes the due time later by
exactly the business time spent waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from core.calendar import ALWAYS, BusinessCalendar, as_utc


class SlaMetric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_UPDATE = "next_update"
    RESOLUTION = "resolution"


class SlaError(ValueError):
    """An SLA policy or clock used in a way that cannot be measured."""


@dataclass(frozen=True)
class SlaTarget:
    metric: SlaMetric
    duration: timedelta
    business_time: bool

    def __post_init__(self) -> None:
        if self.duration <= timedelta(0):
            raise SlaError(f"{self.metric} target must be positive, got {self.duration}")


@dataclass(frozen=True)
class SlaPolicy:
    id: str
    targets: tuple[SlaTarget, ...]
    calendar_id: str

    def __post_init__(self) -> None:
        metrics = [t.metric for t in self.targets]
        repeated = sorted({m for m in metrics if metrics.count(m) > 1})
        if repeated:
            raise SlaError(f"SLA policy {self.id!r} sets {', '.join(repeated)} more than once")


@dataclass(frozen=True)
class SlaClock:
    metric: SlaMetric
    started_at: datetime
    target: timedelta
    business_time: bool
    calendar: BusinessCalendar
    paused_at: datetime | None = None
    # In the clock's own measure: business time when business_time, else calendar time.
    paused_total: timedelta = timedelta(0)
    stopped_at: datetime | None = None
    # memo of due_at(); init=False so replace() (pause, resume, stop) starts a fresh one
    _due: datetime | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("started_at", "paused_at", "stopped_at"):
            value: datetime | None = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_utc(value, name))

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    def due_at(self) -> datetime | None:
        """When the target is breached if nothing happens; None while paused or stopped."""
        if self.paused or self.stopped:
            return None
        if self._due is None:  # a clock never changes: business-time arithmetic runs once
            budget = self.target + self.paused_total
            due = (
                self.calendar.add(self.started_at, budget)
                if self.business_time
                else self.started_at + budget
            )
            object.__setattr__(self, "_due", due)
        return self._due

    def elapsed(self, now: datetime) -> timedelta:
        """Time counted against the target so far, pauses excluded."""
        end = self._checked(now, "now")
        if self.stopped_at is not None:
            end = self.stopped_at
        elif self.paused_at is not None:
            end = self.paused_at
        return self._measure(self.started_at, end) - self.paused_total

    def remaining(self, now: datetime) -> timedelta:
        """Time left before the breach; negative once breached."""
        return self.target - self.elapsed(now)

    def breached(self, now: datetime) -> bool:
        """A running clock breaches when its time is used up; a stopped one met it if within."""
        if self.stopped:
            return self.elapsed(now) > self.target
        return self.elapsed(now) >= self.target

    def pause(self, now: datetime) -> SlaClock:
        """Stop counting (waiting for the requester); pausing a paused clock changes nothing."""
        moment = self._checked(now, "now")
        if self.paused or self.stopped:
            return self
        return replace(self, paused_at=moment)

    def resume(self, now: datetime) -> SlaClock:
        moment = self._checked(now, "now")
        if self.paused_at is None or self.stopped:
            return self
        if moment < self.paused_at:
            raise SlaError(
                f"cannot resume at {moment.isoformat()}: paused later, at {self.paused_at}"
            )
        waited = self._measure(self.paused_at, moment)
        return replace(self, paused_at=None, paused_total=self.paused_total + waited)

    def stop(self, now: datetime) -> SlaClock:
        """The target was met or abandoned; a paused clock's wait is settled first."""
        moment = self._checked(now, "now")
        if self.stopped:
            return self
        return replace(self.resume(moment), stopped_at=moment)

    def _measure(self, start: datetime, end: datetime) -> timedelta:
        if self.business_time:
            return self.calendar.between(start, end)
        return as_utc(end, "end") - as_utc(start, "start")

    def _checked(self, now: datetime, name: str) -> datetime:
        moment = as_utc(now, name)
        if moment < self.started_at:
            raise SlaError(
                f"{name} ({moment.isoformat()}) is before the clock started "
                f"({self.started_at.isoformat()})"
            )
        return moment


def start_clocks(
    policy: SlaPolicy, calendars: Mapping[str, BusinessCalendar], started_at: datetime
) -> dict[SlaMetric, SlaClock]:
    """One running clock per target of the policy, with its calendar frozen in."""
    started = as_utc(started_at, "started_at")
    needs_calendar = any(t.business_time for t in policy.targets)
    calendar = calendars.get(policy.calendar_id)
    if calendar is None and needs_calendar:
        known = ", ".join(sorted(calendars)) or "none"
        raise SlaError(
            f"SLA policy {policy.id!r} uses calendar {policy.calendar_id!r}, which is not "
            f"configured (configured: {known})"
        )
    return {
        t.metric: SlaClock(
            metric=t.metric,
            started_at=started,
            target=t.duration,
            business_time=t.business_time,
            calendar=calendar if calendar is not None else ALWAYS,
        )
        for t in policy.targets
    }
