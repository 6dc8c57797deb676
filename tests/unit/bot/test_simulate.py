"""`gongdan simulate` replays a CSV against the example config without a database."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.config import load_config
from bot.simulate import SimulateError, read_rows, simulate

EXAMPLE = Path(__file__).parents[3] / "deploy" / "gongdan.example.yaml"


def test_replay_prints_assignment_reminders_escalations_and_breaches() -> None:
    rows = [
        {"created_at": "2026-01-06T09:00", "type": "it", "priority": "urgent", "title": "Down"},
        {
            "created_at": "2026-01-05T10:00",
            "type": "it",
            "priority": "normal",
            "title": "VPN",
            "accepted_at": "2026-01-05T10:20",
            "resolved_at": "2026-01-05T15:00",
        },
    ]
    out = io.StringIO()
    breaches = simulate(load_config(EXAMPLE, env={}), rows, out)
    text = out.getvalue()

    assert "IT-1001  opened, assigned to" in text
    assert "IT-1002  reminded" in text
    assert "IT-1002  escalated to li.lei" in text
    assert "breach  IT-1001" not in text  # accepted and resolved in time
    assert "breach  IT-1002  first_response" in text
    assert breaches == 3
    assert text.endswith("2 tickets replayed, 3 SLA breaches\n")


def test_bad_rows_are_reported_by_line_and_column_and_the_rest_is_replayed() -> None:
    rows = [
        {"created_at": "2026-01-05T10:00", "type": "it", "title": "VPN"},
        {"created_at": "", "type": "it", "title": "no date"},
        {"created_at": "yesterday", "type": "it", "title": "bad date"},
        {"created_at": "2026-01-05T11:00", "title": "no type"},
        {"created_at": "2026-01-05T12:00", "type": "nope", "title": "unknown type"},
        {"created_at": "2026-01-05T12:00", "type": "it", "title": "x", "waiting": "10:00"},
        {"created_at": "2026-01-05T12:00", "type": "it", "title": "x", "resolved_at": "soon"},
    ]
    out = io.StringIO()
    simulate(load_config(EXAMPLE, env={}), rows, out)
    text = out.getvalue()

    assert "line 3: skipped: created_at: required, but empty or missing" in text
    assert "line 4: skipped: created_at: not an ISO 8601 time: 'yesterday'" in text
    assert "line 5: skipped: type: required, but empty or missing" in text
    assert "line 6: skipped: type: unknown ticket type" in text
    assert "line 7: skipped: waiting: '10:00' is not start/end" in text
    assert "line 8: skipped: resolved_at: not an ISO 8601 time: 'soon'" in text
    assert "1 tickets replayed" in text.splitlines()[-1]  # the good row still ran


def test_a_missing_file_is_named_without_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(SimulateError, match=r"no-such\.csv: no such file"):
        read_rows(tmp_path / "no-such.csv")
