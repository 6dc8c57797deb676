"""Attachments, suppressed addresses and the last status shown per card, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FrozenClock
from core.ticket import ChannelRef
from storage.attachments import (
    AttachmentMissing,
    AttachmentStore,
    NewAttachment,
    get_attachment,
    record_attachments,
    ticket_attachments,
)
from storage.card_status import rendered_status, set_rendered_status
from storage.outbox import record_card_ref
from storage.suppressions import suppress, suppressed
from storage.writer import Writer
from tests.integration.storage.world import comment, context, open_one, scalar

PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg"
MAIL = ChannelRef("email", "alice@example.cn", message="<reply-1@example.cn>")


def _photo(ident: str, ref: str, name: str = "打印机.jpg") -> NewAttachment:
    return NewAttachment(ident, name, "image/jpeg", len(PHOTO), ref)


async def test_same_bytes_are_kept_once_under_their_sha256(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "files", max_bytes=1024)

    first = await store.put(PHOTO)
    again = await store.put(PHOTO)

    digest = first.rsplit("/", 1)[-1]
    assert first == again == f"{digest[:2]}/{digest[2:4]}/{digest}" and len(digest) == 64
    assert await store.read(first) == PHOTO
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [digest]


async def test_store_refuses_files_over_its_limit_and_refs_outside_its_directory(
    tmp_path: Path,
) -> None:
    store = AttachmentStore(tmp_path / "files", max_bytes=4)

    with pytest.raises(ValueError, match="outside the attachment limit"):
        await store.put(PHOTO)
    with pytest.raises(ValueError, match="outside the attachments directory"):
        store.path("../../etc/passwd")
    with pytest.raises(AttachmentMissing):
        await store.read("ab/cd/" + "0" * 64)
    assert not (tmp_path / "files").exists()


async def test_recorded_attachments_list_with_their_ticket_and_repeat_harmlessly(
    engine: AsyncEngine, writer: Writer, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    files = [_photo("m1-0001", "ab/cd/abcd"), _photo("m1-0002", "", "video.mp4")]

    for _ in range(2):  # a redelivered mail stores the same files again
        await writer.run(lambda conn: record_attachments(conn, ticket.key, files, clock.now()))

    async with engine.connect() as conn:
        listed = await ticket_attachments(conn, ticket.key)
        one = await get_attachment(conn, "m1-0001")
        missing = await get_attachment(conn, "nope")
    assert [(a.id, a.filename, a.stored) for a in listed] == [
        ("m1-0001", "打印机.jpg", True),
        ("m1-0002", "video.mp4", False),
    ]
    assert one is not None and one.ticket_key == ticket.key and one.comment_id is None
    assert missing is None


async def test_files_of_a_reply_point_at_the_comment_it_became(
    engine: AsyncEngine, writer: Writer, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    await comment(writer, ctx, ticket.key, "alice", "first", ChannelRef("webchat", "s"))
    await comment(writer, ctx, ticket.key, "alice", "photo attached", MAIL)

    await writer.run(
        lambda conn: record_attachments(
            conn, ticket.key, [_photo("r1-0001", "")], clock.now(), comment_message=MAIL.message
        )
    )

    async with engine.connect() as conn:
        [stored] = await ticket_attachments(conn, ticket.key)
    assert stored.comment_id is not None
    body = await scalar(engine, "SELECT body FROM comments WHERE id = :id", id=stored.comment_id)
    assert body == "photo attached"


async def test_attachments_for_an_unknown_ticket_are_refused(
    writer: Writer, clock: FrozenClock
) -> None:
    with pytest.raises(LookupError):
        await writer.run(
            lambda conn: record_attachments(conn, "IT-9999", [_photo("x-0001", "")], clock.now())
        )


async def test_suppression_lasts_until_its_end_and_renewing_it_keeps_one_row(
    engine: AsyncEngine, writer: Writer, clock: FrozenClock
) -> None:
    now = clock.now()
    await writer.run(lambda conn: suppress(conn, "email", "gone@example.cn", "5.1.1", now))
    await writer.run(lambda conn: suppress(conn, "email", "gone@example.cn", "5.1.2", now))
    await writer.run(
        lambda conn: suppress(
            conn, "email", "full@example.cn", "4.2.2", now, until=now + timedelta(days=1)
        )
    )
    await writer.run(lambda conn: suppress(conn, "sms", "+8613800000000", "dead", now))

    async with engine.connect() as conn:
        today = await suppressed(conn, "email", now)
        later = await suppressed(conn, "email", now + timedelta(days=2))
    assert today == {"gone@example.cn", "full@example.cn"}
    assert later == {"gone@example.cn"}


async def test_the_status_a_card_last_showed_is_kept_on_its_ref(
    engine: AsyncEngine, writer: Writer, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    assert ticket.id is not None
    ticket_id = ticket.id
    mid = "<IT-1001.abc@gongdan.test>"

    unknown = await writer.run(
        lambda conn: set_rendered_status(conn, "email", "a@example.cn", mid, "new")
    )
    await writer.run(
        lambda conn: record_card_ref(
            conn, ticket_id, "email", "a@example.cn", None, mid, None, 1, clock.now()
        )
    )
    async with engine.connect() as conn:
        before = await rendered_status(conn, "email", "a@example.cn", mid)
    known = await writer.run(
        lambda conn: set_rendered_status(conn, "email", "a@example.cn", mid, "accepted")
    )
    async with engine.connect() as conn:
        after = await rendered_status(conn, "email", "a@example.cn", mid)

    assert (unknown, before, known, after) == (False, None, True, "accepted")
