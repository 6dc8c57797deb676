"""The outbox dispatcher: delivers queued posts and card updates, at least once, politely.

Rows are claimed with a lease, so a crashed replica's work is picked up after the lease ends.
A card is re-rendered from the ticket's current state at send time, so a replay is harmless.
A 429 pauses the whole channel until Retry-After; other failures back off exponentially.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.contract import Channel, DeliveryError, MessageRef
from bot.metrics import Metrics
from core.card import Card, build_card
from core.clock import Clock
from core.i18n import LOCALES, Locale
from core.ports import Context
from core.ticket import ChannelRef, Ticket
from storage import outbox, queries
from storage.settle import PostedCard, Retry, Settlement, settle
from storage.writer import Writer

log = logging.getLogger("gongdan.outbox")


@dataclass
class DispatchPolicy:
    max_attempts: int = 12
    base_backoff_s: float = 1.0
    max_backoff_s: float = 300.0
    rate_limits: Mapping[str, float] = field(default_factory=dict)  # channel -> sends per second
    lease: timedelta = timedelta(seconds=60)
    # a pass's fixed costs (claim, ticket load, settle: three statements, two transactions)
    # are shared by up to `batch` deliveries; measured: 256 / 64 keeps card posting level
    # with intake where 64 / 16 fell behind by half (bench/slack_ingest.py)
    batch: int = 256
    concurrency: int = 64


class _Pace:
    """Per-channel pacing: a minimum gap between sends, and a pause after a 429."""

    def __init__(self, per_second: float | None) -> None:
        self.gap = 1.0 / per_second if per_second else 0.0
        self.next_at: datetime | None = None
        self.blocked_until: datetime | None = None

    def ready_at(self, now: datetime) -> datetime:
        times = [t for t in (self.next_at, self.blocked_until) if t is not None and t > now]
        return max(times) if times else now

    def sent(self, now: datetime) -> None:
        if self.gap:
            self.next_at = now + timedelta(seconds=self.gap)


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        writer: Writer,
        channels: Mapping[str, Channel],
        ctx: Context,
        clock: Clock,
        metrics: Metrics,
        policy: DispatchPolicy | None = None,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.channels = channels
        self.ctx = ctx
        self.clock = clock
        self.metrics = metrics
        self.policy = policy or DispatchPolicy()
        self.owner = f"dispatcher-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pace: dict[str, _Pace] = {}
        self._tickets: dict[int, Ticket] = {}
        self._states: dict[int, dict[str, Any]] = {}  # card ref -> its stored state, this pass

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-dispatcher")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Deliver what is due (bounded by drain_timeout), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, drain_timeout)
            except TimeoutError:
                log.warning("outbox drain timed out; the rest is delivered after restart")
            self._task = None

    async def _loop(self) -> None:
        while True:
            # Clear before looking, so a commit that lands while we look still wakes us.
            self._wake.clear()
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; retrying shortly")
                handled = 0
            if self._stopping and handled == 0:
                return
            if handled:
                continue
            delay = await self._idle_delay()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _idle_delay(self) -> float:
        try:
            async with self.engine.connect() as conn:
                due = await outbox.next_due(conn)
        except Exception:
            log.exception("cannot read the outbox; retrying in a second")
            return 1.0
        if due is None:
            return 5.0
        return min(5.0, max(0.0, (due - self.clock.now()).total_seconds()))

    async def run_once(self) -> int:
        """Claim what is due, deliver it, settle the results in one write. Returns items handled."""
        now = self.clock.now()
        policy = self.policy
        owner = self.owner

        async def claim(conn: AsyncConnection) -> list[outbox.OutboxItem]:
            return await outbox.claim(conn, owner, now, policy.batch, policy.lease)

        items = await self.writer.run(claim)
        if not items:
            return 0
        async with self.engine.connect() as conn:
            self._tickets = await queries.tickets_by_ids(
                conn, (i.ticket_id for i in items if i.ticket_id is not None)
            )
            self._states = await outbox.card_states(
                conn, (i.card_ref_id for i in items if i.card_ref_id is not None)
            )
        sem = asyncio.Semaphore(policy.concurrency)
        done = Settlement()

        async def one(item: outbox.OutboxItem) -> None:
            async with sem:
                await self._deliver(item, done)

        await asyncio.gather(*(one(i) for i in items))
        settled_at = self.clock.now()
        await self.writer.run(lambda conn: settle(conn, settled_at, done))
        return len(items)

    def _pace_for(self, key: str, per_second: float | None) -> _Pace:
        pace = self._pace.get(key)
        if pace is None:
            pace = self._pace[key] = _Pace(per_second)
        return pace

    async def _deliver(self, item: outbox.OutboxItem, done: Settlement) -> None:
        channel = self.channels.get(item.channel)
        if channel is None:
            done.failed.append((item.id, f"channel {item.channel} is not enabled"))
            self.metrics.outbox.inc(channel=item.channel, kind=item.kind, result="no_channel")
            return
        # A 429 pauses the whole channel; the configured rate applies per conversation
        # (Slack allows about one message a second in each channel).
        blocked = self._pace_for(item.channel, None)
        conversation = str(item.target.get("conversation", ""))
        pace = self._pace_for(
            f"{item.channel}\x00{conversation}", self.policy.rate_limits.get(item.channel)
        )
        now = self.clock.now()
        ready = max(blocked.ready_at(now), pace.ready_at(now))
        if ready > now:
            done.retries.append(
                Retry(item.id, ready, "waiting for the channel's rate limit", count=False)
            )
            return
        pace.sent(now)
        try:
            await self._send(channel, item, done)
        except DeliveryError as exc:
            self._failed(item, exc, blocked, done)
        except Exception as exc:
            log.exception("outbox delivery crashed", extra={"outbox_id": item.id})
            self._failed(item, DeliveryError(f"{type(exc).__name__}: {exc}"), blocked, done)
        else:
            self.metrics.outbox.inc(channel=item.channel, kind=item.kind, result="sent")

    async def _send(self, channel: Channel, item: outbox.OutboxItem, done: Settlement) -> None:
        ticket = await self._ticket(item)
        if item.kind in ("card_post", "card_update") and (ticket is None or ticket.id is None):
            raise DeliveryError("ticket is gone", permanent=True)
        if item.kind == "card_post":
            assert ticket is not None and ticket.id is not None
            where = ChannelRef.from_json(item.target)
            ref = await channel.post_card(where, _Cards(ticket, self.ctx))
            done.posted.append(
                PostedCard(
                    item.id,
                    ticket.id,
                    ref.channel,
                    ref.conversation,
                    ref.thread,
                    ref.message,
                    ticket.version,
                    state=dict(ref.state) if ref.state else None,
                )
            )
        elif item.kind == "card_update":
            assert ticket is not None
            t = item.target
            ref_id = item.card_ref_id or int(t["card_ref"])
            ref = MessageRef(
                item.channel,
                str(t["conversation"]),
                str(t["message"]),
                t.get("thread"),
                state=self._states.get(ref_id),
            )
            state = await channel.update_card(ref, _Cards(ticket, self.ctx))
            done.updated.append((item.id, ref_id, ticket.version))
            if state is not None:
                done.states.append((ref_id, dict(state)))
                self._states[ref_id] = dict(state)
        else:  # "comment" and "notice": text into a conversation
            where = ChannelRef.from_json(item.target)
            text: dict[Locale, str] = {loc: self._text(item, ticket, loc) for loc in LOCALES}
            ephemeral = item.payload.get("ephemeral_to")
            await channel.post_text(where, text, ephemeral_to=str(ephemeral) if ephemeral else None)
            done.sent.append(item.id)

    def _text(self, item: outbox.OutboxItem, ticket: Ticket | None, locale: Locale) -> str:
        payload = item.payload
        if item.kind == "comment":
            author = self.ctx.directory.person(str(payload.get("author_id", "")))
            who = author.display(locale) if author else str(payload.get("author_id", "?"))
            key = ticket.key if ticket else payload.get("ticket", "")
            return f"[{key}] {who}: {payload.get('body', '')}"
        text = payload.get("text", {})
        return (
            str(text.get(locale) or text.get("en") or "") if isinstance(text, dict) else str(text)
        )

    async def _ticket(self, item: outbox.OutboxItem) -> Ticket | None:
        if item.ticket_id is None:
            return None
        if item.ticket_id in self._tickets:  # loaded for this pass
            return self._tickets[item.ticket_id]
        async with self.engine.connect() as conn:
            return await queries.ticket_by_id(conn, item.ticket_id)

    def _failed(
        self, item: outbox.OutboxItem, exc: DeliveryError, blocked: _Pace, done: Settlement
    ) -> None:
        now = self.clock.now()
        attempts = item.attempts + 1
        error = str(exc)[:500]
        if exc.permanent or attempts >= self.policy.max_attempts:
            log.error("outbox item failed for good", extra={"outbox_id": item.id, "error": error})
            done.failed.append((item.id, error))
            self.metrics.outbox.inc(channel=item.channel, kind=item.kind, result="failed")
            return
        if exc.retry_after is not None:
            wait = max(exc.retry_after, 0.0)
            until = now + timedelta(seconds=wait)
            if blocked.blocked_until is None or until > blocked.blocked_until:
                blocked.blocked_until = until
            result = "rate_limited"
        else:
            backoff = min(
                self.policy.max_backoff_s, self.policy.base_backoff_s * 2 ** (attempts - 1)
            )
            wait = backoff * (0.5 + random.random() / 2)
            result = "retry"
        log.warning(
            "outbox delivery will be retried",
            extra={"outbox_id": item.id, "error": error, "retry_in_s": round(wait, 3)},
        )
        done.retries.append(Retry(item.id, now + timedelta(seconds=wait), error))
        self.metrics.outbox.inc(channel=item.channel, kind=item.kind, result=result)


class _Cards:
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
