"""Business-time arithmetic: weekends, lunch breaks, 调休, midnight, DST gaps and folds."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.calendar import (
    ALWAYS,
    SEARCH_LIMIT_DAYS,
    BusinessCalendar,
    CalendarError,
    china_calendar,
)
from core.holidays_cn import Arrangement, arrangement, is_published, official_days

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)
WITH_LUNCH = ((time(9), time(12)), (time(13), time(18)))


def at(zone: ZoneInfo, y: int, m: int, d: int, hh: int = 0, mm: int = 0, fold: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=zone, fold=fold)


def weekdays(
    name: str, zone: str, ranges: tuple[tuple[time, time], ...], days: range = range(5)
) -> BusinessCalendar:
    return BusinessCalendar(
        id=name,
        timezone=zone,
        weekly=dict.fromkeys(days, ranges),
        holidays=frozenset(),
        workdays=frozenset(),
    )


OFFICE = weekdays("office", "Asia/Shanghai", WITH_LUNCH)
NINE_TO_SIX = weekdays("nine-to-six", "Asia/Shanghai", ((time(9), time(18)),))
ROUND_THE_CLOCK = weekdays("round-the-clock", "Europe/Berlin", ((time(0), time(23, 59)),), range(7))
NIGHT_SHIFT_BERLIN = weekdays("night-berlin", "Europe/Berlin", ((time(1), time(4)),), range(7))
NIGHT_SHIFT_NEW_YORK = weekdays(
    "night-new-york", "America/New_York", ((time(1), time(4)),), range(7)
)


# Weekends and lunch


def test_four_hour_sla_opened_friday_1600_is_due_monday_1100() -> None:
    friday = at(SHANGHAI, 2026, 1, 9, 16)
    assert OFFICE.add(friday, 4 * HOUR) == at(SHANGHAI, 2026, 1, 12, 11)
    assert NINE_TO_SIX.add(friday, 4 * HOUR) == at(SHANGHAI, 2026, 1, 12, 11)


def test_lunch_break_does_not_count_as_business_time() -> None:
    monday_ten = at(SHANGHAI, 2026, 1, 12, 10)
    assert OFFICE.add(monday_ten, 4 * HOUR) == at(SHANGHAI, 2026, 1, 12, 15)
    assert not OFFICE.is_open(at(SHANGHAI, 2026, 1, 12, 12, 30))
    assert OFFICE.between(at(SHANGHAI, 2026, 1, 12, 11), at(SHANGHAI, 2026, 1, 12, 14)) == 2 * HOUR


def test_weekend_is_closed_and_next_open_is_monday_morning() -> None:
    saturday_noon = at(SHANGHAI, 2026, 1, 10, 12)
    assert not OFFICE.is_open(saturday_noon)
    assert OFFICE.next_open(saturday_noon) == at(SHANGHAI, 2026, 1, 12, 9)
    assert OFFICE.between(at(SHANGHAI, 2026, 1, 9, 18), at(SHANGHAI, 2026, 1, 12, 9)) == timedelta(
        0
    )


def test_target_ending_at_closing_time_is_due_at_closing_not_next_morning() -> None:
    assert OFFICE.add(at(SHANGHAI, 2026, 1, 9, 16), 2 * HOUR) == at(SHANGHAI, 2026, 1, 9, 18)


def test_next_open_is_the_instant_itself_when_open_and_results_are_utc() -> None:
    open_now = at(SHANGHAI, 2026, 1, 12, 10)
    assert OFFICE.next_open(open_now) == open_now
    assert OFFICE.next_open(open_now).tzinfo is UTC
    assert OFFICE.add(open_now, HOUR).tzinfo is UTC


def test_adding_nothing_leaves_the_start_even_when_closed() -> None:
    saturday_noon = at(SHANGHAI, 2026, 1, 10, 12)
    assert OFFICE.add(saturday_noon, timedelta(0)) == saturday_noon


def test_open_intervals_lists_the_open_stretches_of_a_day() -> None:
    day = list(OFFICE.open_intervals(at(SHANGHAI, 2026, 1, 12, 10), at(SHANGHAI, 2026, 1, 12, 20)))
    assert day == [
        (at(SHANGHAI, 2026, 1, 12, 10), at(SHANGHAI, 2026, 1, 12, 12)),
        (at(SHANGHAI, 2026, 1, 12, 13), at(SHANGHAI, 2026, 1, 12, 18)),
    ]


# Chinese holidays and make-up workdays


CN_2026 = china_calendar([2026])


def test_ticket_before_spring_festival_is_due_on_the_make_up_saturday() -> None:
    friday_before = at(SHANGHAI, 2026, 2, 13, 16)
    assert CN_2026.add(friday_before, 4 * HOUR) == at(SHANGHAI, 2026, 2, 14, 11)


def test_spring_festival_2026_break_is_closed_for_nine_days() -> None:
    make_up_saturday = at(SHANGHAI, 2026, 2, 14, 9)
    # 8 hours on the make-up Saturday, then nothing until Tuesday the 24th.
    assert CN_2026.add(make_up_saturday, 10 * HOUR) == at(SHANGHAI, 2026, 2, 24, 11)
    day = date(2026, 2, 15)
    while day <= date(2026, 2, 23):
        assert not CN_2026.is_open(datetime.combine(day, time(10), SHANGHAI)), day
        day += timedelta(days=1)
    assert CN_2026.between(
        at(SHANGHAI, 2026, 2, 14, 18), at(SHANGHAI, 2026, 2, 24, 9)
    ) == timedelta(0)


def test_make_up_saturday_after_spring_festival_is_a_full_working_day() -> None:
    assert CN_2026.is_open(at(SHANGHAI, 2026, 2, 28, 10))
    assert CN_2026.between(at(SHANGHAI, 2026, 2, 28), at(SHANGHAI, 2026, 3, 1)) == 8 * HOUR
    assert not CN_2026.is_open(at(SHANGHAI, 2026, 3, 7, 10))  # an ordinary Saturday


def test_config_can_close_a_make_up_day_and_open_a_holiday() -> None:
    custom = china_calendar(
        [2026], extra_holidays=[date(2026, 2, 14)], extra_workdays=[date(2026, 2, 16)]
    )
    assert not custom.is_open(at(SHANGHAI, 2026, 2, 14, 10))
    assert custom.is_open(at(SHANGHAI, 2026, 2, 16, 10))
    assert custom.add(at(SHANGHAI, 2026, 2, 13, 16), 4 * HOUR) == at(SHANGHAI, 2026, 2, 16, 11)


def test_make_up_workday_uses_monday_hours_unless_told_otherwise() -> None:
    saturday = date(2026, 1, 10)
    base = {
        "id": "makeup",
        "timezone": "Asia/Shanghai",
        "weekly": {0: WITH_LUNCH, 4: ((time(9), time(15)),)},
        "holidays": frozenset(),
        "workdays": frozenset({saturday}),
    }
    mondays = BusinessCalendar(**base)  # type: ignore[arg-type]
    short = BusinessCalendar(**base, makeup_hours=((time(10), time(12)),))  # type: ignore[arg-type]
    whole_day = (at(SHANGHAI, 2026, 1, 10), at(SHANGHAI, 2026, 1, 11))
    assert mondays.between(*whole_day) == 8 * HOUR
    assert short.between(*whole_day) == 2 * HOUR


def test_a_day_cannot_be_both_an_extra_holiday_and_an_extra_workday() -> None:
    with pytest.raises(CalendarError, match="2026-02-14"):
        china_calendar(
            [2026], extra_holidays=[date(2026, 2, 14)], extra_workdays=[date(2026, 2, 14)]
        )


# Transcribed from the State Council notices (国务院办公厅关于XXXX年部分节假日安排的通知):
# each break as first/last day off, then the weekend days worked instead.
NOTICE_TEXT = {
    2024: (
        "2023-12-30/2024-01-01 2024-02-10/2024-02-17 2024-04-04/2024-04-06 2024-05-01/2024-05-05 "
        "2024-06-08/2024-06-10 2024-09-15/2024-09-17 2024-10-01/2024-10-07",
        "2024-02-04 2024-02-18 2024-04-07 2024-04-28 2024-05-11 2024-09-14 2024-09-29 2024-10-12",
    ),
    2025: (
        "2025-01-01/2025-01-01 2025-01-28/2025-02-04 2025-04-04/2025-04-06 2025-05-01/2025-05-05 "
        "2025-05-31/2025-06-02 2025-10-01/2025-10-08",
        "2025-01-26 2025-02-08 2025-04-27 2025-09-28 2025-10-11",
    ),
    2026: (
        "2026-01-01/2026-01-03 2026-02-15/2026-02-23 2026-04-04/2026-04-06 2026-05-01/2026-05-05 "
        "2026-06-19/2026-06-21 2026-09-25/2026-09-27 2026-10-01/2026-10-07",
        "2026-01-04 2026-02-14 2026-02-28 2026-05-09 2026-09-20 2026-10-10",
    ),
}


def notice(year: int) -> Arrangement:
    breaks, worked = NOTICE_TEXT[year]
    spans = [span.split("/") for span in breaks.split()]
    return Arrangement(
        breaks=tuple((date.fromisoformat(a), date.fromisoformat(b)) for a, b in spans),
        workdays=tuple(date.fromisoformat(day) for day in worked.split()),
    )


@pytest.mark.parametrize("year", sorted(NOTICE_TEXT))
def test_official_arrangement_matches_the_state_council_notice(year: int) -> None:
    assert arrangement(year) == notice(year)
    assert is_published(year)


def test_official_days_cover_every_requested_year() -> None:
    off, worked = official_days([2025, 2026])
    assert date(2025, 1, 29) in off
    assert date(2026, 2, 17) in off
    assert date(2025, 2, 8) in worked
    assert date(2026, 2, 28) in worked


def test_a_year_without_a_notice_is_reported_as_unpublished() -> None:
    assert not is_published(2099)


def test_a_hand_copied_notice_replaces_the_packages_estimate() -> None:
    notice = Arrangement(
        breaks=((date(2099, 1, 1), date(2099, 1, 3)),), workdays=(date(2099, 1, 4),)
    )
    corrections = {2099: notice}
    assert is_published(2099, corrections)
    assert arrangement(2099, corrections) == notice
    off, worked = official_days([2099], corrections)
    assert off == {date(2099, 1, 1), date(2099, 1, 2), date(2099, 1, 3)}
    assert worked == {date(2099, 1, 4)}


def test_a_notice_that_works_on_a_day_off_is_refused() -> None:
    with pytest.raises(ValueError, match="both off and worked"):
        Arrangement(breaks=((date(2099, 1, 1), date(2099, 1, 3)),), workdays=(date(2099, 1, 2),))
    with pytest.raises(ValueError, match="ends before it starts"):
        Arrangement(breaks=((date(2099, 1, 3), date(2099, 1, 1)),), workdays=())


# Midnight


def test_round_the_clock_calendar_loses_no_minute_at_midnight() -> None:
    monday = at(BERLIN, 2026, 1, 12)
    assert ROUND_THE_CLOCK.between(monday, monday + 24 * HOUR) == 24 * HOUR
    assert ROUND_THE_CLOCK.add(at(BERLIN, 2026, 1, 12, 12), 24 * HOUR) == at(
        BERLIN, 2026, 1, 13, 12
    )
    assert ROUND_THE_CLOCK.is_open(datetime(2026, 1, 12, 23, 59, 30, tzinfo=BERLIN))
    stretches = list(ROUND_THE_CLOCK.open_intervals(monday, monday + 72 * HOUR))
    assert stretches == [(monday, monday + 72 * HOUR)]


def test_midnight_dst_gap_leaves_no_hole_in_a_round_the_clock_calendar() -> None:
    santiago = ZoneInfo("America/Santiago")  # 2026-09-06 starts at 01:00, midnight is skipped
    always_open = weekdays("santiago", "America/Santiago", ((time(0), time(23, 59)),), range(7))
    saturday_noon = datetime(2026, 9, 5, 12, tzinfo=santiago)
    sunday_noon = datetime(2026, 9, 6, 12, tzinfo=santiago)
    assert always_open.between(saturday_noon, sunday_noon) == 23 * HOUR
    assert len(list(always_open.open_intervals(saturday_noon, sunday_noon))) == 1
    assert always_open.is_open(datetime(2026, 9, 6, 1, tzinfo=santiago))


def test_always_calendar_is_plain_calendar_time() -> None:
    start = datetime(2026, 2, 14, 17, 45, tzinfo=UTC)
    assert ALWAYS.add(start, timedelta(days=3, minutes=7)) == start + timedelta(days=3, minutes=7)
    assert ALWAYS.between(start, start + timedelta(days=400)) == timedelta(days=400)


# DST gaps and folds: business hours 01:00-04:00 straddle the change


@pytest.mark.parametrize(
    ("calendar", "zone", "day", "real_hours"),
    [
        (NIGHT_SHIFT_BERLIN, BERLIN, date(2026, 3, 29), 2),  # 02:00 -> 03:00 skipped
        (NIGHT_SHIFT_BERLIN, BERLIN, date(2026, 10, 25), 4),  # 02:00-03:00 twice
        (NIGHT_SHIFT_NEW_YORK, NEW_YORK, date(2026, 3, 8), 2),
        (NIGHT_SHIFT_NEW_YORK, NEW_YORK, date(2026, 11, 1), 4),
        (NIGHT_SHIFT_BERLIN, BERLIN, date(2026, 3, 28), 3),  # an ordinary day
    ],
)
def test_business_hours_across_dst_count_real_elapsed_time(
    calendar: BusinessCalendar, zone: ZoneInfo, day: date, real_hours: int
) -> None:
    midnight = datetime.combine(day, time(), zone)
    noon = datetime.combine(day, time(12), zone)
    assert calendar.between(midnight, noon) == real_hours * HOUR


def test_adding_across_the_spring_gap_uses_the_shortened_night() -> None:
    start = at(BERLIN, 2026, 3, 29, 1)
    assert NIGHT_SHIFT_BERLIN.add(start, 2 * HOUR) == at(BERLIN, 2026, 3, 29, 4)
    assert NIGHT_SHIFT_BERLIN.add(start, 150 * timedelta(minutes=1)) == at(
        BERLIN, 2026, 3, 30, 1, 30
    )


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    # Folds are asserted in UTC: Python compares two times of the same zone by wall clock alone.
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def test_both_instants_of_a_repeated_hour_are_open() -> None:
    first = at(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)
    second = at(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)
    assert (first.astimezone(UTC), second.astimezone(UTC)) == (
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 1, 6, 30),
    )
    assert NIGHT_SHIFT_NEW_YORK.is_open(first)
    assert NIGHT_SHIFT_NEW_YORK.is_open(second)
    assert NIGHT_SHIFT_NEW_YORK.between(first, second) == HOUR


def test_range_ending_inside_a_fold_is_open_whenever_the_wall_clock_is_inside_it() -> None:
    until_half_past_two = weekdays(
        "until-2-30", "Europe/Berlin", ((time(1), time(2, 30)),), range(7)
    )
    day = list(
        until_half_past_two.open_intervals(at(BERLIN, 2026, 10, 25), at(BERLIN, 2026, 10, 25, 12))
    )
    # 01:00-02:30 summer time (UTC+2), then 02:00-02:30 again in winter time (UTC+1).
    assert day == [
        (utc(2026, 10, 24, 23), utc(2026, 10, 25, 0, 30)),
        (utc(2026, 10, 25, 1), utc(2026, 10, 25, 1, 30)),
    ]
    assert not until_half_past_two.is_open(utc(2026, 10, 25, 0, 45))  # 02:45 summer time


def test_office_hours_keep_their_local_length_on_dst_days() -> None:
    berlin_office = weekdays("berlin-office", "Europe/Berlin", ((time(9), time(17)),), range(7))
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        start = datetime.combine(day, time(), BERLIN)
        assert berlin_office.between(start, start + 24 * HOUR) == 8 * HOUR
        assert berlin_office.add(start, 8 * HOUR) == datetime.combine(day, time(17), BERLIN)


# Properties over many random starts


@pytest.mark.parametrize(
    "calendar",
    [CN_2026, OFFICE, NIGHT_SHIFT_BERLIN, NIGHT_SHIFT_NEW_YORK, ROUND_THE_CLOCK],
    ids=lambda c: c.id,
)
def test_between_undoes_add_from_any_start(calendar: BusinessCalendar) -> None:
    rng = random.Random(20260214)
    year_start = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(300):
        start = year_start + timedelta(seconds=rng.randrange(365 * 24 * 3600))
        duration = timedelta(minutes=rng.randrange(0, 60 * 60))
        due = calendar.add(start, duration)
        assert calendar.between(start, due) == duration, (start, duration)
        middle = start + (due - start) / 2
        assert calendar.between(start, middle) + calendar.between(middle, due) == duration
        if duration:
            # The earliest such instant: a second earlier is not enough.
            assert calendar.between(start, due - timedelta(seconds=1)) < duration


def test_between_is_negative_when_the_end_comes_first() -> None:
    a, b = at(SHANGHAI, 2026, 1, 12, 9), at(SHANGHAI, 2026, 1, 12, 11)
    assert OFFICE.between(b, a) == -2 * HOUR


# Refusals


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: OFFICE.is_open(naive),
        lambda naive: OFFICE.add(naive, HOUR),
        lambda naive: OFFICE.between(naive, datetime(2026, 1, 13, tzinfo=UTC)),
        lambda naive: OFFICE.next_open(naive),
        lambda naive: OFFICE.open_intervals(datetime(2026, 1, 1, tzinfo=UTC), naive),
    ],
)
def test_naive_datetimes_are_rejected(call: Callable[[datetime], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2026, 1, 12, 10))


def test_negative_duration_is_rejected() -> None:
    with pytest.raises(CalendarError, match="negative"):
        OFFICE.add(at(SHANGHAI, 2026, 1, 12, 10), -HOUR)


def test_calendar_without_open_time_fails_with_a_clear_message_instead_of_looping() -> None:
    never = weekdays("never", "UTC", WITH_LUNCH, range(0))
    with pytest.raises(CalendarError, match=f"no open time in the {SEARCH_LIMIT_DAYS} days"):
        never.add(datetime(2026, 1, 1, tzinfo=UTC), HOUR)
    assert never.between(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)) == (
        timedelta(0)
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"weekly": {7: WITH_LUNCH}}, "weekday 7"),
        ({"weekly": {0: ((time(12), time(9)),)}}, "open before it closes"),
        ({"weekly": {0: ((time(9, tzinfo=UTC), time(18)),)}}, "no tzinfo"),
        ({"makeup_hours": ((time(18), time(9)),)}, "make-up hours"),
        ({"weekly": {0: ((time(9), time(13)), (time(12), time(18)))}}, "must not overlap"),
        ({"holidays": frozenset({date(2026, 2, 14)})}, "both as holiday and as make-up"),
    ],
)
def test_invalid_calendars_are_refused_with_the_reason(
    kwargs: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "id": "bad",
        "timezone": "UTC",
        "weekly": {0: WITH_LUNCH},
        "holidays": frozenset(),
        "workdays": frozenset({date(2026, 2, 14)}),
    }
    fields.update(kwargs)
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar(**fields)  # type: ignore[arg-type]


def test_calendar_does_not_change_when_the_callers_dict_does() -> None:
    hours = {0: WITH_LUNCH}
    calendar = BusinessCalendar("c", "UTC", hours, frozenset(), frozenset())
    hours[1] = WITH_LUNCH
    assert 1 not in calendar.weekly
