"""SLA clocks in business time: due times, pauses while waiting, breaches, frozen calendars."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.calendar import ALWAYS, BusinessCalendar
from core.clock import FrozenClock
from core.sla import SlaClock, SlaError, SlaMetric, SlaPolicy, SlaTarget, start_clocks

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

OFFICE = BusinessCalendar(
    id="office",
    timezone="Asia/Shanghai",
    weekly=dict.fromkeys(range(5), ((time(9), time(12)), (time(13), time(18)))),
    holidays=frozenset(),
    workdays=frozenset(),
)
POLICY = SlaPolicy(
    id="it-p2",
    targets=(
        SlaTarget(SlaMetric.FIRST_RESPONSE, 4 * HOUR, business_time=True),
        SlaTarget(SlaMetric.RESOLUTION, timedelta(days=2), business_time=False),
    ),
    calendar_id="office",
)


def at(d: int, hh: int, mm: int = 0, month: int = 1) -> datetime:
    """A moment in January 2026, Shanghai time (the 9th is a Friday)."""
    return datetime(2026, month, d, hh, mm, tzinfo=SHANGHAI)


def clock(started: datetime, target: timedelta, *, business_time: bool = True) -> SlaClock:
    return SlaClock(
        metric=SlaMetric.RESOLUTION,
        started_at=started,
        target=target,
        business_time=business_time,
        calendar=OFFICE,
    )


def test_four_hour_first_response_opened_friday_1600_is_due_monday_1100() -> None:
    clocks = start_clocks(POLICY, {"office": OFFICE}, at(9, 16))
    assert clocks[SlaMetric.FIRST_RESPONSE].due_at() == at(12, 11)


def test_calendar_time_target_runs_through_the_weekend() -> None:
    clocks = start_clocks(POLICY, {"office": OFFICE}, at(9, 16))
    assert clocks[SlaMetric.RESOLUTION].due_at() == at(11, 16)


def test_four_hour_chain_runs_in_milliseconds_with_an_injected_clock() -> None:
    now = FrozenClock(at(9, 16).astimezone(UTC))
    first_response = start_clocks(POLICY, {"office": OFFICE}, now.now())[SlaMetric.FIRST_RESPONSE]
    seen: list[timedelta] = []
    while not first_response.breached(now.now()):
        seen.append(first_response.remaining(now.now()))
        now.advance(HOUR)
    # Friday 16:00 and 17:00 count, the weekend does not, Monday 09:00 and 10:00 do.
    assert seen[:3] == [4 * HOUR, 3 * HOUR, 2 * HOUR]
    assert seen[-1] == HOUR
    assert now.now() == at(12, 11)


def test_pausing_over_the_weekend_does_not_consume_business_time() -> None:
    running = clock(at(9, 10), 8 * HOUR)
    assert running.due_at() == at(12, 10)  # 7 h on Friday, 1 h on Monday
    waiting = running.pause(at(9, 17))
    assert waiting.elapsed(at(9, 17)) == 6 * HOUR
    assert waiting.elapsed(at(11, 23)) == 6 * HOUR  # Sunday night: still 6 h
    assert waiting.remaining(at(12, 10)) == 2 * HOUR
    resumed = waiting.resume(at(12, 10))
    # Waited 1 h on Friday evening and 1 h on Monday morning: due 2 business hours later.
    assert resumed.due_at() == at(12, 12)
    assert resumed.remaining(at(12, 10)) == 2 * HOUR


def test_resuming_pushes_the_due_time_by_exactly_the_paused_business_time() -> None:
    running = clock(at(12, 9), 16 * HOUR)
    before = running.due_at()
    assert before is not None
    resumed = running.pause(at(12, 11)).resume(at(13, 15))
    paused_for = OFFICE.between(at(12, 11), at(13, 15))
    assert resumed.due_at() == OFFICE.add(before, paused_for)
    assert resumed.paused_total == paused_for


def test_calendar_time_pause_pushes_the_due_time_by_wall_time() -> None:
    running = clock(at(9, 16), 48 * HOUR, business_time=False)
    resumed = running.pause(at(10, 8)).resume(at(11, 8))
    assert resumed.due_at() == at(12, 16)  # Sunday 16:00 plus the day spent waiting


def test_due_time_is_unknown_while_paused_or_stopped() -> None:
    running = clock(at(12, 9), 4 * HOUR)
    assert running.pause(at(12, 10)).due_at() is None
    assert running.stop(at(12, 10)).due_at() is None


def test_running_clock_is_breached_at_its_due_time_not_before() -> None:
    running = clock(at(12, 9), 4 * HOUR)
    assert running.due_at() == at(12, 14)  # the lunch hour does not count
    assert not running.breached(at(12, 14) - MINUTE)
    assert running.breached(at(12, 14))
    assert running.remaining(at(12, 15)) == -HOUR


def test_breach_on_friday_evening_stays_breached_over_the_weekend() -> None:
    running = clock(at(9, 16), 2 * HOUR)
    assert running.due_at() == at(9, 18)
    assert running.breached(at(10, 12))
    assert running.remaining(at(10, 12)) == timedelta(0)
    assert running.remaining(at(12, 10)) == -HOUR


def test_stopped_clock_keeps_its_result() -> None:
    met = clock(at(12, 9), 4 * HOUR).stop(at(12, 14))  # answered right at the deadline
    assert not met.breached(at(20, 9))
    assert met.elapsed(at(20, 9)) == 4 * HOUR
    missed = clock(at(12, 9), 4 * HOUR).stop(at(12, 15, 1))
    assert missed.breached(at(20, 9))
    assert missed.remaining(at(20, 9)) == -HOUR - MINUTE


def test_stopping_a_paused_clock_does_not_count_the_wait() -> None:
    stopped = clock(at(12, 9), 4 * HOUR).pause(at(12, 10)).stop(at(13, 10))
    assert stopped.elapsed(at(14, 9)) == HOUR
    assert not stopped.paused


def test_pause_resume_and_stop_repeat_harmlessly() -> None:
    running = clock(at(12, 9), 4 * HOUR)
    paused = running.pause(at(12, 10))
    assert paused.pause(at(12, 11)) == paused
    assert running.resume(at(12, 11)) == running
    stopped = running.stop(at(12, 11))
    assert stopped.stop(at(12, 15)) == stopped
    assert stopped.pause(at(12, 15)) == stopped


def test_resuming_before_the_pause_is_refused() -> None:
    paused = clock(at(12, 9), 4 * HOUR).pause(at(12, 11))
    with pytest.raises(SlaError, match="paused later"):
        paused.resume(at(12, 10))


def test_asking_about_a_moment_before_the_clock_started_is_refused() -> None:
    with pytest.raises(SlaError, match="before the clock started"):
        clock(at(12, 9), 4 * HOUR).elapsed(at(9, 9))


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        start_clocks(POLICY, {"office": OFFICE}, datetime(2026, 1, 12, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock(at(12, 9), HOUR).elapsed(datetime(2026, 1, 12, 10))


def test_clock_keeps_the_calendar_it_started_with() -> None:
    clocks = start_clocks(POLICY, {"office": OFFICE}, at(9, 16))
    assert clocks[SlaMetric.FIRST_RESPONSE].calendar is OFFICE
    assert clocks[SlaMetric.FIRST_RESPONSE].started_at.tzinfo is UTC


def test_calendar_time_policy_needs_no_calendar() -> None:
    wall_clock_only = SlaPolicy(
        "p", (SlaTarget(SlaMetric.RESOLUTION, HOUR, business_time=False),), "missing"
    )
    clocks = start_clocks(wall_clock_only, {}, at(9, 16))
    assert clocks[SlaMetric.RESOLUTION].calendar is ALWAYS
    assert clocks[SlaMetric.RESOLUTION].due_at() == at(9, 17)


def test_policy_naming_an_unknown_calendar_says_which_one() -> None:
    with pytest.raises(SlaError, match=r"'office'.*not configured"):
        start_clocks(POLICY, {"other": OFFICE}, at(9, 16))


def test_policy_setting_a_metric_twice_is_refused() -> None:
    target = SlaTarget(SlaMetric.NEXT_UPDATE, HOUR, business_time=True)
    with pytest.raises(SlaError, match="next_update more than once"):
        SlaPolicy("p", (target, target), "office")


def test_target_must_be_positive() -> None:
    with pytest.raises(SlaError, match="positive"):
        SlaTarget(SlaMetric.FIRST_RESPONSE, timedelta(0), business_time=True)
