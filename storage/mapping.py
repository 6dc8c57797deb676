"""Ticket <-> row. The only place that knows how the aggregate is laid out in columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.ticket import ChannelRef, Priority, Status, Ticket


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    """Column values for an INSERT or UPDATE (without id)."""
    return {
        "key": ticket.key,
        "type_id": ticket.type_id,
        "number": ticket.number,
        "title": ticket.title,
        "description": ticket.description,
        "fields": dict(ticket.fields),
        "priority": ticket.priority.value,
        "status": ticket.status.value,
        "requester_id": ticket.requester_id,
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
        "origin": ticket.origin.to_json() if ticket.origin else None,
        "locale": ticket.locale,
        "watchers": list(ticket.watchers),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "version": ticket.version,
        "sla": ticket.sla,
        "timer_generation": ticket.timer_generation,
        "wake_at": ticket.wake_at,
    }


def ticket_from_row(row: Mapping[Any, Any]) -> Ticket:
    origin = row["origin"]
    return Ticket(
        id=row["id"],
        key=row["key"],
        type_id=row["type_id"],
        number=row["number"],
        title=row["title"],
        description=row["description"],
        fields=dict(row["fields"] or {}),
        priority=Priority(row["priority"]),
        status=Status(row["status"]),
        requester_id=row["requester_id"],
        assignee_id=row["assignee_id"],
        team_id=row["team_id"],
        origin=ChannelRef.from_json(origin) if origin else None,
        locale=row["locale"],
        watchers=list(row["watchers"] or []),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        first_response_at=row["first_response_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        version=row["version"],
        sla=dict(row["sla"]) if row["sla"] else None,
        timer_generation=row["timer_generation"],
        wake_at=row["wake_at"],
    )
