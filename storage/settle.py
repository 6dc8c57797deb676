"""Settle a whole dispatcher pass in one go: the outbox bookkeeping for every item it handled.

One pass delivers up to a batch of rows; writing each result separately costs several statements
and a savepoint per message. Here each table is touched once per pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.flush import outbox_row, ref_target
from storage.tables import card_refs, outbox, tickets


@dataclass(frozen=True)
class PostedCard:
    """A card the platform accepted: where it now lives and which ticket version it showed."""

    item_id: int
    ticket_id: int
    channel: str
    conversation: str
    thread: str | None
    message: str
    rendered_version: int
    locale: str | None = None
    state: dict[str, Any] | None = None  # what the platform needs to touch it again


@dataclass(frozen=True)
class Retry:
    item_id: int
    at: datetime
    error: str
    count: bool = True  # False: we deferred it ourselves (pacing), not a failure


@dataclass
class Settlement:
    posted: list[PostedCard] = field(default_factory=list)
    updated: list[tuple[int, int, int]] = field(default_factory=list)  # (item, card_ref, version)
    sent: list[int] = field(default_factory=list)
    retries: list[Retry] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    states: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (card_ref, state)

    def __bool__(self) -> bool:
        return bool(self.posted or self.updated or self.sent or self.retries or self.failed)


async def settle(conn: AsyncConnection, now: datetime, s: Settlement) -> None:
    done = [p.item_id for p in s.posted] + [u[0] for u in s.updated] + s.sent
    if done:
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(done))
            .values(status="sent", sent_at=now, lease_owner=None, lease_until=None)
        )
    if s.updated:
        await conn.execute(
            sa.update(card_refs)
            # never backwards: an older render finishing late must not hide a newer one
            .where(
                card_refs.c.id == sa.bindparam("ref_id"),
                card_refs.c.rendered_version < sa.bindparam("version"),
            )
            .values(rendered_version=sa.bindparam("version")),
            [{"ref_id": ref, "version": version} for _, ref, version in s.updated],
        )
    if s.states:  # a platform handle an update replaced (WeCom's response_code is single-use)
        await conn.execute(
            sa.update(card_refs)
            .where(card_refs.c.id == sa.bindparam("ref_id"))
            .values(state=sa.bindparam("state")),
            [{"ref_id": ref, "state": state} for ref, state in s.states],
        )
    if s.retries:
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("item_id"))
            .values(
                attempts=outbox.c.attempts + sa.bindparam("bump"),
                next_attempt_at=sa.bindparam("at"),
                last_error=sa.bindparam("error"),
                lease_owner=None,
                lease_until=None,
            ),
            [
                {
                    "item_id": r.item_id,
                    "bump": 1 if r.count else 0,
                    "at": r.at,
                    "error": r.error[:4000],
                }
                for r in s.retries
            ],
        )
    if s.failed:
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("item_id"))
            .values(
                status="failed",
                attempts=outbox.c.attempts + 1,
                last_error=sa.bindparam("error"),
                lease_owner=None,
                lease_until=None,
            ),
            [{"item_id": item, "error": error[:4000]} for item, error in s.failed],
        )
    if s.posted:
        await record_refs(conn, now, s.posted)


async def record_refs(conn: AsyncConnection, now: datetime, posted: list[PostedCard]) -> None:
    """Insert the new card refs; where the ticket moved on during the post, queue an update."""
    known = {
        (r.channel, r.conversation, r.message)
        for r in await conn.execute(
            sa.select(card_refs.c.channel, card_refs.c.conversation, card_refs.c.message).where(
                sa.tuple_(card_refs.c.channel, card_refs.c.conversation, card_refs.c.message).in_(
                    [(p.channel, p.conversation, p.message) for p in posted]
                )
            )
        )
    }
    fresh = [p for p in posted if (p.channel, p.conversation, p.message) not in known]
    if not fresh:  # every one was recorded by an earlier attempt that crashed before settling
        return
    rows = [
        {
            "ticket_id": p.ticket_id,
            "channel": p.channel,
            "conversation": p.conversation,
            "thread": p.thread,
            "message": p.message,
            "locale": p.locale,
            "rendered_version": p.rendered_version,
            "created_at": now,
            "state": p.state,
        }
        for p in fresh
    ]
    result = await conn.execute(
        sa.insert(card_refs).returning(card_refs.c.id, sort_by_parameter_order=True), rows
    )
    ids = [int(i) for i in result.scalars()]
    versions = dict(
        (
            await conn.execute(
                sa.select(tickets.c.id, tickets.c.version).where(
                    tickets.c.id.in_({p.ticket_id for p in fresh})
                )
            )
        ).all()
    )
    stale = [
        outbox_row(
            now,
            p.channel,
            "card_update",
            p.ticket_id,
            ref_target({**row, "id": ref_id}),
            {},
            ref_id,
        )
        for p, row, ref_id in zip(fresh, rows, ids, strict=True)
        if versions.get(p.ticket_id, 0) > p.rendered_version
    ]
    if stale:
        await conn.execute(sa.insert(outbox), stale)
