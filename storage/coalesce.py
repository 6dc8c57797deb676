"""Person notices coalesced: the lines one person gets about one ticket in one place, while the
first is held (core/handlers/informing.py), go out as one message.

Part of a batch's flush (storage/flush.py): lines of the same batch join, and lines join a
stored row that is still held and not yet claimed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.i18n import LOCALES, Locale
from storage.tables import outbox
from storage.unit_of_work import Send


async def coalesce_notices(
    conn: AsyncConnection,
    sends: list[Send],
    ids: dict[str, int],
    now: datetime,
    *,
    new_tickets: Collection[str] = (),
) -> list[Send]:
    """Merge person notices: lines for the same person, ticket and place join one message, in
    this batch and into a stored row still held for coalescing; a line already there is not
    added again. Returns the sends that still need a row of their own. Tickets opened in this
    batch have no stored rows, so only older ones are looked up."""
    merged: dict[tuple[str, str], Send] = {}
    for send in sends:
        key = (send.ticket_key, _target_key(send.where.to_json()))
        first = merged.get(key)
        if first is None:
            merged[key] = Send(
                send.ticket_key,
                send.where,
                send.kind,
                {**send.payload, "lines": list(send.payload["lines"])},
                send.deliver_at,
                coalesce=True,
            )
        else:
            _add_lines(first.payload, send.payload["lines"])
    older = {ids[k] for k, _ in merged if k not in new_tickets}
    if not older:
        return list(merged.values())
    held = await conn.execute(
        sa.select(outbox.c.id, outbox.c.ticket_id, outbox.c.target, outbox.c.payload).where(
            outbox.c.ticket_id.in_(older),
            outbox.c.kind == "notice",
            outbox.c.status == "pending",
            outbox.c.lease_until.is_(None),
            outbox.c.next_attempt_at > now,
        )
    )
    by_place = {(r.ticket_id, _target_key(r.target)): r for r in held if "lines" in r.payload}
    left = []
    for (ticket_key, target), send in merged.items():
        row = by_place.get((ids[ticket_key], target))
        if row is None:
            left.append(send)
            continue
        payload = dict(row.payload)
        payload["lines"] = list(payload["lines"])
        _add_lines(payload, send.payload["lines"])
        await conn.execute(sa.update(outbox).where(outbox.c.id == row.id).values(payload=payload))
    return left


Line = Mapping[str, str] | str  # by locale; a plain string in rows queued before lines had both


def _add_lines(payload: dict[str, Any], lines: list[Line]) -> None:
    """Append lines not yet in the message; its text, in each language, is the lines one per
    line."""
    for line in lines:
        if line not in payload["lines"]:
            payload["lines"].append(line)
    payload["text"] = {
        loc: "\n".join(_in(line, loc) for line in payload["lines"]) for loc in LOCALES
    }


def _in(line: Line, locale: Locale) -> str:
    if isinstance(line, str):
        return line
    return str(line.get(locale) or line.get("en") or "")


def _target_key(target: dict[str, Any]) -> str:
    return "|".join(f"{k}={target[k]}" for k in sorted(target))
