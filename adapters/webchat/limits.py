"""What one browser may cost the service: frame size, send queue, send time, frames per second.

A socket is read one frame at a time (the next frame is read only after the previous one is
answered), so a fast sender is slowed by TCP itself; the token buckets below refuse what a person
typing and clicking never sends. Every number here is documented in docs/webchat.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.i18n import Locale


@dataclass(frozen=True)
class Limits:
    max_frame_bytes: int = 64 * 1024  # a 10,000-character message in Chinese is about 30 kB
    max_text_chars: int = 10_000
    # outgoing: frames waiting for one browser; a full queue or a send that takes longer than
    # send_timeout_s drops that browser (its connection is aborted, not closed gracefully)
    send_queue_frames: int = 256
    send_queue_bytes: int = 4 * 1024 * 1024
    send_timeout_s: float = 10.0
    close_timeout_s: float = 1.0
    # incoming: a burst of 20 frames, then 5 a second per socket; 40 then 10 a second per person
    # (a person may have a few tabs open)
    socket_burst: int = 20
    socket_rate: float = 5.0
    person_burst: int = 40
    person_rate: float = 10.0
    # refused frames after the rate notice before the socket is closed with 1008
    refused_before_close: int = 50
    # frames of one socket handled at once (their answers and commits keep the frames' order)
    in_flight: int = 8

    def rate_notice(self) -> dict[Locale, str]:
        return {
            "en": (
                f"Too many messages: at most {self.socket_burst} at once, then "
                f"{self.socket_rate:g} a second. Messages sent too fast are dropped; "
                "keep going and the connection is closed."
            ),
            "zh-CN": (
                f"消息发送过快：一次最多 {self.socket_burst} 条，之后每秒 {self.socket_rate:g} 条。"
                "过快发送的消息已被丢弃；继续发送将断开连接。"
            ),
        }


class TokenBucket:
    """Up to `burst` events at once, refilled at `rate` a second; time comes from `now`."""

    def __init__(self, burst: int, rate: float, now: Callable[[], float]) -> None:
        self.burst = burst
        self.rate = rate
        self._now = now
        self._tokens = float(burst)
        self._at = now()

    def _refill(self) -> None:
        at = self._now()
        self._tokens = min(float(self.burst), self._tokens + (at - self._at) * self.rate)
        self._at = at

    def available(self) -> bool:
        self._refill()
        return self._tokens >= 1.0

    def take(self) -> None:
        self._tokens -= 1.0

    @property
    def full(self) -> bool:
        self._refill()
        return self._tokens >= self.burst


class RateGate:
    """One socket's admission: its own bucket and its person's (shared by the person's sockets).

    admit() says whether to handle a frame; after the first refusal the caller sends one notice
    (`should_warn`), and once `refused_before_close` more are refused the socket should be closed.
    """

    def __init__(self, limits: Limits, now: Callable[[], float]) -> None:
        self.limits = limits
        self.socket = TokenBucket(limits.socket_burst, limits.socket_rate, now)
        self.person: TokenBucket | None = None
        self.refused = 0
        self.warned = False

    def admit(self) -> bool:
        buckets = [self.socket] if self.person is None else [self.socket, self.person]
        if not all(b.available() for b in buckets):
            self.refused += 1
            return False
        if self.socket.full:  # calmed down since the last refusal: a later burst warns again
            self.warned, self.refused = False, 0
        for bucket in buckets:
            bucket.take()
        return True

    def should_warn(self) -> bool:
        """True once per episode of refusals: the moment to send the rate notice."""
        if self.warned:
            return False
        self.warned = True
        return True

    @property
    def exhausted(self) -> bool:
        return self.refused > self.limits.refused_before_close
