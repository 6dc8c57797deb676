"""The frozen clock tests and simulations run on: it moves only when told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.clock import FrozenClock

START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_a_frozen_clock_moves_only_when_told_to() -> None:
    clock = FrozenClock(START)
    assert clock.now() == START
    assert clock.advance(timedelta(hours=4)) == START + timedelta(hours=4)
    clock.set(START)
    assert clock.now() == START


def test_a_frozen_clock_refuses_a_time_without_a_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware start"):
        FrozenClock(datetime(2026, 1, 5, 9))
    with pytest.raises(ValueError, match="timezone-aware instant"):
        FrozenClock(START).set(datetime(2026, 1, 5, 9))
