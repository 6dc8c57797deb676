"""On-call rotations: who holds the pager at a given instant.

A rotation hands over at a wall-clock time in its own zone, so a 09:00 handover stays at 09:00
local across DST changes; the shift length in real hours stretches or shrinks instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.calendar import as_utc


class RotationKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def days(self) -> int:
        return 1 if self is RotationKind.DAILY else 7


class RotationError(ValueError):
    """A rotation that cannot be used as configured."""


@dataclass(frozen=True)
class Override:
    """`person_id` is on call from `start` (inclusive) to `end` (exclusive), whatever the rota says."""

    person_id: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start, "override start"))
        object.__setattr__(self, "end", as_utc(self.end, "override end"))
        if not self.start < self.end:
            raise RotationError(
                f"override for {self.person_id!r} must end after it starts "
                f"({self.start.isoformat()} to {self.end.isoformat()})"
            )

    def covers(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class Rotation:
    id: str
    kind: RotationKind
    participants: tuple[str, ...]
    handover: time
    timezone: str
    # the local date of the first handover; participants[0] holds the first shift
    start: date
    overrides: tuple[Override, ...] = ()

    def __post_init__(self) -> None:
        if not self.participants:
            raise RotationError(f"rotation {self.id!r} needs at least one participant")
        if self.handover.tzinfo is not None:
            raise RotationError(f"rotation {self.id!r}: handover is a local time, no tzinfo")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RotationError(
                f"rotation {self.id!r}: unknown time zone {self.timezone!r}"
            ) from exc

    def handover_at(self, day: date) -> datetime:
        """The instant of the handover on local date `day`, in UTC."""
        # fold=0 picks the first of two repeated wall times; inside a DST gap it lands one hour
        # late, when the clock reading the handover time has really passed.
        wall = datetime.combine(day, self.handover, tzinfo=ZoneInfo(self.timezone))
        return wall.astimezone(UTC)


def who_is_on_call(rotation: Rotation, instant: datetime) -> tuple[str | None, str]:
    """The person on call at `instant` and why; None before the rotation's first shift."""
    moment = as_utc(instant, "instant")
    # later overrides win: an operator fixes a swap by adding one more line
    for override in reversed(rotation.overrides):
        if override.covers(moment):
            return override.person_id, (
                f"on call (override in {rotation.kind.value} rotation {rotation.id} "
                f"until {override.end.isoformat()})"
            )
    shift = shift_number(rotation, moment)
    if shift is None:
        return None, f"rotation {rotation.id} starts {rotation.start.isoformat()}"
    person = rotation.participants[shift % len(rotation.participants)]
    return person, f"on call ({rotation.kind.value} rotation)"


def shift_number(rotation: Rotation, instant: datetime) -> int | None:
    """How many shifts began before `instant` minus one (0: the first); None before the start."""
    moment = as_utc(instant, "instant")
    day = moment.astimezone(ZoneInfo(rotation.timezone)).date()
    if moment < rotation.handover_at(day):
        day -= timedelta(days=1)
    days = (day - rotation.start).days
    if days < 0:
        return None
    return days // rotation.kind.days


def next_handover(rotation: Rotation, instant: datetime) -> datetime:
    """The first handover strictly after `instant` (UTC): when to re-ask who is on call."""
    moment = as_utc(instant, "instant")
    day = max(moment.astimezone(ZoneInfo(rotation.timezone)).date(), rotation.start)
    while True:
        offset = (day - rotation.start).days % rotation.kind.days
        if offset == 0 and rotation.handover_at(day) > moment:
            return rotation.handover_at(day)
        day += timedelta(days=rotation.kind.days - offset if offset else 1)
