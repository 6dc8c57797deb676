"""What taking one mail in ended with, and why it could not be taken (adapters.email.intake)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TemporaryFailure(Exception):
    """The mail could not be committed now; the sender (or the poller) must try again."""


class PermanentFailure(Exception):
    """This mail can never be taken in: trying it again would fail the same way."""


class Disposition(StrEnum):
    OPENED = "opened"
    COMMENTED = "commented"
    BOUNCE = "bounce"
    FORM_REPLY = "form_reply"
    REFUSED = "refused"
    DROPPED = "dropped"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class MailOutcome:
    disposition: Disposition
    ticket_key: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class MailRoute:
    ticket_type: str
    tag: str | None = None
