"""The dispatcher's bookkeeping for claimed rows: its policy, per-channel pacing, the jobs
waiting for a slot or in flight, and what one delivery renders (its card per locale, its text).

Kept apart from `dispatcher.py` (which claims, sends and settles) so each reads on its own.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.card import Card, build_card
from core.i18n import Locale
from core.ports import Context
from core.ticket import Ticket
from storage import outbox
from storage.settle import Settlement

# a row is handed back unsent when its lease would run out before this much after its send ends
LEASE_MARGIN = timedelta(seconds=30)


@dataclass
class DispatchPolicy:
    max_attempts: int = 12
    base_backoff_s: float = 1.0
    max_backoff_s: float = 300.0
    rate_limits: Mapping[str, float] = field(default_factory=dict)  # channel -> sends per second
    lease: timedelta = timedelta(seconds=60)
    # a claim's fixed costs (one claim, one ticket load) and a settlement's are shared by up to
    # `batch` deliveries; measured: 256 / 64 keeps card posting level with intake where 64 / 16
    # fell behind by half (bench/slack_ingest.py). One channel may use `channel_concurrency`
    # slots (the 64 measured), so a hung platform leaves the rest to the others.
    batch: int = 256
    concurrency: int = 96
    channel_concurrency: int = 64
    # longest wait for one platform call; then the send counts as failed and is retried
    send_timeout_s: float = 10.0

    def lease_for(self) -> timedelta:
        """A claimed row's lease: it may wait for every send queued before it in its channel
        (at most a batch more than the channel's slots), each bounded by the send timeout."""
        rounds = -(-(self.batch + self.channel_concurrency) // self.channel_concurrency) + 1
        needed = timedelta(seconds=rounds * self.send_timeout_s) + LEASE_MARGIN
        return max(self.lease, needed)


class Pause:
    """A channel's pause after the platform said to wait (HTTP 429 + Retry-After)."""

    def __init__(self) -> None:
        self.blocked_until: datetime | None = None

    def ready_at(self, now: datetime) -> datetime:
        until = self.blocked_until
        return until if until is not None and until > now else now


class Schedule:
    """Slots within a limit of `burst` sends at once and `per_second` after (the generic cell
    rate algorithm): each send reserves the earliest slot the limit allows, so a backlog is
    spread over its own slots instead of every waiting send being retried at the same instant."""

    def __init__(self, per_second: float, burst: int = 1) -> None:
        self.interval = timedelta(seconds=1.0 / per_second)
        self.tolerance = self.interval * (max(burst, 1) - 1)
        self.due: datetime | None = None  # when the limit is back to one free send

    def reserve(self, now: datetime) -> datetime:
        """The slot of the next send, at `now` or later; it counts as taken."""
        due = self.due if self.due is not None and self.due > now else now
        slot = max(now, due - self.tolerance)
        self.due = max(due, slot) + self.interval
        return slot


class Bucket:
    """A channel's app-wide rate (`Capabilities.sends_per_second`): a token bucket that holds
    one second of sends, so a quiet channel may send that many at once and a busy one keeps to
    the rate. A send that finds it empty waits in the flight (it keeps its claim)."""

    def __init__(self, per_second: float) -> None:
        self.rate = per_second
        self.capacity = max(per_second, 1.0)
        self.tokens = self.capacity
        self.at: datetime | None = None

    def _refill(self, now: datetime) -> None:
        if self.at is not None and now > self.at:
            gained = (now - self.at).total_seconds() * self.rate
            self.tokens = min(self.capacity, self.tokens + gained)
        if self.at is None or now > self.at:
            self.at = now

    def take(self, now: datetime) -> bool:
        """Spend one send if there is one."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait(self, now: datetime) -> float:
        """Seconds until the next send may go."""
        self._refill(now)
        return max(0.0, (1.0 - self.tokens) / self.rate)


Conversation = tuple[str, str, str]


@dataclass
class Job:
    item: outbox.OutboxItem
    ticket: Ticket | None
    loaded: bool  # the claim loaded the ticket (None then means it is gone)
    start_by: datetime  # later, the lease could end during the send: hand the row back
    state: dict[str, Any] | None = None  # the card's platform state as stored at the claim

    @property
    def conversation(self) -> Conversation:
        t = self.item.target
        place = t.get("thread") or t.get("message") or ""
        return (self.item.channel, str(t.get("conversation", "")), str(place))


@dataclass
class Flight:
    """Claimed rows on their way out: waiting for a slot, in flight, finished but not settled."""

    waiting: deque[Job] = field(default_factory=deque)
    running: dict[asyncio.Task[None], Job] = field(default_factory=dict)
    busy: set[Conversation] = field(default_factory=set)
    in_flight: Counter[str] = field(default_factory=Counter)
    finished: Settlement = field(default_factory=Settlement)

    def idle(self) -> bool:
        return not (self.waiting or self.running or self.finished)

    def room(self, policy: DispatchPolicy) -> tuple[int, set[str]]:
        """How many more rows to claim, and the channels that have a full round queued."""
        queued = Counter(j.item.channel for j in self.waiting)
        full = {ch for ch, n in queued.items() if n >= policy.channel_concurrency}
        others = sum(n for ch, n in queued.items() if ch not in full)
        return max(policy.batch - others, 0), full


class Cards:
    """Renders (and memoises) the ticket's card per locale for one delivery."""

    def __init__(self, ticket: Ticket, ctx: Context) -> None:
        self.ticket = ticket
        self.ctx = ctx
        self._cache: dict[Locale, Card] = {}

    def __call__(self, locale: Locale) -> Card:
        card = self._cache.get(locale)
        if card is None:
            card = self._cache[locale] = build_card(self.ticket, self.ctx, locale)
        return card


def text_of(item: outbox.OutboxItem, ticket: Ticket | None, ctx: Context, locale: Locale) -> str:
    """A text row in one locale: a relayed comment as `[key] who: body`, else the notice's text
    (a person's coalesced lines joined per language by storage.coalesce)."""
    payload = item.payload
    if item.kind == "comment":
        author = ctx.directory.person(str(payload.get("author_id", "")))
        who = author.display(locale) if author else str(payload.get("author_id", "?"))
        key = ticket.key if ticket else payload.get("ticket", "")
        return f"[{key}] {who}: {payload.get('body', '')}"
    text = payload.get("text", {})
    return str(text.get(locale) or text.get("en") or "") if isinstance(text, dict) else str(text)
