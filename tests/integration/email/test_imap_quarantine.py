"""IMAP intake when one mail cannot be processed: the mail behind it still comes in, the bad
one is quarantined after `quarantine_after` passes (at once when it is refused for good), a
mail no parser can take opens a ticket as over SMTP, and a database outage blames no mail."""

from __future__ import annotations

import asyncio
import email
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aioimaplib.imap_testing_server import Mail
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.email.imap_in import QUARANTINE_KEYWORD, ImapPoller
from adapters.email.parse import ORIGINAL_NAME
from adapters.ports import Submitted
from bot.logs import JsonFormatter
from core.commands import Command
from core.errors import Conflict
from storage.attachments import ticket_attachments
from storage.db import reader
from tests.dbs import fresh_database
from tests.e2e.email.driver import MailWorld, compose, mail_world
from tests.integration.email.imap_double import ImapDouble, new_double
from tests.unit.adapters.email.hostile_mail import nested_multipart

USER = "desk"
INBOX = "INBOX"
SEEN = "\\Seen"
POISON_BODY = "the text that the database refuses"


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("sqlite", tmp_path) as url:
        yield url


@asynccontextmanager
async def imap_server(capabilities: str, *, can_create: bool = True) -> AsyncIterator[ImapDouble]:
    """The test server, without IDLE so that the poller's passes are paced by its sleep."""
    server = new_double(capabilities, can_create=can_create)
    listening = await server.run_server(host="127.0.0.1", port=0)
    server.port = listening.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        server.reset()
        listening.close()
        await listening.wait_closed()


def imap_section(server: ImapDouble, **settings: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "user": USER,
        "password": "secret",
        "tls": False,
        "default_ticket_type": "it",
        **settings,
    }


def deliver(server: ImapDouble, raw: bytes) -> None:
    server.receive(Mail(email.message_from_bytes(raw)), imap_user=USER)


class RawMail(Mail):  # type: ignore[misc]
    """A mail served byte for byte: the double's own Mail would re-serialise a parsed message,
    and the standard parser cannot take the mail these tests are about."""

    def __init__(self, raw: bytes) -> None:
        super().__init__(BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True))
        self.raw = raw

    def as_bytes(self) -> bytes:
        return self.raw


def folder(server: ImapDouble, name: str) -> list[tuple[str, list[str]]] | None:
    """(subject, flags) of each message in the folder; None if there is no such folder."""
    messages = server._server_state.get_mailbox_messages(USER, name)
    if messages is None:
        return None
    return [(str(m.email["Subject"]), list(m.flags)) for m in messages]


def message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw)["Message-ID"])


class Passes:
    """The poller's sleep, held by the test: each pass (or failed pass) ends by waiting here
    until the test lets the next one start."""

    def __init__(self) -> None:
        self._waiting: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()
        self._held: asyncio.Future[None] | None = None

    async def __call__(self, _seconds: float) -> None:
        go: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._waiting.put(go)
        await go

    async def next(self) -> None:
        """Let the poller run one more pass and wait until that pass has ended."""
        if self._held is not None:
            self._held.set_result(None)
        self._held = await asyncio.wait_for(self._waiting.get(), 10)


@asynccontextmanager
async def paced(world: MailWorld) -> AsyncIterator[Passes]:
    """A poller built from the channel's configured settings and intake, one pass at a time."""
    configured = world.channel.poller
    assert configured is not None
    await configured.stop()
    passes = Passes()
    poller = ImapPoller(configured.settings, world.channel.intake, sleep=passes)
    poller.start()
    try:
        yield passes
    finally:
        await poller.stop()


class RefusesOneMail:
    """The real service, except that the database refuses one mail's values every time."""

    def __init__(self, real: Any, message_id: str) -> None:
        self.real = real
        self.message_id = message_id
        self.attempts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def submit(self, command: Command, **kwargs: Any) -> Submitted:
        inbound = kwargs.get("inbound")
        if inbound is not None and inbound.key == self.message_id:
            self.attempts += 1
            raise IntegrityError(
                "INSERT INTO tickets (description) VALUES (?)",
                (POISON_BODY,),
                Exception("CHECK constraint failed: description"),
            )
        result: Submitted = await self.real.submit(command, **kwargs)
        return result


