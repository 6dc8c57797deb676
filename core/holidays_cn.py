"""China's public holidays and make-up workdays (调休), as the State Council publishes them.

Every November or December the General Office of the State Council publishes next year's
arrangement (国务院办公厅关于XXXX年部分节假日安排的通知): each break as a run of days off, and
the weekend days worked instead. The `holidays` package tracks those notices, make-up workdays
included, so it is the source; `CORRECTIONS` holds a year copied from the notice by hand when the
installed package does not know it yet or disagrees with it (see docs/calendars.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

import holidays

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Arrangement:
    """One year's notice: each break (first and last day off, inclusive) and the make-up workdays."""

    breaks: tuple[tuple[date, date], ...]
    workdays: tuple[date, ...]

    def __post_init__(self) -> None:
        for first, last in self.breaks:
            if last < first:
                raise ValueError(f"break {first}..{last} ends before it starts")
        overlap = self.days_off() & set(self.workdays)
        if overlap:
            raise ValueError(f"days both off and worked: {sorted(overlap)}")

    def days_off(self) -> frozenset[date]:
        days: set[date] = set()
        for first, last in self.breaks:
            day = first
            while day <= last:
                days.add(day)
                day += _ONE_DAY
        return frozenset(days)


# Years the installed `holidays` package lacks or gets wrong, transcribed from the notice. A year
# here replaces the package's answer for that year entirely. Example entry (the 2026 notice):
#   2026: Arrangement(
#       breaks=((date(2026, 1, 1), date(2026, 1, 3)), (date(2026, 2, 15), date(2026, 2, 23)), ...),
#       workdays=(date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), ...),
#   ),
CORRECTIONS: Mapping[int, Arrangement] = MappingProxyType({})


def arrangement(year: int, corrections: Mapping[int, Arrangement] = CORRECTIONS) -> Arrangement:
    """The year's breaks and make-up workdays; without a published notice, statutory days only."""
    if year in corrections:
        return corrections[year]
    return _from_package(year)


def official_days(
    years: Iterable[int], corrections: Mapping[int, Arrangement] = CORRECTIONS
) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, make-up workdays) over the given years."""
    off: set[date] = set()
    worked: set[date] = set()
    for year in set(years):
        plan = arrangement(year, corrections)
        off |= plan.days_off()
        worked |= set(plan.workdays)
    # A correction for one year wins over a neighbour's break that spills into it.
    return frozenset(off - worked), frozenset(worked)


def is_published(year: int, corrections: Mapping[int, Arrangement] = CORRECTIONS) -> bool:
    """Whether the year's make-up workdays are known; if not, only statutory days are closed.

    Every published arrangement so far swaps at least one weekend day, so an arrangement
    without any make-up workday is the package's estimate from the statutory rules.
    """
    return year in corrections or bool(arrangement(year, corrections).workdays)


def _package(years: Iterable[int]) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=tuple(years))


def _from_package(year: int) -> Arrangement:
    # Neighbouring years too: a break may start in December (2023-12-30..2024-01-01).
    cn = _package((year - 1, year, year + 1))

    def resting(day: date) -> bool:
        return not cn.is_working_day(day)

    # The package lists statutory and swapped days; the notice's break is the whole run of
    # days off around them, weekends included ("2月15日至23日放假调休，共9天").
    breaks: list[tuple[date, date]] = []
    for day in sorted(d for d in cn if d.year == year):
        if breaks and breaks[-1][0] <= day <= breaks[-1][1]:
            continue
        first, last = day, day
        while resting(first - _ONE_DAY):
            first -= _ONE_DAY
        while resting(last + _ONE_DAY):
            last += _ONE_DAY
        breaks.append((first, last))
    workdays = tuple(sorted(d for d in cn.weekend_workdays if d.year == year))
    return Arrangement(breaks=tuple(breaks), workdays=workdays)
