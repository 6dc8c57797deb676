"""Business calendars: when a team is open, and time arithmetic that only counts open time.

Business hours are wall-clock times in the calendar's IANA zone. Each local day's ranges are
turned into UTC instants before any arithmetic, so a day with a DST gap is shorter and a day with
a fold is longer by exactly the real elapsed time. An instant is open when its local wall-clock
time falls inside one of its local day's ranges.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.holidays_cn import official_days

Range = tuple[time, time]
Interval = tuple[datetime, datetime]

# An end of 23:59 means "until midnight": a 00:00-23:59 calendar must not lose a minute a day.
END_OF_DAY = time(23, 59)
# A calendar with no open time in this many consecutive days is broken, not merely quiet.
SEARCH_LIMIT_DAYS = 3 * 366
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)
_TICK = timedelta(microseconds=1)
_CHINA_HOURS: tuple[Range, ...] = ((time(9), time(12)), (time(13), time(18)))


class CalendarError(ValueError):
    """A calendar that cannot be used as configured, or a question it cannot answer."""


@dataclass(frozen=True)
class BusinessCalendar:
    id: str
    timezone: str
    weekly: Mapping[int, tuple[Range, ...]] = field(hash=False)
    holidays: frozenset[date]
    workdays: frozenset[date]
    makeup_hours: tuple[Range, ...] | None = None
    # Each local day's open time in UTC, worked out once: an SLA sweep asks about the same days.
    _days: dict[date, tuple[Interval, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(
                f"calendar {self.id!r}: unknown time zone {self.timezone!r}; use an IANA name "
                "such as 'Asia/Shanghai'"
            ) from exc
        weekly: dict[int, tuple[Range, ...]] = {}
        for weekday, ranges in self.weekly.items():
            if weekday not in range(7):
                raise CalendarError(
                    f"calendar {self.id!r}: weekday {weekday} is not 0 (Monday) to 6 (Sunday)"
                )
            weekly[weekday] = _checked(tuple(ranges), f"calendar {self.id!r}, weekday {weekday}")
        # A private copy: a frozen calendar must not change when the caller's dict does.
        object.__setattr__(self, "weekly", MappingProxyType(weekly))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        if self.makeup_hours is not None:
            makeup = _checked(tuple(self.makeup_hours), f"calendar {self.id!r}, make-up hours")
            object.__setattr__(self, "makeup_hours", makeup)
        both = self.holidays & self.workdays
        if both:
            days = ", ".join(d.isoformat() for d in sorted(both))
            raise CalendarError(
                f"calendar {self.id!r}: {days} listed both as holiday and as make-up workday"
            )

    def is_open(self, instant: datetime) -> bool:
        moment = as_utc(instant, "instant")
        day = moment.astimezone(self._zone).date()
        return any(a <= moment < b for a, b in self._day_intervals(day))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which `duration` of open time has passed since `start`."""
        moment = as_utc(start, "start")
        if duration < timedelta(0):
            raise CalendarError(f"cannot add a negative business duration ({duration})")
        if not duration:
            return moment
        remaining = duration
        intervals = self._open_from(moment, until=None)
        while True:
            a, b = next(intervals)
            if b - a >= remaining:
                return a + remaining
            remaining -= b - a

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Open time elapsed from `start` to `end`; negative when `end` comes first."""
        first, last = as_utc(start, "start"), as_utc(end, "end")
        if last < first:
            return -self.between(last, first)
        return sum((b - a for a, b in self._joined_within(first, last)), timedelta(0))

    def next_open(self, instant: datetime) -> datetime:
        """`instant` itself when open, else the moment the calendar opens next."""
        moment = as_utc(instant, "instant")
        opens, _ = next(self._open_from(moment, until=None))
        return opens

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[Interval]:
        """The open stretches within [start, end), in UTC, touching ones joined."""
        # Checked here, not in the generator, so a naive datetime fails at the call.
        return self._joined_within(as_utc(start, "start"), as_utc(end, "end"))

    def _joined_within(self, first: datetime, last: datetime) -> Iterator[Interval]:
        pending: Interval | None = None
        for a, b in self._open_from(first, until=last):
            if a >= last:
                break
            b = min(b, last)
            if pending is not None and pending[1] == a:
                pending = (pending[0], b)
                continue
            if pending is not None:
                yield pending
            pending = (a, b)
        if pending is not None:
            yield pending

    @property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances by key

    def _ranges_on(self, day: date) -> tuple[Range, ...]:
        if day in self.workdays:
            if self.makeup_hours is not None:
                return self.makeup_hours
            return self.weekly.get(0, ())
        if day in self.holidays:
            return ()
        return self.weekly.get(day.weekday(), ())

    def _day_intervals(self, day: date) -> tuple[Interval, ...]:
        """The day's open time as UTC intervals, sorted and disjoint."""
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._work_out_day(day)
        return known

    def _work_out_day(self, day: date) -> tuple[Interval, ...]:
        ranges = self._ranges_on(day)
        if not ranges:
            return ()
        zone = self._zone
        begins = _first_instant(datetime.combine(day, time()), zone)
        ends = _first_instant(datetime.combine(day + _ONE_DAY, time()), zone)
        stretches = _constant_offset_stretches(begins, ends, zone)
        found: list[Interval] = []
        for opens, closes in ranges:
            wall_open = datetime.combine(day, opens, tzinfo=UTC)
            wall_close = (
                datetime.combine(day + _ONE_DAY, time(), tzinfo=UTC)
                if closes >= END_OF_DAY
                else datetime.combine(day, closes, tzinfo=UTC)
            )
            # Within a stretch of constant UTC offset, wall time minus offset is the instant.
            for lo, hi, offset in stretches:
                a, b = max(lo, wall_open - offset), min(hi, wall_close - offset)
                if a < b:
                    found.append((a, b))
        return tuple(_joined(sorted(found)))

    def _open_from(self, start: datetime, until: datetime | None) -> Iterator[Interval]:
        """Open intervals day by day from `start` (clipped to it), up to the day holding `until`."""
        zone = self._zone
        day = start.astimezone(zone).date()
        last_day = until.astimezone(zone).date() if until is not None else None
        closed_days = 0
        while last_day is None or day <= last_day:
            intervals = self._day_intervals(day)
            closed_days = 0 if intervals else closed_days + 1
            if closed_days > SEARCH_LIMIT_DAYS:
                raise CalendarError(
                    f"calendar {self.id!r} has no open time in the {SEARCH_LIMIT_DAYS} days "
                    f"before {day.isoformat()}; check its weekly hours and holidays"
                )
            for a, b in intervals:
                if b > start:
                    yield max(a, start), b
            day += _ONE_DAY


