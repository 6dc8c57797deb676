from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.clock import FrozenClock
from tests.fakes.slack import FakeSlack


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def slack(clock: FrozenClock) -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(clock=clock)
    await fake.start()
    yield fake
    await fake.stop()
