"""The outbox dispatcher: delivers queued posts and card updates, at least once, politely.

Rows are claimed with a lease, so a crashed replica's work is picked up after the lease ends.
A card is re-rendered from the ticket's current state at send time, so a replay is harmless.
A 429 pauses the whole channel until Retry-After; other failures back off exponentially.

Deliveries flow rather than march in passes: claimed rows wait for a slot, each send is bounded by
`send_timeout_s`, a finished delivery is settled with whatever else finished meanwhile (one write
in flight at a time), and new due rows are claimed while a straggler is still out. One channel
may hold at most `channel_concurrency` of the `concurrency` slots, and one conversation (a
thread, a room) has one delivery in flight at a time, so what is said there arrives in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.base import Channel, DeliveryError, MessageRef
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
T = TypeVar("T")

# a row is handed back unsent when its lease would run out before this much after its send ends
_LEASE_MARGIN = timedelta(seconds=30)
# while deliveries are out, look for rows that became due (paced or backed-off ones) this often
_BUSY_POLL_S = 1.0
# on stop, how long to wait for the last settlement
_FINAL_SETTLE_S = 2.0


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
        needed = timedelta(seconds=rounds * self.send_timeout_s) + _LEASE_MARGIN
        return max(self.lease, needed)


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


Conversation = tuple[str, str, str]


@dataclass
class _Job:
    item: outbox.OutboxItem
    ticket: Ticket | None
    loaded: bool  # the claim loaded the ticket (None then means it is gone)
    start_by: datetime  # later, the lease could end during the send: hand the row back

    @property
    def conversation(self) -> Conversation:
        t = self.item.target
        place = t.get("thread") or t.get("message") or ""
        return (self.item.channel, str(t.get("conversation", "")), str(place))


@dataclass
class _Flight:
    """Claimed rows on their way out: waiting for a slot, in flight, finished but not settled."""

    waiting: deque[_Job] = field(default_factory=deque)
    running: dict[asyncio.Task[None], _Job] = field(default_factory=dict)
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
        self._kick = asyncio.Event()
        self._due = True  # rows may be due that nobody has claimed yet
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pace: dict[str, _Pace] = {}
        self._loaded: dict[int, Ticket | None] = {}  # outbox id -> its ticket, while it is sent

    def wake(self) -> None:
        self._due = True
        self._kick.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-dispatcher")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Deliver what is due (bounded by drain_timeout), then stop."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, drain_timeout)
            except TimeoutError:
                log.warning("outbox drain timed out; the rest is delivered after restart")
            self._task = None

    async def _loop(self) -> None:
        flight = _Flight()
        claiming: asyncio.Task[int] | None = None
        settling: asyncio.Task[None] | None = None
        try:
            while True:
                # Clear before looking, so a commit or a finished send while we look wakes us.
                self._kick.clear()
                if claiming is not None and claiming.done():
                    claiming = None
                if settling is not None and settling.done():
                    settling = None
                if flight.finished and settling is None:
                    settling = self._background(self._settle(flight))
                if self._due and claiming is None:
                    limit, full = flight.room(self.policy)
                    if limit > 0:
                        self._due = False
                        claiming = self._background(self._claim(flight, limit, full))
                self._start(flight)
                active = bool(flight.running or flight.waiting or claiming or settling)
                if self._stopping and not active and not flight.finished and not self._due:
                    return
                delay = _BUSY_POLL_S if active else await self._idle_delay()
                try:
                    await asyncio.wait_for(self._kick.wait(), delay)
                except TimeoutError:
                    self._due = True
        finally:
            for task in [*flight.running, claiming]:
                if task is not None:
                    task.cancel()
            # record what was sent, so a restart does not send it again; bounded, we are stopping
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(_FINAL_SETTLE_S):
                    if settling is not None:
                        await settling
                    await self._settle(flight)

    def _background(self, work: Awaitable[T]) -> asyncio.Task[T]:
        async def run() -> T:
            try:
                return await work
            finally:
                self._kick.set()

        return asyncio.create_task(run())

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
        flight = _Flight()
        handled = await self._claim(flight, self.policy.batch, set())
        while flight.waiting or flight.running:
            self._start(flight)
            if flight.running:
                await asyncio.wait(flight.running, return_when=asyncio.FIRST_COMPLETED)
        await self._settle(flight)
        return handled

    async def _claim(self, flight: _Flight, limit: int, skip: set[str]) -> int:
        """Lease up to limit due rows (none of the skipped channels) and queue them in flight."""
        now = self.clock.now()
        lease = self.policy.lease_for()
        owner = self.owner

        async def claim(conn: AsyncConnection) -> list[outbox.OutboxItem]:
            return await outbox.claim(conn, owner, now, limit, lease, skip)

        try:
            items = await self.writer.run(claim)
            async with self.engine.connect() as conn:
                tickets = await queries.tickets_by_ids(
                    conn, (i.ticket_id for i in items if i.ticket_id is not None)
                )
        except Exception:
            log.exception("outbox claim failed; retrying shortly")
            return 0
        if len(items) >= limit:
            self._due = True  # there may be more
        start_by = now + lease - timedelta(seconds=self.policy.send_timeout_s) - _LEASE_MARGIN
        for item in items:
            ticket = tickets.get(item.ticket_id) if item.ticket_id is not None else None
            loaded = item.ticket_id is not None and item.ticket_id in tickets
            flight.waiting.append(_Job(item, ticket, loaded, start_by))
        return len(items)

    def _start(self, flight: _Flight) -> None:
        """Start every waiting delivery that has a slot, its channel's and its conversation's."""
        policy = self.policy
        if not flight.waiting or len(flight.running) >= policy.concurrency:
            return
        now = self.clock.now()
        kept: deque[_Job] = deque()
        while flight.waiting and len(flight.running) < policy.concurrency:
            job = flight.waiting.popleft()
            item = job.item
            if now > job.start_by:  # waited too long: the lease might end mid-send
                flight.finished.retries.append(
                    Retry(item.id, now, "handed back before its lease ran out", count=False)
                )
                continue
            if (
                flight.in_flight[item.channel] >= policy.channel_concurrency
                or job.conversation in flight.busy
            ):
                kept.append(job)
                continue
            flight.busy.add(job.conversation)
            flight.in_flight[item.channel] += 1
            task = asyncio.create_task(self._run(flight, job))
            flight.running[task] = job
            task.add_done_callback(lambda t: self._done(flight, t))
        kept.extend(flight.waiting)
        flight.waiting = kept

    def _done(self, flight: _Flight, task: asyncio.Task[None]) -> None:
        job = flight.running.pop(task)
        flight.busy.discard(job.conversation)
        flight.in_flight[job.item.channel] -= 1
        self._kick.set()

    async def _run(self, flight: _Flight, job: _Job) -> None:
        done = Settlement()
        item = job.item
        if job.loaded:
            self._loaded[item.id] = job.ticket
        try:
            await self._deliver(item, done)
        finally:
            self._loaded.pop(item.id, None)
            flight.finished.extend(done)

    async def _settle(self, flight: _Flight) -> None:
        """Write everything that finished so far; what finishes meanwhile waits for the next."""
        done, flight.finished = flight.finished, Settlement()
        if not done:
            return
        settled_at = self.clock.now()
        try:
            await self.writer.run(lambda conn: settle(conn, settled_at, done))
        except Exception:
            # the rows stay leased and come back when their lease ends: sent at least once
            log.exception("outbox settlement failed", extra={"items": len(done)})

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
        timeout = self.policy.send_timeout_s
        try:
            try:
                async with asyncio.timeout(timeout):
                    await self._send(channel, item, done)
            except TimeoutError:
                # it may have arrived: a card post is retried (see docs/adr/0003), a text resent
                raise DeliveryError(f"no answer within {timeout:g} s") from None
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
                    post_target=item.target,
                )
            )
        elif item.kind == "card_update":
            assert ticket is not None
            t = item.target
            ref = MessageRef(
                item.channel, str(t["conversation"]), str(t["message"]), t.get("thread")
            )
            await channel.update_card(ref, _Cards(ticket, self.ctx))
            done.updated.append((item.id, item.card_ref_id or int(t["card_ref"]), ticket.version))
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
        if item.id in self._loaded:  # loaded with its claim
            return self._loaded[item.id]
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
