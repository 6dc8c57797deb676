"""Every ticket read asks core who may see what: a ticket hidden from a viewer is absent to them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.ports import InboundFile, attachment_id
from bot.bootstrap import Services, build
from bot.http.reads import TicketReads
from core.commands import AddComment, OpenTicket
from core.people import Directory, Person
from core.ticket import ChannelRef, Ticket
from storage.queries import TicketFilter
from tests.dbs import fresh_database
from tests.e2e.harness import service_config

API = ChannelRef("api")


@dataclass
class World:
    services: Services
    mine: str  # a ticket zhao.li opened
    theirs: str  # a ticket bob.smith opened
    file_id: str  # an attachment of `theirs`

    def person(self, person_id: str) -> Person:
        found = self.services.service.directory.person(person_id)
        assert found is not None
        return found


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with fresh_database("sqlite", tmp_path) as url:
        env = {"GONGDAN_ATTACHMENTS__DIR": str(tmp_path / "files")}
        services = await build(service_config(url, env=env))
        await services.writer.start()
        try:
            gateway = services.service
            keys = []
            for requester in ("zhao.li", "bob.smith"):
                done = await gateway.submit(OpenTicket("it", "VPN", requester, API))
                keys.append(str(done.value.key))
                await gateway.submit(AddComment(keys[-1], requester, "still down", API))
            file = InboundFile(attachment_id("test", keys[1], 1), "log.txt", "text/plain", 2, b"ok")
            await gateway.store_attachments(keys[1], [file])
            yield World(services, keys[0], keys[1], file.id)
        finally:
            await services.writer.stop()
            await services.engine.dispose()


def own_tickets_only(viewer: Person, ticket: Ticket, directory: Directory) -> bool:
    """A stricter rule than today's, to show where a refusal lands."""
    return ticket.requester_id == viewer.id


def reads(world: World, *, strict: bool = False) -> TicketReads:
    services = world.services
    directory = services.service.directory
    if strict:
        return TicketReads(services.engine, directory, own_tickets_only)
    return TicketReads(services.engine, directory)


async def test_everyone_known_reads_every_ticket_with_its_history_today(world: World) -> None:
    everyone = reads(world)
    zhao = world.person("zhao.li")
    theirs = await everyone.ticket(zhao, world.theirs)
    assert theirs is not None and theirs.requester_id == "bob.smith"
    listed, _ = await everyone.tickets(zhao, TicketFilter(), 50, None)
    assert [t.key for t in listed] == [world.theirs, world.mine]
    comments = await everyone.comments(zhao, world.theirs)
    assert [c.body for c in comments or []] == ["still down"]
    events = [e.kind for e in await everyone.events(zhao, world.theirs) or []]
    assert events[0] == "TicketOpened" and events[-1] == "CommentAdded"
    assert [a.id for a in await everyone.attachments(zhao, world.theirs) or []] == [world.file_id]
    download = await everyone.attachment(zhao, world.file_id)
    assert download is not None and download.filename == "log.txt"


async def test_a_ticket_the_rule_hides_reads_as_absent_from_every_read(world: World) -> None:
    strict = reads(world, strict=True)
    zhao = world.person("zhao.li")
    assert await strict.ticket(zhao, world.theirs) is None
    assert await strict.comments(zhao, world.theirs) is None
    assert await strict.events(zhao, world.theirs) is None
    assert await strict.attachments(zhao, world.theirs) is None
    assert await strict.attachment(zhao, world.file_id) is None
    listed, _ = await strict.tickets(zhao, TicketFilter(), 50, None)
    assert [t.key for t in listed] == [world.mine]
    # the same reads for the ticket's own requester
    bob = world.person("bob.smith")
    assert await strict.ticket(bob, world.theirs) is not None
    assert await strict.attachment(bob, world.file_id) is not None


async def test_an_unknown_ticket_or_attachment_reads_as_absent(world: World) -> None:
    everyone = reads(world)
    zhao = world.person("zhao.li")
    assert await everyone.ticket(zhao, "IT-9999") is None
    assert await everyone.events(zhao, "IT-9999") is None
    assert await everyone.attachment(zhao, "no-such-file") is None
