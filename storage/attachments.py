"""Files that came with tickets and comments: bytes in a local directory, metadata in the database.

Bytes are content-addressed (`ab/cd/<sha256>`), so the same photo mailed twice is kept once and
a retried delivery rewrites nothing. The file is always written before its row is committed:
an orphan file costs disk space, a row without its file would be a broken download.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import upsert
from storage.tables import attachments, comments, tickets


class AttachmentMissing(Exception):
    """A row names a file the attachments directory no longer has."""


@dataclass(frozen=True)
class NewAttachment:
    id: str
    filename: str
    content_type: str
    size: int
    storage_ref: str  # "" when the bytes were not kept


@dataclass(frozen=True)
class StoredAttachment:
    id: str
    ticket_key: str | None
    comment_id: int | None
    filename: str
    content_type: str
    size: int
    storage_ref: str
    created_at: datetime

    @property
    def stored(self) -> bool:
        return bool(self.storage_ref)


class AttachmentStore:
    """The attachments directory. Nothing touches the disk until the first file arrives."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def keeps(self, size: int) -> bool:
        return 0 < size <= self.max_bytes

    async def put(self, data: bytes) -> str:
        """Write the bytes (if not already there) and return their storage_ref."""
        if not self.keeps(len(data)):
            raise ValueError(f"{len(data)} bytes is outside the attachment limit")
        digest = hashlib.sha256(data).hexdigest()
        ref = f"{digest[:2]}/{digest[2:4]}/{digest}"
        await asyncio.to_thread(self._write, self.path(ref), data)
        return ref

    async def read(self, ref: str) -> bytes:
        try:
            return await asyncio.to_thread(self.path(ref).read_bytes)
        except FileNotFoundError:
            raise AttachmentMissing(f"attachment file {ref} is missing") from None

    def path(self, ref: str) -> Path:
        candidate = (self.root / ref).resolve()
        if not candidate.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage_ref {ref!r} points outside the attachments directory")
        return candidate

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.is_file() and path.stat().st_size == len(data):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # temp file + fsync + rename: a crash never leaves a half-written file under the real name
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


async def record_attachments(
    conn: AsyncConnection,
    ticket_key: str,
    files: Sequence[NewAttachment],
    now: datetime,
    *,
    comment_message: str | None = None,
) -> None:
    """Insert the rows; an id already recorded (a redelivered message) is left as it is."""
    if not files:
        return
    ticket_id = (
        await conn.execute(sa.select(tickets.c.id).where(tickets.c.key == ticket_key))
    ).scalar_one_or_none()
    if ticket_id is None:
        raise LookupError(f"no ticket {ticket_key}")
    comment_id = await _comment_for(conn, ticket_id, comment_message) if comment_message else None
    stmt = upsert(conn)(attachments).on_conflict_do_nothing(index_elements=[attachments.c.id])
    await conn.execute(
        stmt,
        [
            {
                "id": f.id,
                "ticket_id": ticket_id,
                "comment_id": comment_id,
                "filename": f.filename[:255],
                "content_type": f.content_type[:255],
                "size": f.size,
                "storage_ref": f.storage_ref,
                "created_at": now,
            }
            for f in files
        ],
    )


async def _comment_for(conn: AsyncConnection, ticket_id: int, message: str) -> int | None:
    """The ticket's comment that arrived as `message` (its origin ChannelRef.message)."""
    rows = await conn.execute(
        sa.select(comments.c.id, comments.c.channel)
        .where(comments.c.ticket_id == ticket_id)
        .order_by(comments.c.id.desc())
    )
    for comment_id, channel in rows:
        if isinstance(channel, dict) and channel.get("message") == message:
            return int(comment_id)
    return None


_COLUMNS = (
    attachments.c.id,
    tickets.c.key,
    attachments.c.comment_id,
    attachments.c.filename,
    attachments.c.content_type,
    attachments.c.size,
    attachments.c.storage_ref,
    attachments.c.created_at,
)


async def ticket_attachments(conn: AsyncConnection, ticket_key: str) -> list[StoredAttachment]:
    """A ticket's attachments in the order they arrived."""
    rows = await conn.execute(
        sa.select(*_COLUMNS)
        .join(tickets, tickets.c.id == attachments.c.ticket_id)
        .where(tickets.c.key == ticket_key)
        .order_by(attachments.c.created_at, attachments.c.id)
    )
    return [StoredAttachment(*row) for row in rows]


async def get_attachment(conn: AsyncConnection, attachment_id: str) -> StoredAttachment | None:
    row = (
        await conn.execute(
            sa.select(*_COLUMNS)
            .outerjoin(tickets, tickets.c.id == attachments.c.ticket_id)
            .where(attachments.c.id == attachment_id)
        )
    ).first()
    return StoredAttachment(*row) if row is not None else None
