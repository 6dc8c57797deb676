"""What a card's button carries, and the typed parameters an action takes, for every channel.

A button names its ticket and the card version it was pressed on ("IT-1001|3"): core refuses
a click on a card that moved on. A select or a comment box adds one value, read here into the
action's typed parameters.
"""

from __future__ import annotations

from core.commands import ActionParams, Assign, SetPriority, WriteComment
from core.workflow import Action

SEPARATOR = "|"


class ButtonValueError(ValueError):
    """A button value that names no ticket and version (a forged or mangled payload)."""


def button_value(ticket_key: str, version: int, sep: str = SEPARATOR) -> str:
    return f"{ticket_key}{sep}{version}"


def parse_button_value(text: str, sep: str = SEPARATOR) -> tuple[str, int]:
    """`button_value`'s text -> (ticket key, card version); anything after them is ignored."""
    key, _, rest = text.partition(sep)
    version = rest.split(sep)[0]
    if not key or not version.isdigit():
        raise ButtonValueError(f"cannot read a ticket key and version from {text!r}")
    return key, int(version)


def action_params(action: Action, value: str) -> ActionParams:
    """The parameters `action` takes from the one value a click carries (None: it takes none)."""
    if action == Action.ASSIGN:
        return Assign(value)
    if action == Action.SET_PRIORITY:
        return SetPriority(value)
    if action == Action.COMMENT:
        return WriteComment(value)
    return None
