"""Settle the dispatcher's finished deliveries in one go: the outbox bookkeeping for each of them.

The dispatcher settles whatever finished while its previous settlement was being written, so a
burst shares one write; writing each result separately would cost several statements and a
savepoint per message. Here each table is touched once per settlement.

A comment made while one of its ticket's cards is still waiting to be posted is stored as a
"waiting" row aimed at that post (storage.flush); settling the post releases those rows, aimed at
the card now posted, or fails them with the post.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import rows_in, upsert
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
    # the outbox target of the card_post: comments waiting for this post name it
    post_target: Mapping[str, Any] | None = None
    state: dict[str, Any] | None = None  # what the platform needs to touch it again
    notice: Mapping[str, Any] | None = None  # a reminder's or escalation's card: its notice


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

    def __len__(self) -> int:
        parts = (self.posted, self.updated, self.sent, self.retries, self.failed)
        return sum(len(p) for p in parts)

    def extend(self, other: Settlement) -> None:
        self.posted += other.posted
        self.updated += other.updated
        self.sent += other.sent
        self.retries += other.retries
        self.failed += other.failed
        self.states += other.states


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
    ref_ids = await record_refs(conn, now, s.posted) if s.posted else {}
    await _release_waiting(conn, now, s.posted, ref_ids, [item for item, _ in s.failed])


RefKey = tuple[str, str, str]  # (channel, conversation, message)


def _place(card: Any) -> RefKey:
    """Where a card lives (a posted card, a card_refs row): its unique key."""
    return (card.channel, card.conversation, card.message)


async def record_refs(
    conn: AsyncConnection, now: datetime, posted: list[PostedCard]
) -> dict[RefKey, int]:
    """Insert the new card refs; where the ticket moved on during the post, queue an update.

    Returns the card ref id of every posted card, new or recorded by an earlier attempt."""
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
            "notice": dict(p.notice) if p.notice is not None else None,
        }
        for p in posted
    ]
    # A card an earlier attempt recorded (it crashed before settling) is already there: it is
    # left as it is and looked up below. Inserting first keeps the usual case to one statement
    # of one shape; a lookup of every card first (an OR per conversation) was a new statement
    # for SQLAlchemy to compile on most settlements. Rows come back in any order (in
    # parameter order SQLite would take one INSERT per row).
    result = await conn.execute(
        upsert(conn)(card_refs)
        .on_conflict_do_nothing(index_elements=["channel", "conversation", "message"])
        .returning(
            card_refs.c.id, card_refs.c.channel, card_refs.c.conversation, card_refs.c.message
        ),
        rows,
    )
    known: dict[RefKey, int] = {_place(r): int(r.id) for r in result}
    fresh = [p for p in posted if _place(p) in known]
    recorded = [_place(p) for p in posted if _place(p) not in known]
    if recorded:
        place = (card_refs.c.channel, card_refs.c.conversation, card_refs.c.message)
        found = await conn.execute(
            sa.select(card_refs.c.id, *place).where(rows_in(place, recorded))
        )
        known.update({_place(r): int(r.id) for r in found})
    if not fresh:  # every one was recorded by an earlier attempt that crashed before settling
        return known
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
            ref_target({**row, "id": known[(p.channel, p.conversation, p.message)]}),
            {},
            known[(p.channel, p.conversation, p.message)],
        )
        for p, row in zip(fresh, rows, strict=True)
        if versions.get(p.ticket_id, 0) > p.rendered_version
    ]
    if stale:
        await conn.execute(sa.insert(outbox), stale)
    return known


def same_target(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two outbox targets name the same place (a JSON round trip may keep or drop nulls)."""
    return {k: v for k, v in a.items() if v is not None} == {
        k: v for k, v in b.items() if v is not None
    }


async def _release_waiting(
    conn: AsyncConnection,
    now: datetime,
    posted: list[PostedCard],
    ref_ids: Mapping[RefKey, int],
    failed: list[int],
) -> None:
    """Comments waiting for a card that is now posted go to it, oldest first; comments waiting
    for a post that failed for good fail with it."""
    places = [(p.ticket_id, p.post_target, p) for p in posted if p.post_target is not None]
    lost: list[tuple[int, Mapping[str, Any]]] = []
    if failed:
        rows = await conn.execute(
            sa.select(outbox.c.ticket_id, outbox.c.target).where(
                outbox.c.id.in_(failed), outbox.c.kind == "card_post"
            )
        )
        lost = [(r.ticket_id, r.target) for r in rows if r.ticket_id is not None]
    if not places and not lost:
        return
    waiting = (
        await conn.execute(
            sa.select(outbox.c.id, outbox.c.ticket_id, outbox.c.payload)
            .where(
                outbox.c.status == "waiting",
                outbox.c.ticket_id.in_({t for t, _, _ in places} | {t for t, _ in lost}),
            )
            .order_by(outbox.c.id)
        )
    ).all()
    released: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for row in waiting:
        awaits = row.payload.get("awaits") or {}
        for ticket_id, target, p in places:
            if ticket_id == row.ticket_id and same_target(awaits, target):
                ref = {
                    "id": ref_ids[(p.channel, p.conversation, p.message)],
                    "channel": p.channel,
                    "conversation": p.conversation,
                    "thread": p.thread,
                    "message": p.message,
                }
                released.append({"row_id": row.id, "target": ref_target(ref), "ref_id": ref["id"]})
                break
        else:
            if any(t == row.ticket_id and same_target(awaits, tg) for t, tg in lost):
                dropped.append({"row_id": row.id})
    if released:
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("row_id"), outbox.c.status == "waiting")
            .values(
                status="pending",
                target=sa.bindparam("target"),
                card_ref_id=sa.bindparam("ref_id"),
                next_attempt_at=now,
            ),
            released,
        )
    if dropped:
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("row_id"), outbox.c.status == "waiting")
            .values(status="failed", last_error="the card this comment follows was never posted"),
            dropped,
        )
