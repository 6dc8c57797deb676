from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.wecom import FakeWeCom


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as wecom:
        yield wecom
