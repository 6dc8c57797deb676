"""Writing one batch's buffered changes: one statement per table, not one per submission."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.ticket import Comment
from storage.coalesce import coalesce_notices
from storage.mapping import ticket_row
from storage.tables import card_refs, comments, events, inbox, outbox, tickets, timers
from storage.unit_of_work import BatchState, Tracked, VersionConflict

_TICKET_COLUMNS = [c.name for c in tickets.columns if c.name != "id"]


async def flush(batch: BatchState, now: datetime) -> None:
    conn = batch.conn
    await batch.numbers.settle()
    await _insert_tickets(conn, [t for t in batch.tracked.values() if t.db_version is None])
    await _update_tickets(
        conn, [t for t in batch.tracked.values() if t.db_version is not None and t.dirty]
    )
    await _replace_timers(conn, list(batch.tracked.values()), now)
    buffers = batch.buffers
    ids = await _ticket_ids(batch, _referenced_keys(batch))
    if buffers.events:
        await conn.execute(
            sa.insert(events),
            [
                {
                    "ticket_id": ids[e.ticket_key],
                    "kind": e.kind.value,
                    "actor_id": e.actor_id,
                    "channel": e.channel,
                    "data": dict(e.data),
                    "at": e.at,
                }
                for e in buffers.events
            ],
        )
    if buffers.comments:
        await conn.execute(
            sa.insert(comments),
            [
                {
                    "ticket_id": ids[c.ticket_key],
                    "author_id": c.author_id,
                    "body": c.body,
                    "public": c.public,
                    "channel": c.channel.to_json(),
                    "created_at": c.created_at,
                }
                for c in buffers.comments
            ],
        )
    rows = [
        outbox_row(now, where.channel, "card_post", ids[key], where.to_json(), {"ticket_key": key})
        for key, where in buffers.posts
    ]
    rows += await _card_updates_and_relays(batch, ids, now)
    new = {t.ticket.key for t in batch.tracked.values() if t.db_version is None}
    plain = await coalesce_notices(
        conn, [s for s in buffers.sends if s.coalesce], ids, now, new_tickets=new
    )
    for send in [*(s for s in buffers.sends if not s.coalesce), *plain]:
        row = outbox_row(
            now,
            send.where.channel,
            send.kind,
            ids[send.ticket_key],
            send.where.to_json(),
            send.payload,
        )
        row["next_attempt_at"] = max(send.deliver_at, now)
        rows.append(row)
    if rows:
        await conn.execute(sa.insert(outbox), rows)
        batch.outbox_due.update(r["channel"] for r in rows if r["next_attempt_at"] <= now)
    if batch.inbox:
        await conn.execute(sa.insert(inbox), batch.inbox)


async def _insert_tickets(conn: AsyncConnection, new: list[Tracked]) -> None:
    if not new:
        return
    # RETURNING in any order, matched back by key: asking SQLite for the rows in parameter
    # order makes SQLAlchemy send one INSERT per row instead of one for the batch
    stmt = sa.insert(tickets).returning(tickets.c.id, tickets.c.key)
    result = await conn.execute(stmt, [ticket_row(t.ticket) for t in new])
    ids = {key: ticket_id for ticket_id, key in result.all()}
    for tracked in new:
        tracked.ticket.id = ids[tracked.ticket.key]


async def _update_tickets(conn: AsyncConnection, dirty: list[Tracked]) -> None:
    """Compare-and-set on version: a row another replica saved meanwhile matches nothing."""
    if not dirty:
        return
    stmt = (
        sa.update(tickets)
        .where(tickets.c.id == sa.bindparam("b_id"))
        .where(tickets.c.version == sa.bindparam("b_version"))
        .values({name: sa.bindparam(f"v_{name}") for name in _TICKET_COLUMNS})
    )
    params = [
        {
            "b_id": t.ticket.id,
            "b_version": t.db_version,
            **{f"v_{k}": v for k, v in ticket_row(t.ticket).items()},
        }
        for t in dirty
    ]
    if conn.dialect.supports_sane_multi_rowcount:
        matched = (await conn.execute(stmt, params)).rowcount
    else:
        matched = 0
        for one in params:
            matched += (await conn.execute(stmt, one)).rowcount
    if matched != len(params):
        raise VersionConflict(f"{len(params) - matched} ticket(s) changed by someone else")
    for t in dirty:
        t.db_version = t.ticket.version


async def _replace_timers(conn: AsyncConnection, tracked: list[Tracked], now: datetime) -> None:
    """One live timer per ticket, for its current generation: a changed schedule drops the old
    unfired row (a scheduler still holding it is fenced off) and inserts the new one."""
    moved = [t for t in tracked if t.dirty and t.ticket.timer_generation != t.db_generation]
    if not moved:
        return
    stale = [t.ticket.id for t in moved if t.db_generation is not None]
    if stale:
        await conn.execute(
            sa.delete(timers).where(timers.c.ticket_id.in_(stale), timers.c.fired_at.is_(None))
        )
    rows = [
        {
            "ticket_id": t.ticket.id,
            "kind": "escalation",
            "due_at": t.ticket.wake_at,
            "generation": t.ticket.timer_generation,
            "payload": {"ticket_key": t.ticket.key},
            "lease_owner": None,
            "lease_until": None,
            "fired_at": None,
            "created_at": now,
        }
        for t in moved
        if t.ticket.wake_at is not None
    ]
    if rows:
        await conn.execute(sa.insert(timers), rows)
    for t in moved:
        t.db_generation = t.ticket.timer_generation


def _referenced_keys(batch: BatchState) -> set[str]:
    b = batch.buffers
    keys = {e.ticket_key for e in b.events} | {c.ticket_key for c in b.comments}
    keys |= {s.ticket_key for s in b.sends}
    keys |= {key for key, _ in b.posts} | set(b.refresh) | {c.ticket_key for c in b.relays}
    return keys


async def _ticket_ids(batch: BatchState, keys: Iterable[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    missing = []
    for key in keys:
        tracked = batch.tracked.get(key)
        if tracked is not None and tracked.ticket.id is not None:
            ids[key] = tracked.ticket.id
        else:
            missing.append(key)
    if missing:
        found = await batch.conn.execute(
            sa.select(tickets.c.key, tickets.c.id).where(tickets.c.key.in_(missing))
        )
        ids.update({row.key: row.id for row in found})
    return ids


async def _card_updates_and_relays(
    batch: BatchState, ids: dict[str, int], now: datetime
) -> list[dict[str, Any]]:
    b = batch.buffers
    relays = [c for c in b.relays if c.public]  # internal notes never leave the agents' view
    ticket_ids = {ids[k] for k in b.refresh} | {ids[c.ticket_key] for c in relays}
    if not ticket_ids:
        return []
    # read before the card refs: a post settled meanwhile is then found as a card ref instead
    pending = await _pending_posts(batch, ids, {ids[c.ticket_key] for c in relays})
    refs = (
        (
            await batch.conn.execute(
                sa.select(card_refs)
                .where(card_refs.c.ticket_id.in_(ticket_ids))
                .order_by(card_refs.c.id)
            )
        )
        .mappings()
        .all()
    )
    rows = _card_updates(
        [r for r in refs if r["ticket_id"] in {ids[k] for k in b.refresh}],
        await _queued_updates(batch.conn, ticket_ids, now),
        now,
    )
    for comment in relays:
        ticket_id = ids[comment.ticket_key]
        rows += _relays(
            comment,
            ticket_id,
            # a reminder's or escalation's card is not a conversation about the ticket
            [r for r in refs if r["ticket_id"] == ticket_id and r["notice"] is None],
            pending.get(ticket_id, []),
            now,
        )
    return rows


async def _pending_posts(
    batch: BatchState, ids: dict[str, int], ticket_ids: set[int]
) -> dict[int, list[dict[str, Any]]]:
    """The targets of each ticket's card posts still in the outbox (this batch's included).

    On PostgreSQL the rows are locked until this batch commits, so the dispatcher cannot settle
    such a post between this read and the commit and miss the comments that wait for it."""
    if not ticket_ids:
        return {}
    stmt = (
        sa.select(outbox.c.ticket_id, outbox.c.target)
        .where(
            outbox.c.ticket_id.in_(ticket_ids),
            outbox.c.kind == "card_post",
            outbox.c.status == "pending",
        )
        .order_by(outbox.c.id)
    )
    if batch.conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    found: dict[int, list[dict[str, Any]]] = {}
    for row in await batch.conn.execute(stmt):
        found.setdefault(row.ticket_id, []).append(dict(row.target))
    for key, where in batch.buffers.posts:
        if ids[key] in ticket_ids:
            found.setdefault(ids[key], []).append(where.to_json())
    return found


async def _queued_updates(conn: AsyncConnection, ticket_ids: set[int], now: datetime) -> set[int]:
    """Card refs that already have a card_update waiting and not yet picked up.

    One waiting row suffices because the dispatcher renders the ticket as it is when it sends;
    a row already leased may have rendered before this change, so it does not count.
    """
    result = await conn.execute(
        sa.select(outbox.c.card_ref_id).where(
            outbox.c.ticket_id.in_(ticket_ids),
            outbox.c.kind == "card_update",
            outbox.c.status == "pending",
            sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
    )
    return {ref_id for ref_id in result.scalars() if ref_id is not None}


def _card_updates(refs: list[Any], queued: set[int], now: datetime) -> list[dict[str, Any]]:
    return [
        outbox_row(
            now, r["channel"], "card_update", r["ticket_id"], ref_target(r), {}, card_ref=r["id"]
        )
        for r in refs
        if r["id"] not in queued
    ]


def _relays(
    comment: Comment,
    ticket_id: int,
    refs: list[Any],
    pending: list[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """One comment row per conversation holding a copy of the card, but the one the comment was
    written in (it is seen there already): to the card where it is posted, else waiting for its
    post (storage.settle releases it once the card is there). A key mention in another room of
    the same channel reaches the card's thread too."""
    here = (comment.channel.channel, str(comment.channel.conversation))
    latest: dict[tuple[str, str], Any] = {}
    for r in refs:
        if (r["channel"], str(r["conversation"])) != here:
            latest[(r["channel"], str(r["conversation"]))] = r
    payload = {
        "ticket_key": comment.ticket_key,
        "author_id": comment.author_id,
        "body": comment.body,
    }
    rows = [
        outbox_row(now, r["channel"], "comment", ticket_id, ref_target(r), payload, r["id"])
        for r in latest.values()
    ]
    for target in pending:
        where = (str(target["channel"]), str(target.get("conversation")))
        if where == here or where in latest:
            continue
        latest[where] = target
        row = outbox_row(now, where[0], "comment", ticket_id, target, payload | {"awaits": target})
        row["status"] = "waiting"
        rows.append(row)
    return rows


def ref_target(ref: Any) -> dict[str, Any]:
    """Outbox target for something aimed at a posted card: the ref id plus where it lives."""
    target = {"card_ref": ref["id"], "channel": ref["channel"], "conversation": ref["conversation"]}
    if ref["thread"] is not None:
        target["thread"] = ref["thread"]
    target["message"] = ref["message"]
    if ref.get("notice") is not None:  # a reminder's or escalation's card: rendered as one
        target["notice"] = ref["notice"]
    return target


def outbox_row(
    now: datetime,
    channel: str,
    kind: str,
    ticket_id: int | None,
    target: dict[str, Any],
    payload: dict[str, Any],
    card_ref: int | None = None,
) -> dict[str, Any]:
    """A fresh pending outbox row, due now."""
    return {
        "channel": channel,
        "kind": kind,
        "ticket_id": ticket_id,
        "target": target,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_until": None,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
        "card_ref_id": card_ref,
    }