class DatabaseDown:
    """The real service behind a database that cannot be reached until `down` is cleared."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.down = True
        self.attempts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def submit(self, command: Command, **kwargs: Any) -> Submitted:
        if self.down:
            self.attempts += 1
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("unable to open database"))
        result: Submitted = await self.real.submit(command, **kwargs)
        return result


async def titles(world: MailWorld) -> set[str]:
    return {t.title for t in await world.tickets()}


async def test_a_mail_that_always_fails_lets_the_mail_behind_it_in_and_is_quarantined_on_the_third_pass(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gongdan.email")
    poison = compose("Broken mail", POISON_BODY, sender="robot@example.cn")
    async with (
        imap_server("UIDPLUS MOVE") as server,
        mail_world(sqlite_url, tmp_path, imap=imap_section(server)) as world,
    ):
        refusing = RefusesOneMail(world.app.services.service, message_id(poison))
        world.channel.intake.gateway = refusing
        async with paced(world) as passes:
            deliver(server, poison)
            deliver(server, compose("Printer jammed", "3F east"))
            deliver(server, compose("VPN down", "since 9:00"))

            await passes.next()
            assert await titles(world) == {"Printer jammed", "VPN down"}
            assert folder(server, INBOX) == [
                ("Broken mail", []),
                ("Printer jammed", [SEEN]),
                ("VPN down", [SEEN]),
            ]

            await passes.next()
            assert refusing.attempts == 2
            assert folder(server, INBOX) == [
                ("Broken mail", []),
                ("Printer jammed", [SEEN]),
                ("VPN down", [SEEN]),
            ]

            await passes.next()
            assert folder(server, "Gongdan-Quarantine") == [("Broken mail", [])]
            assert folder(server, INBOX) == [("Printer jammed", [SEEN]), ("VPN down", [SEEN])]

            await passes.next()
            assert refusing.attempts == 3  # never fetched again
            assert await world.ticket_count() == 2

    lines = [r for r in caplog.records if r.getMessage().startswith("IMAP mail")]
    assert [r.levelname for r in lines] == ["WARNING", "WARNING", "ERROR"]
    quarantined = lines[-1]
    assert quarantined.__dict__["uid"] == "1"
    assert quarantined.__dict__["message_id"] == message_id(poison)
    assert quarantined.__dict__["quarantine"] == "moved to Gongdan-Quarantine"
    assert "CHECK constraint failed" in quarantined.__dict__["error"]
    assert all(POISON_BODY not in JsonFormatter().format(r) for r in lines)


@pytest.mark.parametrize(
    ("capabilities", "can_create", "inbox", "set_aside"),
    [
        pytest.param("UIDPLUS", True, [], [("Broken mail", [])], id="copy-then-uid-expunge"),
        pytest.param(
            "",
            True,
            [("Broken mail", [SEEN, "\\Deleted", QUARANTINE_KEYWORD])],
            [("Broken mail", [])],
            id="copy-without-uidplus-leaves-it-deleted",
        ),
        pytest.param(
            "UIDPLUS MOVE",
            False,
            [("Broken mail", [SEEN, QUARANTINE_KEYWORD])],
            None,
            id="no-folder-allowed-flags-it",
        ),
    ],
)
async def test_quarantine_falls_back_to_what_the_server_allows(
    sqlite_url: str,
    tmp_path: Path,
    capabilities: str,
    can_create: bool,
    inbox: list[tuple[str, list[str]]],
    set_aside: list[tuple[str, list[str]]] | None,
) -> None:
    poison = compose("Broken mail", POISON_BODY)
    async with (
        imap_server(capabilities, can_create=can_create) as server,
        mail_world(
            sqlite_url,
            tmp_path,
            imap=imap_section(server, quarantine_after=1, quarantine_folder="Held"),
        ) as world,
    ):
        refusing = RefusesOneMail(world.app.services.service, message_id(poison))
        world.channel.intake.gateway = refusing
        async with paced(world) as passes:
            deliver(server, poison)
            await passes.next()
            assert folder(server, INBOX) == inbox
            assert folder(server, "Held") == set_aside
            await passes.next()
            assert refusing.attempts == 1  # not fetched again


async def test_a_database_outage_stops_the_pass_and_quarantines_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with (
        imap_server("UIDPLUS MOVE") as server,
        mail_world(sqlite_url, tmp_path, imap=imap_section(server, quarantine_after=1)) as world,
    ):
        database = DatabaseDown(world.app.services.service)
        world.channel.intake.gateway = database
        async with paced(world) as passes:
            deliver(server, compose("Printer jammed", "3F east"))
            deliver(server, compose("VPN down", "since 9:00"))
            for _ in range(3):
                await passes.next()
            # each pass stopped at its first mail: the second would have failed the same way
            assert database.attempts == 3
            assert folder(server, INBOX) == [("Printer jammed", []), ("VPN down", [])]
            assert folder(server, "Gongdan-Quarantine") is None
            assert await world.ticket_count() == 0

            database.down = False
            await passes.next()
            assert await titles(world) == {"Printer jammed", "VPN down"}
            assert folder(server, INBOX) == [("Printer jammed", [SEEN]), ("VPN down", [SEEN])]


async def test_a_mail_nested_a_thousand_deep_opens_a_ticket_with_the_original_on_the_first_pass(
    sqlite_url: str, tmp_path: Path
) -> None:
    raw = nested_multipart(1000, top_text="三楼打印机冒烟了")
    async with (
        imap_server("UIDPLUS MOVE") as server,
        mail_world(
            sqlite_url, tmp_path, imap=imap_section(server), attachment_limit=2**20
        ) as world,
    ):
        async with paced(world) as passes:
            server.receive(RawMail(raw), imap_user=USER)
            await passes.next()
            assert folder(server, INBOX) == [("Nested mail", [SEEN])]
            assert folder(server, "Gongdan-Quarantine") is None

        [ticket] = await world.tickets()
        assert "三楼打印机冒烟了" in ticket.description
        assert f"the original is attached as {ORIGINAL_NAME}" in ticket.description
        async with reader(world.app.services.engine).connect() as conn:
            stored = await ticket_attachments(conn, ticket.key)
        assert [(a.filename, a.size, a.stored) for a in stored] == [(ORIGINAL_NAME, len(raw), True)]


class RefusesEverything:
    """The real service, except that it refuses every command the same way every time."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.attempts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def submit(self, command: Command, **kwargs: Any) -> Submitted:
        self.attempts += 1
        raise Conflict("refused, as it will be next time")


async def test_a_mail_refused_for_good_is_quarantined_on_its_first_pass(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with (
        imap_server("UIDPLUS MOVE") as server,
        mail_world(sqlite_url, tmp_path, imap=imap_section(server)) as world,
    ):
        refusing = RefusesEverything(world.app.services.service)
        world.channel.intake.gateway = refusing
        async with paced(world) as passes:
            deliver(server, compose("Printer jammed", "3F east"))
            await passes.next()
            assert folder(server, "Gongdan-Quarantine") == [("Printer jammed", [])]
            assert folder(server, INBOX) == []
