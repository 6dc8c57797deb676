"""`gongdan simulate` replays a CSV against the example config without a database."""

from __future__ import annotations

import io
from pathlib import Path

from bot.config import load_config
from bot.simulate import simulate

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