def _checked(ranges: tuple[Range, ...], where: str) -> tuple[Range, ...]:
    previous_close: time | None = None
    for opens, closes in ranges:
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise CalendarError(f"{where}: business hours are local wall-clock times, no tzinfo")
        if not opens < closes:
            raise CalendarError(f"{where}: range {opens}-{closes} must open before it closes")
        if previous_close is not None and (previous_close >= END_OF_DAY or opens < previous_close):
            raise CalendarError(f"{where}: ranges must be in order and must not overlap")
        previous_close = closes
    return ranges


def as_utc(value: datetime, name: str = "instant") -> datetime:
    """`value` in UTC; naive datetimes are refused since their instant is a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError(
            f"{name} must be timezone-aware (got naive {value.isoformat()}); "
            "attach a zone, e.g. datetime(..., tzinfo=UTC)"
        )
    return value.astimezone(UTC)


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset


def _first_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose local time is `wall` or, when `wall` falls in a gap, the jump."""
    tries = [wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    real = [t for t in tries if t.astimezone(zone).replace(tzinfo=None) == wall]
    if real:
        return min(real)
    lo, hi = sorted(tries)
    return _transition(lo, hi, zone)


def _transition(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (lo, hi] whose UTC offset differs from lo's."""
    # tzdata transitions fall on whole seconds, so bisecting seconds finds the exact instant.
    before = _offset(lo, zone)
    low, high = 0, -(-(hi - lo) // _ONE_SECOND)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(lo + middle * _ONE_SECOND, zone) == before:
            low = middle
        else:
            high = middle
    return lo + high * _ONE_SECOND


def _constant_offset_stretches(
    begins: datetime, ends: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime, timedelta]]:
    stretches: list[tuple[datetime, datetime, timedelta]] = []
    lo = begins
    while lo < ends:
        offset = _offset(lo, zone)
        if _offset(ends - _TICK, zone) == offset:
            stretches.append((lo, ends, offset))
            break
        change = _transition(lo, ends - _TICK, zone)
        stretches.append((lo, change, offset))
        lo = change
    return stretches


def _joined(intervals: list[Interval]) -> list[Interval]:
    joined: list[Interval] = []
    for a, b in intervals:
        if joined and a <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], b))
        else:
            joined.append((a, b))
    return joined


ALWAYS = BusinessCalendar(
    id="always",
    timezone="UTC",
    weekly={weekday: ((time(0), END_OF_DAY),) for weekday in range(7)},
    holidays=frozenset(),
    workdays=frozenset(),
)


def china_calendar(
    years: Iterable[int],
    hours: tuple[Range, ...] = _CHINA_HOURS,
    extra_holidays: Iterable[date] = (),
    extra_workdays: Iterable[date] = (),
    timezone: str = "Asia/Shanghai",
    calendar_id: str = "cn",
) -> BusinessCalendar:
    """Monday to Friday `hours`, closed on the official breaks, open on make-up workdays (调休).

    Config wins over the official lists: `extra_holidays` closes a day (even a make-up workday),
    `extra_workdays` opens one with `hours` (even inside a break).
    """
    closed, worked = official_days(years)
    added_off, added_on = frozenset(extra_holidays), frozenset(extra_workdays)
    both = added_off & added_on
    if both:
        days = ", ".join(d.isoformat() for d in sorted(both))
        raise CalendarError(f"calendar {calendar_id!r}: {days} both an extra holiday and workday")
    return BusinessCalendar(
        id=calendar_id,
        timezone=timezone,
        weekly=dict.fromkeys(range(5), hours),
        holidays=(closed - added_on) | added_off,
        workdays=(worked - added_off) | added_on,
        makeup_hours=hours,
    )
