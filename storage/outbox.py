"""The outbox as the dispatcher sees it: claim due rows under a lease, then settle each one.

Every write here runs through Writer.run, so on SQLite the writer stays the only writer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.flush import outbox_row
from storage.leases import claim_leased
from storage.settle import PostedCard, record_refs
from storage.tables import card_refs, outbox, tickets


@dataclass(frozen=True)
class OutboxItem:
    id: int
    channel: str
    kind: str  # "card_post" | "card_update" | "comment" | "notice" | "remind" | "escalate"
    ticket_id: int | None
    ticket_key: str | None
    target: dict[str, Any]
    payload: dict[str, Any]
    attempts: int
    card_ref_id: int | None


@dataclass(frozen=True)
class CardRef:
    """A card we posted: where it lives and which ticket version it last showed."""

    id: int
    ticket_id: int
    channel: str
    conversation: str
    thread: str | None
    message: str
    locale: str | None
    rendered_version: int
    created_at: datetime
    rendered_status: str | None = None  # the status it last showed, where that matters (email)
    state: dict[str, Any] | None = None  # the platform's handle on the card (a JSON object)
    notice: dict[str, Any] | None = None  # a reminder's or escalation's card: its notice


async def claim(
    conn: AsyncConnection,
    owner: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    channels: Sequence[str] | None = None,
) -> list[OutboxItem]:
    """Lease up to limit due rows to owner, oldest first; a row is never held by two owners.

    channels: claim only these channels' rows, each read from its own index range, in the order
    given while the limit lasts (the dispatcher has enough of the others queued; a platform paced to its
    quota may have thousands waiting, which a claim must not walk on every commit). None: any
    channel's."""
    if channels is None:
        claimed = list(await _claim_rows(conn, owner, now, limit, lease, None))
    else:
        claimed = []
        for channel in channels:
            if len(claimed) >= limit:
                break
            claimed += await _claim_rows(conn, owner, now, limit - len(claimed), lease, channel)
    rows = sorted(claimed, key=lambda r: (r.next_attempt_at, r.id))
    keys = await _ticket_keys(conn, {r.ticket_id for r in rows if r.ticket_id is not None})
    return [
        OutboxItem(
            id=r.id,
            channel=r.channel,
            kind=r.kind,
            ticket_id=r.ticket_id,
            ticket_key=keys.get(r.ticket_id) if r.ticket_id is not None else None,
            target=dict(r.target),
            payload=dict(r.payload),
            attempts=r.attempts,
            card_ref_id=r.card_ref_id,
        )
        for r in rows
    ]


async def postpone(conn: AsyncConnection, slots: Mapping[int, datetime], reason: str) -> None:
    """Hand claimed rows back until their slot (a platform's limit): no attempt counted."""
    await conn.execute(
        sa.update(outbox)
        .where(outbox.c.id == sa.bindparam("item_id"))
        .values(
            next_attempt_at=sa.bindparam("at"),
            last_error=reason,
            lease_owner=None,
            lease_until=None,
        ),
        [{"item_id": item_id, "at": at} for item_id, at in slots.items()],
    )


async def _claim_rows(
    conn: AsyncConnection,
    owner: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    channel: str | None,
) -> Sequence[sa.Row[Any]]:
    due = [outbox.c.status == "pending", outbox.c.next_attempt_at <= now]
    if channel is not None:
        due.append(outbox.c.channel == channel)
    return await claim_leased(
        conn,
        outbox,
        due=due,
        order_by=(outbox.c.next_attempt_at, outbox.c.id),
        owner=owner,
        now=now,
        limit=limit,
        lease=lease,
        returning=(
            outbox.c.id,
            outbox.c.channel,
            outbox.c.kind,
            outbox.c.ticket_id,
            outbox.c.target,
            outbox.c.payload,
            outbox.c.attempts,
            outbox.c.card_ref_id,
            outbox.c.next_attempt_at,
        ),
    )


async def next_due(conn: AsyncConnection) -> datetime | None:
    """When the earliest pending row becomes due, so the dispatcher can sleep until then."""
    stmt = (
        sa.select(outbox.c.next_attempt_at)
        .where(outbox.c.status == "pending")
        .order_by(outbox.c.next_attempt_at)
        .limit(1)
    )
    due: datetime | None = (await conn.execute(stmt)).scalar_one_or_none()
    return due


