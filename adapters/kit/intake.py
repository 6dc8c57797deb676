"""The conversation rules every chat channel shares: which message opens a ticket, what its
title is, what a form shows when the message alone did not make a valid ticket, and which
ticket a (possibly duplicate) delivery ended with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.ports import Submitted
from core.handlers.actions import ActResult
from core.ticket import Comment, Ticket

TITLE_MAX = 200
ELLIPSIS = "…"


def opens_ticket(
    *, mentioned: bool, direct: bool = False, reply: bool = False, help_desk: bool = False
) -> bool:
    """A message opens a ticket when it speaks to the bot (a mention, a direct message), or
    starts a conversation in a help desk room; a reply in a thread never opens one."""
    return mentioned or direct or (help_desk and not reply)


# what a message of files alone says, so its ticket has a title: named files say their names
ATTACHMENT_TITLE = "附件 / Attachment"
PICTURE_TITLE = "图片 / Picture"


def files_text(names: Sequence[str]) -> str:
    """The text of a message that is files alone (`names`: the sender's file names; empty for
    a picture, whose name the channel makes up)."""
    named = [n for n in names if n]
    if named:
        return " ".join(named)
    return PICTURE_TITLE if names else ATTACHMENT_TITLE


def title_from(text: str, limit: int = TITLE_MAX, *, marker: str = ELLIPSIS) -> str:
    """A ticket title from a chat message: its first non-empty line, cut to `limit` characters
    (the cut marked with `marker`)."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            if len(line) <= limit:
                return line
            return line[: max(limit - len(marker), 0)] + marker
    return ""


def form_prefill(title: str, description: str) -> dict[str, Any]:
    """What the form opens with when a message could not become a ticket by itself (a
    required field is missing): the person's words, so nothing they wrote is lost."""
    return {"title": title, "description": description}


def remembered_key(value: Any) -> str:
    """What a committed command is remembered by (a duplicate delivery is answered with it):
    the key of the ticket it opened, commented on or acted on."""
    if isinstance(value, Ticket):
        return value.key
    if isinstance(value, Comment):
        return value.ticket_key
    if isinstance(value, ActResult):
        return value.ticket.key
    return str(value)


def committed_key(done: Submitted) -> str | None:
    """The ticket key a submission ended with: the command's own, or for a duplicate delivery
    the one remembered the first time (None: nothing was remembered)."""
    key = done.response if done.duplicate else remembered_key(done.value)
    return key if isinstance(key, str) else None
