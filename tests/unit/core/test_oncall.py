"""On-call rotations: whose shift it is, handovers at local wall-clock time, overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from core.oncall import (
    Override,
    Rotation,
    RotationError,
    RotationKind,
    next_handover,
    who_is_on_call,
)

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def weekly(**changes: object) -> Rotation:
    values: dict[str, object] = {
        "id": "network",
        "kind": RotationKind.WEEKLY,
        "participants": ("li.lei", "han.meimei", "zhang.wei"),
        "handover": time(9),
        "timezone": "Europe/Berlin",
        "start": date(2026, 3, 23),  # a Monday
    }
    values.update(changes)
    return Rotation(**values)  # type: ignore[arg-type]


def test_first_participant_holds_the_first_week() -> None:
    person, reason = who_is_on_call(weekly(), datetime(2026, 3, 25, 15, 0, tzinfo=BERLIN))
    assert person == "li.lei"
    assert reason == "on call (weekly rotation)"


def test_weekly_handover_moves_to_the_next_participant_at_nine_local() -> None:
    rotation = weekly()
    before = datetime(2026, 3, 30, 8, 59, tzinfo=BERLIN)
    after = datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN)
    assert who_is_on_call(rotation, before)[0] == "li.lei"
    assert who_is_on_call(rotation, after)[0] == "han.meimei"


def test_handover_stays_at_nine_local_across_the_spring_dst_change() -> None:
    # Berlin moves to summer time on Sunday 2026-03-29: 09:00 local is 08:00 UTC on Monday the
    # 23rd but 07:00 UTC on Monday the 30th
    rotation = weekly()
    assert who_is_on_call(rotation, datetime(2026, 3, 30, 6, 59, tzinfo=UTC))[0] == "li.lei"
    assert who_is_on_call(rotation, datetime(2026, 3, 30, 7, 0, tzinfo=UTC))[0] == "han.meimei"


def test_daily_handover_stays_at_nine_local_across_the_autumn_dst_change() -> None:
    rotation = weekly(kind=RotationKind.DAILY, start=date(2026, 10, 24))
    # Sunday 2026-10-25 Berlin falls back: 09:00 CET is 08:00 UTC, the day before 07:00 UTC
    assert who_is_on_call(rotation, datetime(2026, 10, 25, 7, 59, tzinfo=UTC))[0] == "li.lei"
    assert who_is_on_call(rotation, datetime(2026, 10, 25, 8, 0, tzinfo=UTC))[0] == "han.meimei"
    assert who_is_on_call(rotation, datetime(2026, 10, 27, 9, 0, tzinfo=BERLIN))[0] == "li.lei"


def test_rotation_cycles_back_to_the_first_participant() -> None:
    rotation = weekly()
    fourth_week = datetime(2026, 4, 13, 12, 0, tzinfo=BERLIN)
    assert who_is_on_call(rotation, fourth_week)[0] == "li.lei"


def test_override_wins_over_the_rota() -> None:
    swap = Override(
        "zhang.wei",
        datetime(2026, 3, 25, 18, 0, tzinfo=BERLIN),
        datetime(2026, 3, 26, 9, 0, tzinfo=BERLIN),
    )
    rotation = weekly(overrides=(swap,))
    person, reason = who_is_on_call(rotation, datetime(2026, 3, 25, 23, 0, tzinfo=BERLIN))
    assert person == "zhang.wei"
    assert reason.startswith("on call (override in weekly rotation network until")
    # the override ends where it says: the rota takes over again
    assert who_is_on_call(rotation, datetime(2026, 3, 26, 9, 0, tzinfo=BERLIN))[0] == "li.lei"


def test_later_override_wins_over_an_earlier_one() -> None:
    day = (datetime(2026, 3, 25, 0, 0, tzinfo=BERLIN), datetime(2026, 3, 26, 0, 0, tzinfo=BERLIN))
    rotation = weekly(overrides=(Override("zhang.wei", *day), Override("han.meimei", *day)))
    assert who_is_on_call(rotation, datetime(2026, 3, 25, 12, 0, tzinfo=BERLIN))[0] == "han.meimei"


def test_nobody_is_on_call_before_the_rotation_starts() -> None:
    person, reason = who_is_on_call(weekly(), datetime(2026, 3, 23, 8, 0, tzinfo=BERLIN))
    assert person is None
    assert reason == "rotation network starts 2026-03-23"


def test_next_handover_is_next_monday_nine_local() -> None:
    rotation = weekly(timezone="Asia/Shanghai")
    after = next_handover(rotation, datetime(2026, 3, 25, 15, 0, tzinfo=SHANGHAI))
    assert after == datetime(2026, 3, 30, 9, 0, tzinfo=SHANGHAI)
    again = next_handover(rotation, after)
    assert again == datetime(2026, 4, 6, 9, 0, tzinfo=SHANGHAI)


def test_rotation_without_participants_is_refused() -> None:
    with pytest.raises(RotationError, match="at least one participant"):
        weekly(participants=())


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"handover": time(9, tzinfo=UTC)}, "handover is a local time"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_rotation_with_a_zoned_handover_or_an_unknown_zone_is_refused(
    changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(RotationError, match=reason):
        weekly(**changes)


def test_override_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(RotationError, match="must end after it starts"):
        Override("li.lei", datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
