from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from tests.fakes.dingtalk import FakeDingTalk


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk() as dingtalk:
        yield dingtalk


@pytest.fixture(autouse=True)
def quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
