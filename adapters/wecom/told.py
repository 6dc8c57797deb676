"""What a chat was last told of a ticket, for the cards WeCom cannot edit later (the smart
robot's group and 1:1 cards outside a click's 5 s, group-robot webhooks).

It is kept with the card (`card_refs.state`, `{"status", "assignee", "version"}`), so a restart
forgets nothing. A later change is worth one line in the chat only when what the chat saw is
out of date: the status, or who handles the ticket. A comment, an edit of a field or an SLA
timer changes neither and says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.card import Card


def seen(card: Card) -> dict[str, Any]:
    """What a chat knows once it has been shown this card."""
    return {"status": card.status.value, "assignee": assignee(card), "version": card.version}


def assignee(card: Card) -> str | None:
    return card.ticket.assignee_id if card.ticket is not None else None


def newest(
    stored: Mapping[str, Any] | None, replaced: Mapping[str, Any] | None
) -> Mapping[str, Any]:
    """The later of what the chat was told by a line (stored) and by a click's replacement."""
    if replaced is None:
        return stored or {}
    if not stored or _version(replaced) >= _version(stored):
        return replaced
    return stored


def out_of_date(told: Mapping[str, Any], card: Card) -> bool:
    """Whether the chat, told `told`, should hear about `card`: its status or its assignee
    differ. A card kept before the assignee was recorded compares the status only; one
    with nothing recorded is said once (nothing is known of what the chat saw)."""
    if _version(told) >= card.version:
        return False  # the chat was shown this version, or a later one
    if "status" not in told:
        return True
    if told["status"] != card.status.value:
        return True
    return "assignee" in told and told["assignee"] != assignee(card)


def _version(state: Mapping[str, Any]) -> int:
    value = state.get("version")
    return value if isinstance(value, int) else 0
