"""Frames per second a browser may send: a burst, then a steady rate, per socket and per person."""

from __future__ import annotations

from adapters.webchat.limits import Limits, RateGate, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_of_twenty_then_five_a_second_is_admitted() -> None:
    clock = Clock()
    gate = RateGate(Limits(), clock)
    assert all(gate.admit() for _ in range(20))
    assert not gate.admit()
    clock.t += 1.0
    assert [gate.admit() for _ in range(6)] == [True] * 5 + [False]


def test_the_rate_notice_is_sent_once_per_episode_and_a_calm_person_is_warned_again() -> None:
    clock = Clock()
    gate = RateGate(Limits(), clock)
    for _ in range(20):
        gate.admit()
    refusals = [gate.should_warn() for _ in range(5) if not gate.admit()]
    assert refusals == [True, False, False, False, False]
    clock.t += 4.0  # the bucket is full again
    assert gate.admit()
    assert gate.refused == 0 and gate.should_warn()


def test_going_on_after_the_notice_exhausts_the_socket() -> None:
    clock = Clock()
    gate = RateGate(Limits(refused_before_close=50), clock)
    for _ in range(20):
        gate.admit()
    for _ in range(50):
        assert not gate.admit()
    assert not gate.exhausted
    gate.admit()
    assert gate.exhausted


def test_a_persons_sockets_share_one_bucket() -> None:
    clock = Clock()
    limits = Limits(person_burst=30)
    person = TokenBucket(limits.person_burst, limits.person_rate, clock)
    tabs = [RateGate(limits, clock), RateGate(limits, clock)]
    for tab in tabs:
        tab.person = person
    admitted = sum(tab.admit() for tab in tabs for _ in range(20))
    assert admitted == 30
