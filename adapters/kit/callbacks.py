"""What a channel's HTTP callback check raises when a request must not be acted on."""

from __future__ import annotations


class CallbackRejected(Exception):
    """A callback we must not act on. status: 401 (not from the platform) or 400 (unreadable);
    reason: what was wrong, for the answer's body and one log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
