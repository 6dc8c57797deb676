from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import FrozenClock
from tests.contract.drivers import DRIVERS
from tests.contract.drivers.base import ChannelDriver
from tests.dbs import fresh_database

# Monday 2026-01-05 09:00 in Shanghai: business hours, no holiday
OPENED = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(OPENED)


@pytest.fixture(params=sorted(DRIVERS))
async def channel(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[ChannelDriver]:
    """The service with one channel against its platform double (the contract is the channel's;
    SQLite is enough: storage runs its own suite on both databases)."""
    caplog.set_level(logging.WARNING)  # the SDKs' chatter; a case asks for more when it reads logs
    driver = DRIVERS[request.param](tmp_path, clock)
    async with fresh_database("sqlite", tmp_path) as url, driver.run(url):
        yield driver