async def record_card_ref(
    conn: AsyncConnection,
    ticket_id: int,
    channel: str,
    conversation: str,
    thread: str | None,
    message: str,
    locale: str | None,
    rendered_version: int,
    now: datetime,
) -> int:
    """Remember one posted card (the dispatcher records a whole pass through storage.settle)."""
    posted = PostedCard(
        0, ticket_id, channel, conversation, thread, message, rendered_version, locale
    )
    ids = await record_refs(conn, now, [posted])
    return ids[(channel, conversation, message)]


async def card_refs_for(conn: AsyncConnection, ticket_id: int) -> list[CardRef]:
    rows = await conn.execute(
        sa.select(card_refs).where(card_refs.c.ticket_id == ticket_id).order_by(card_refs.c.id)
    )
    return [CardRef(**r) for r in rows.mappings()]


async def card_states(conn: AsyncConnection, ref_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored state of each of these card refs that has one."""
    ids = set(ref_ids)
    if not ids:
        return {}
    rows = await conn.execute(
        sa.select(card_refs.c.id, card_refs.c.state).where(
            card_refs.c.id.in_(ids), card_refs.c.state.is_not(None)
        )
    )
    return {int(i): dict(state) for i, state in rows if isinstance(state, dict)}


async def recent_card_refs(
    conn: AsyncConnection, channel: str, limit_per_conversation: int
) -> list[CardRef]:
    """The newest cards of a channel, at most limit_per_conversation per conversation."""
    rank = (
        sa.func.row_number()
        .over(partition_by=card_refs.c.conversation, order_by=card_refs.c.id.desc())
        .label("rank")
    )
    ranked = sa.select(card_refs, rank).where(card_refs.c.channel == channel).subquery()
    stmt = (
        sa.select(*[ranked.c[c.name] for c in card_refs.columns])
        .where(ranked.c.rank <= limit_per_conversation)
        .order_by(ranked.c.id.desc())
    )
    return [CardRef(**r) for r in (await conn.execute(stmt)).mappings()]


@dataclass(frozen=True)
class SentNotice:
    """A reminder or escalation card that went out (cards of its own, with no card ref)."""

    id: int
    ticket_id: int
    conversation: str
    payload: dict[str, Any]
    sent_at: datetime


async def recent_notice_cards(
    conn: AsyncConnection, channel: str, kinds: Collection[str], limit_per_conversation: int
) -> list[SentNotice]:
    """The newest sent notice cards of a channel, at most limit_per_conversation per
    conversation, newest first (the conversation lives in the JSON target: grouped here)."""
    stmt = (
        sa.select(
            outbox.c.id, outbox.c.ticket_id, outbox.c.target, outbox.c.payload, outbox.c.sent_at
        )
        .where(
            outbox.c.channel == channel,
            outbox.c.kind.in_(list(kinds)),
            outbox.c.status == "sent",
            outbox.c.ticket_id.is_not(None),
        )
        .order_by(outbox.c.id.desc())
        .limit(limit_per_conversation * 50)
    )
    found: list[SentNotice] = []
    per: dict[str, int] = {}
    for row in await conn.execute(stmt):
        conversation = str(dict(row.target).get("conversation") or "")
        if per.get(conversation, 0) >= limit_per_conversation or row.sent_at is None:
            continue
        per[conversation] = per.get(conversation, 0) + 1
        found.append(
            SentNotice(row.id, row.ticket_id, conversation, dict(row.payload), row.sent_at)
        )
    return found


async def _ticket_keys(conn: AsyncConnection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await conn.execute(sa.select(tickets.c.id, tickets.c.key).where(tickets.c.id.in_(ids)))
    return {row.id: row.key for row in rows}


async def enqueue(
    conn: AsyncConnection,
    now: datetime,
    channel: str,
    kind: str,
    target: dict[str, Any],
    payload: dict[str, Any],
    ticket_id: int | None = None,
) -> None:
    """Queue one outbound message outside a ticket change (a notice answering a click)."""
    await conn.execute(
        sa.insert(outbox), [outbox_row(now, channel, kind, ticket_id, target, payload)]
    )


async def ticket_for_message(
    conn: AsyncConnection, channel: str, conversation: str, message: str
) -> str | None:
    """The ticket whose card is that message, or whose card was posted in that message's thread
    (a reply there is a comment on it; with several cards in one thread, the newest wins)."""
    stmt = (
        sa.select(tickets.c.key)
        .join(card_refs, card_refs.c.ticket_id == tickets.c.id)
        .where(
            card_refs.c.channel == channel,
            card_refs.c.conversation == conversation,
            sa.or_(card_refs.c.message == message, card_refs.c.thread == message),
        )
        .order_by(card_refs.c.id.desc())
        .limit(1)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()
