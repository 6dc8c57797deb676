"""Quiet hours: a reminder waits for the recipient's working hours unless the ticket is urgent.

The recipient's own calendar decides (their working hours, holidays, time zone). Outside it a
message is held until the calendar next opens, except when the ticket's priority is one the chain
lists as urgent: then it goes out now, by the urgent route (a phone-ringing DING, an @mention).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.calendar import BusinessCalendar, as_utc
from core.ticket import Priority


class DeliveryRoute(StrEnum):
    """How a notice goes out: normally, or urgently (through quiet hours, with an @mention)."""

    NORMAL = "normal"
    URGENT = "urgent"


class HasUrgency(Protocol):
    """An escalation step or notice: it knows which priorities may break quiet hours."""

    @property
    def urgent_priorities(self) -> frozenset[Priority]: ...


def deliver_at(
    step: HasUrgency,
    recipient_calendar: BusinessCalendar | None,
    priority: Priority,
    now: datetime,
) -> tuple[datetime, DeliveryRoute]:
    """When and how to deliver; a recipient without a calendar takes messages at any hour."""
    moment = as_utc(now, "now")
    if recipient_calendar is None or recipient_calendar.is_open(moment):
        return moment, DeliveryRoute.NORMAL
    if priority in step.urgent_priorities:
        return moment, DeliveryRoute.URGENT
    return recipient_calendar.next_open(moment), DeliveryRoute.NORMAL
