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
from collections import deque
from collections.abc import Awaitable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.contract import CardRenderer, Channel, DeliveryError, HasQuotas, MessageRef, Quota
from bot.delivery.flight import (
    LEASE_MARGIN,
    Bucket,
    Cards,
    DispatchPolicy,
    Flight,
    Job,
    Pause,
    Schedule,
    text_of,
)
from bot.metrics import Metrics
from core.clock import Clock
from core.i18n import LOCALES, Locale
from core.ports import Context
from core.ticket import ChannelRef, Ticket
from storage import outbox, queries
from storage.settle import PostedCard, Retry, Settlement, settle
from storage.writer import Writer

log = logging.getLogger("gongdan.outbox")
T = TypeVar("T")

# while deliveries are out, look for rows that became due (paced or backed-off ones) this often
_BUSY_POLL_S = 1.0
# past this many paced conversations (or held sends), the ones that no longer matter are dropped
_KEPT = 4096
RATE_WAIT = "waiting for the channel's rate limit"
# on stop, how long to wait for the last settlement
_FINAL_SETTLE_S = 2.0


def posted(
    item: outbox.OutboxItem,
    ticket: Ticket,
    ref: MessageRef,
    *,
    post_target: Mapping[str, Any] | None = None,
    notice: Mapping[str, Any] | None = None,
) -> PostedCard:
    """A card the platform took, as its settlement records it: where it lives, the ticket
    version it shows, what the platform needs to touch it again (and, for a reminder or an
    escalation, the notice it shows)."""
    assert ticket.id is not None
    state = dict(ref.state) if ref.state else None
    return PostedCard(
        item.id,
        ticket.id,
        ref.channel,
        ref.conversation,
        ref.thread,
        ref.message,
        ticket.version,
        post_target=post_target,
        state=state,
        notice=notice,
    )


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
        self._due = True  # rows of any channel may be due that nobody has claimed yet
        self._due_channels: set[str] = set()  # these channels' rows may be (a commit said so)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._paused: dict[str, Pause] = {}  # per channel: after a 429, until Retry-After
        # per limit a send counts against (a conversation's `rate_limits`, a platform's quotas):
        # the slots taken; and the slot each send held back for one keeps until it goes
        self._schedules: dict[str, Schedule] = {}
        self._slots: dict[int, datetime] = {}
        self._schedules_kept = self._slots_kept = _KEPT  # sizes past which they are pruned
        self._quota_sources: dict[str, HasQuotas | None] = {}
        # each channel's app-wide rate (Capabilities.sends_per_second), None: unlimited
        self._buckets: dict[str, Bucket | None] = {}
        # seconds until a send held back by its channel's rate may go (None: none is held)
        self._token_wait: float | None = None
        self._jobs: dict[int, Job] = {}  # outbox id -> its claim (ticket, state), while sent
        # card ref -> the state an update returned that is not settled yet (newer than stored)
        self._unsettled_states: dict[int, dict[str, Any]] = {}

    def wake(self, channels: Collection[str] | None = None) -> None:
        """Rows became due: for these channels, or (None) for any."""
        if channels is None:
            self._due = True
        else:
            self._due_channels.update(channels)
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
        flight = Flight()
        claiming: asyncio.Task[int] | None = None
        settling: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()
        poll_at: float | None = None  # then look for rows that became due without a wake
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
                if claiming is None and (self._due or self._due_channels):
                    limit, full = flight.room(self.policy)
                    which = self._claimable(full)
                    if limit > 0 and (which is None or which):
                        # what this claim leaves out is claimed once it has room: the full
                        # channels that were due (all of them, when any channel's rows were)
                        self._due_channels = set(full) if self._due else self._due_channels & full
                        self._due = False
                        claiming = self._background(self._claim(flight, limit, which))
                self._start(flight)
                active = bool(flight.running or flight.waiting or claiming or settling)
                due = self._due or self._due_channels
                if self._stopping and not active and not flight.finished and not due:
                    return
                if poll_at is None:
                    poll = _BUSY_POLL_S if active else await self._idle_delay()
                    poll_at = loop.time() + poll
                deadline = poll_at
                delay = max(0.0, deadline - loop.time())
                if self._token_wait is not None:  # a send waits for its channel's rate
                    delay = min(delay, self._token_wait)
                try:
                    await asyncio.wait_for(self._kick.wait(), delay)
                    poll_at = None  # woken: look again
                except TimeoutError:
                    if loop.time() >= deadline:
                        self._due = True
                        poll_at = None
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
        flight = Flight()
        handled = await self._claim(flight, self.policy.batch, None)
        while flight.waiting or flight.running:
            self._start(flight)
            if not flight.running:
                break  # the rest waits for a channel's rate: handed back below
            await asyncio.wait(flight.running, return_when=asyncio.FIRST_COMPLETED)
        if flight.waiting:
            ready = self.clock.now() + timedelta(seconds=self._token_wait or 0.0)
            for job in flight.waiting:
                flight.finished.retries.append(Retry(job.item.id, ready, RATE_WAIT, count=False))
            flight.waiting.clear()
        await self._settle(flight)
        return handled

    def _claimable(self, full: set[str]) -> list[str] | None:
        """The channels a claim reads now, None for any. A channel with a full round queued
        (`full`) is left out, and the claim then reads the others one by one (in name order):
        they are few, and a channel held back by its quota may have thousands of rows due, which
        a claim of any channel's rows would walk past on every commit."""
        if not full:
            return None
        wanted = set(self.channels) | self._due_channels if self._due else self._due_channels
        return sorted(wanted - full)

    async def _claim(self, flight: Flight, limit: int, channels: list[str] | None) -> int:
        """Lease up to limit due rows (of these channels, None: of any) and queue them in
        flight."""
        now = self.clock.now()
        lease = self.policy.lease_for()
        owner = self.owner

        async def claim(conn: AsyncConnection) -> tuple[list[outbox.OutboxItem], int]:
            claimed = await outbox.claim(conn, owner, now, limit, lease, channels)
            # a send whose platform limit gives it a later slot goes back to the outbox until
            # then, in the same transaction: no ticket loaded for it, no settlement
            held = self._hold_back(claimed, now)
            if held:
                await outbox.postpone(conn, held, RATE_WAIT)
            return [i for i in claimed if i.id not in held], len(claimed)

        try:
            items, claimed = await self.writer.run(claim)
            async with self.engine.connect() as conn:
                tickets = await queries.tickets_by_ids(
                    conn, (i.ticket_id for i in items if i.ticket_id is not None)
                )
                states = await outbox.card_states(
                    conn, (i.card_ref_id for i in items if i.card_ref_id is not None)
                )
        except Exception:
            log.exception("outbox claim failed; retrying shortly")
            return 0
        if claimed >= limit:
            if channels is None:
                self._due = True  # there may be more
            else:
                self._due_channels.update(channels)
        start_by = now + lease - timedelta(seconds=self.policy.send_timeout_s) - LEASE_MARGIN
        for item in items:
            ticket = tickets.get(item.ticket_id) if item.ticket_id is not None else None
            loaded = item.ticket_id is not None and item.ticket_id in tickets
            state = states.get(item.card_ref_id) if item.card_ref_id is not None else None
            flight.waiting.append(Job(item, ticket, loaded, start_by, state))
        return claimed

    def _start(self, flight: Flight) -> None:
        """Start every waiting delivery that has a slot, its channel's and its conversation's."""
        policy = self.policy
        self._token_wait = None
        if not flight.waiting or len(flight.running) >= policy.concurrency:
            return
        now = self.clock.now()
        kept: deque[Job] = deque()
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
            bucket = self._bucket(item.channel)
            if bucket is not None and not bucket.take(now):
                wait = bucket.wait(now)  # the channel's rate: it keeps its claim meanwhile
                self._token_wait = wait if self._token_wait is None else min(self._token_wait, wait)
                kept.append(job)
                continue
            flight.busy.add(job.conversation)
            flight.in_flight[item.channel] += 1
            task = asyncio.create_task(self._run(flight, job))
            flight.running[task] = job
            task.add_done_callback(lambda t: self._done(flight, t))
        kept.extend(flight.waiting)
        flight.waiting = kept

    def _done(self, flight: Flight, task: asyncio.Task[None]) -> None:
        job = flight.running.pop(task)
        flight.busy.discard(job.conversation)
        flight.in_flight[job.item.channel] -= 1
        self._kick.set()

    async def _run(self, flight: Flight, job: Job) -> None:
        done = Settlement()
        item = job.item
        self._jobs[item.id] = job
        try:
            await self._deliver(item, done)
        finally:
            self._jobs.pop(item.id, None)
            flight.finished.extend(done)

    async def _settle(self, flight: Flight) -> None:
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
            return
        for ref_id, state in done.states:  # stored now: the next claim reads it
            if self._unsettled_states.get(ref_id) is state:
                del self._unsettled_states[ref_id]

    def _bucket(self, name: str) -> Bucket | None:
        if name not in self._buckets:
            channel = self.channels.get(name)
            rate = channel.capabilities.sends_per_second if channel is not None else None
            self._buckets[name] = Bucket(rate) if rate else None
        return self._buckets[name]

    def _pause_for(self, channel: str) -> Pause:
        pause = self._paused.get(channel)
        if pause is None:
            pause = self._paused[channel] = Pause()
        return pause

    def _hold_back(self, items: list[outbox.OutboxItem], now: datetime) -> dict[int, datetime]:
        """The claimed sends a limit gives a later slot: the configured rate of their
        conversation (`outbox.rate_limits`: Slack allows about one message a second in each
        channel) or their platform's quotas (WeCom: 30 app messages a minute to one member).
        Each send takes the earliest slot all its limits allow, and keeps it until it goes, so
        a backlog waits for its own slots rather than being retried at one instant."""
        held: dict[int, datetime] = {}
        for item in items:
            slot = self._slots.pop(item.id, None)
            if slot is None:
                slot = self._reserve(item, now)
            if slot > now:
                held[item.id] = slot
        if held:
            self._slots.update(held)
            if len(self._slots) > self._slots_kept:  # rows sent elsewhere, or failed meanwhile
                horizon = now - self.policy.lease
                self._slots = {k: v for k, v in self._slots.items() if v > horizon}
                self._slots_kept = max(_KEPT, 2 * len(self._slots))  # pruned again when doubled
        return held

    def _reserve(self, item: outbox.OutboxItem, now: datetime) -> datetime:
        per_conversation = self.policy.rate_limits.get(item.channel)
        if item.channel not in self._quota_sources:  # asked once: a protocol check is slow
            channel = self.channels.get(item.channel)
            self._quota_sources[item.channel] = channel if isinstance(channel, HasQuotas) else None
        quotas = self._quota_sources[item.channel]
        if not per_conversation and quotas is None:
            return now
        conversation = str(item.target.get("conversation", ""))
        limits: list[Quota] = []
        if per_conversation:
            limits.append(Quota(f"conversation:{conversation}", per_conversation))
        if quotas is not None:
            limits.extend(quotas.quotas(item.kind, conversation))
        slot = now
        for quota in limits:
            key = f"{item.channel}\x00{quota.key}"
            schedule = self._schedules.get(key)
            if schedule is None:
                if len(self._schedules) >= self._schedules_kept:  # back to full: as if fresh
                    self._schedules = {
                        k: v for k, v in self._schedules.items() if v.due and v.due > now
                    }
                    self._schedules_kept = max(_KEPT, 2 * len(self._schedules))
                schedule = self._schedules[key] = Schedule(quota.per_second, quota.burst)
            slot = max(slot, schedule.reserve(now))
        return slot

    async def _deliver(self, item: outbox.OutboxItem, done: Settlement) -> None:
        channel = self.channels.get(item.channel)
        if channel is None:
            done.failed.append((item.id, f"channel {item.channel} is not enabled"))
            self.metrics.outbox.inc(channel=item.channel, kind=item.kind, result="no_channel")
            return
        # A 429 pauses the whole channel (its limits were kept when the row was claimed)
        blocked = self._pause_for(item.channel)
        now = self.clock.now()
        ready = blocked.ready_at(now)
        if ready > now:
            done.retries.append(Retry(item.id, ready, RATE_WAIT, count=False))
            return
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
            ref = await channel.post_card(where, Cards(ticket, self.ctx))
            done.posted.append(posted(item, ticket, ref, post_target=item.target))
        elif item.kind == "card_update":
            assert ticket is not None
            t = item.target
            ref_id = item.card_ref_id or int(t["card_ref"])
            ref = MessageRef(
                item.channel,
                str(t["conversation"]),
                str(t["message"]),
                t.get("thread"),
                state=self._card_state(item, ref_id),
            )
            returned = await channel.update_card(ref, self._renderer(ticket, item))
            done.updated.append((item.id, ref_id, ticket.version))
            if returned is not None:
                state = dict(returned)
                done.states.append((ref_id, state))
                self._unsettled_states[ref_id] = state
        else:  # "comment" and "notice": text into a conversation
            where = ChannelRef.from_json(item.target)
            text: dict[Locale, str] = {loc: text_of(item, ticket, self.ctx, loc) for loc in LOCALES}
            ephemeral = item.payload.get("ephemeral_to")
            await channel.post_text(where, text, ephemeral_to=str(ephemeral) if ephemeral else None)
            done.sent.append(item.id)

    def _renderer(self, ticket: Ticket, item: outbox.OutboxItem) -> CardRenderer:
        """How the card an update is aimed at renders: the ticket's own card."""
        return Cards(ticket, self.ctx)

    def _card_state(self, item: outbox.OutboxItem, ref_id: int) -> dict[str, Any] | None:
        """What the platform last returned for the card: an unsettled update's, else the stored."""
        if ref_id in self._unsettled_states:
            return self._unsettled_states[ref_id]
        job = self._jobs.get(item.id)
        return job.state if job is not None else None

    async def _ticket(self, item: outbox.OutboxItem) -> Ticket | None:
        if item.ticket_id is None:
            return None
        job = self._jobs.get(item.id)
        if job is not None and job.loaded:  # loaded with its claim
            return job.ticket
        async with self.engine.connect() as conn:
            return await queries.ticket_by_id(conn, item.ticket_id)

    def _failed(
        self, item: outbox.OutboxItem, exc: DeliveryError, blocked: Pause, done: Settlement
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
            whole_channel = not exc.this_place_only  # else only this row waits
            if whole_channel and (blocked.blocked_until is None or until > blocked.blocked_until):
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
