"""`gongdan serve` runs on uvloop unless told otherwise."""

from __future__ import annotations

import pytest
import uvloop

from bot.cli import _loop_factory


def test_serve_runs_on_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONGDAN_EVENT_LOOP", raising=False)

    factory = _loop_factory()

    assert factory is uvloop.new_event_loop


def test_the_standard_loop_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGDAN_EVENT_LOOP", "asyncio")

    assert _loop_factory() is None
