"""The expiring access-token cache DingTalk and WeCom share (adapters/kit/tokens.py)."""

from __future__ import annotations

import asyncio

from adapters.kit.tokens import Token, TokenCache


class Platform:
    """A token endpoint that counts calls and answers tokens that live `lifetime` seconds."""

    def __init__(self, lifetime: float = 7200.0) -> None:
        self.lifetime = lifetime
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def fetch(self) -> Token:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return Token(f"t{self.calls}", self.lifetime)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_a_token_is_fetched_once_and_reused_until_shortly_before_it_expires() -> None:
    platform, clock = Platform(lifetime=7200), Clock()
    cache = TokenCache(platform.fetch, margin_s=300, now=clock)

    assert await cache.get() == "t1"
    clock.t += 6899
    assert await cache.get() == "t1"
    assert platform.calls == 1

    clock.t += 1  # 300 s before its end: renewed
    assert await cache.get() == "t2"
    assert platform.calls == 2


async def test_callers_arriving_together_share_one_fetch() -> None:
    platform, clock = Platform(), Clock()
    platform.gate = asyncio.Event()
    cache = TokenCache(platform.fetch, now=clock)

    waiting = [asyncio.create_task(cache.get()) for _ in range(5)]
    await asyncio.sleep(0)
    platform.gate.set()

    assert await asyncio.gather(*waiting) == ["t1"] * 5
    assert platform.calls == 1


async def test_a_refused_token_is_dropped_but_a_newer_one_is_kept() -> None:
    platform, clock = Platform(), Clock()
    cache = TokenCache(platform.fetch, now=clock)
    assert await cache.get() == "t1"

    cache.invalidate("t1")
    assert await cache.get() == "t2"
    cache.invalidate("t1")  # a late refusal of the old token
    assert await cache.get() == "t2"
    assert platform.calls == 2


async def test_a_token_shorter_lived_than_the_margin_is_fetched_again_each_time() -> None:
    platform, clock = Platform(lifetime=60), Clock()
    cache = TokenCache(platform.fetch, margin_s=300, now=clock)

    assert [await cache.get(), await cache.get()] == ["t1", "t2"]
