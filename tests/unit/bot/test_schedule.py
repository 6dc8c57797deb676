"""The slots a platform's limit gives sends: a burst at once, then the rate, each its own slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.delivery.flight import Schedule

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _seconds(slots: list[datetime]) -> list[float]:
    return [(s - T0).total_seconds() for s in slots]


def test_a_burst_goes_at_once_and_the_rest_one_interval_apart() -> None:
    schedule = Schedule(per_second=0.5, burst=3)
    assert _seconds([schedule.reserve(T0) for _ in range(6)]) == [0, 0, 0, 2, 4, 6]


def test_without_a_burst_sends_are_one_interval_apart() -> None:
    schedule = Schedule(per_second=1.0)
    assert _seconds([schedule.reserve(T0) for _ in range(3)]) == [0, 1, 2]


def test_a_quiet_spell_gives_the_burst_back_and_no_more() -> None:
    schedule = Schedule(per_second=1.0, burst=2)
    for _ in range(4):
        schedule.reserve(T0)  # slots 0, 0, 1, 2: busy until 3
    later = T0 + timedelta(seconds=60)
    assert _seconds([schedule.reserve(later) for _ in range(4)]) == [60, 60, 61, 62]


def test_a_send_after_its_slot_does_not_move_the_next_ones_earlier() -> None:
    schedule = Schedule(per_second=1.0)
    assert schedule.reserve(T0) == T0
    # asked again half a second later: the limit still holds the next second
    assert schedule.reserve(T0 + timedelta(seconds=0.5)) == T0 + timedelta(seconds=1)
    assert schedule.reserve(T0 + timedelta(seconds=0.5)) == T0 + timedelta(seconds=2)


def test_no_window_of_a_limit_ever_holds_more_than_it_allows() -> None:
    # WeCom's member limit as kept: at most 30 in any minute of a long burst
    schedule = Schedule(per_second=0.27, burst=13)
    slots = [schedule.reserve(T0) for _ in range(200)]
    for i, start in enumerate(slots):
        in_a_minute = [s for s in slots[i:] if s - start < timedelta(minutes=1)]
        assert len(in_a_minute) <= 30
