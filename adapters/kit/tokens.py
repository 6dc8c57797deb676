"""An access token that expires: fetched once, shared by every caller, renewed before it ends.

DingTalk's and WeCom's APIs take a token that lives about two hours and must not be fetched per
call (both rate-limit the token endpoint). Time is injected, so tests need no sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    value: str
    expires_in_s: float  # as the platform says it, from the moment it answered


Fetch = Callable[[], Awaitable[Token]]


class TokenCache:
    """Hands out the current token; fetches a new one when none is held or the held one ends
    within `margin_s`. Callers arriving during a fetch wait for that fetch instead of starting
    their own. `invalidate` drops a token the platform refused before its time."""

    def __init__(
        self, fetch: Fetch, *, margin_s: float = 300.0, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch = fetch
        self._margin_s = margin_s
        self._now = now
        self._value: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._fresh():
            assert self._value is not None
            return self._value
        async with self._lock:
            if not self._fresh():  # whoever held the lock may have fetched it already
                asked = self._now()
                token = await self._fetch()
                # counted from when we asked: the platform's clock started no later than that
                self._value = token.value
                self._renew_at = asked + max(0.0, token.expires_in_s - self._margin_s)
            assert self._value is not None
            return self._value

    def invalidate(self, value: str | None = None) -> None:
        """Forget the token (only if it is still `value`, when given: a newer one stays)."""
        if value is None or value == self._value:
            self._value = None
            self._renew_at = 0.0

    def _fresh(self) -> bool:
        return self._value is not None and self._now() < self._renew_at
