"""Who gets a new ticket. The foundation strategy: the team lead, else the team queue."""

from __future__ import annotations

from dataclasses import dataclass

from core.people import Directory


@dataclass(frozen=True)
class Decision:
    assignee_id: str | None
    reason: str


def choose_assignee(team_id: str | None, directory: Directory) -> Decision:
    team = directory.team(team_id) if team_id else None
    if team is None:
        return Decision(None, "no team: left in the queue")
    if team.lead:
        return Decision(team.lead, f"team {team.id} lead")
    return Decision(None, f"team {team.id} queue: anyone may claim")
