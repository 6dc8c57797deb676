"""Log lines about refused requests are rate-limited, and say how many were left out."""

from __future__ import annotations

from bot.logs import Throttle, one_line


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_refusals_past_the_per_minute_limit_are_left_out_and_counted_on_the_next_line() -> None:
    clock = Clock()
    throttle = Throttle(per_minute=3, clock=clock)
    assert [throttle.admit("401 unauthorized") for _ in range(5)] == [0, 0, 0, None, None]
    assert throttle.admit("400 malformed_json") == 0  # each kind has its own budget
    clock.now += 59
    assert throttle.admit("401 unauthorized") is None
    clock.now += 1
    assert throttle.admit("401 unauthorized") == 3  # the next minute's first line
    assert throttle.admit("401 unauthorized") == 0


def test_a_log_line_quotes_client_text_escaped_and_cut() -> None:
    assert one_line("no ticket IT\x00-1\n\ud800") == "no ticket IT\\x00-1\\n\\ud800"
    assert one_line("x" * 300, 10) == "x" * 10 + "…"
