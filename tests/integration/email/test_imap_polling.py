"""IMAP intake against aioimaplib's own test server: poll, IDLE push, commit before \\Seen."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aioimaplib.imap_testing_server import Mail, MockImapServer

from tests.dbs import fresh_database
from tests.e2e.email.driver import DOMAIN, MailWorld, compose, mail_world
from tests.e2e.email.test_loops_and_failures import FailsOnce
from tests.integration.email.imap_double import new_double

USER = "desk"


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def imap() -> AsyncIterator[tuple[MockImapServer, int]]:
    server = new_double()
    listening = await server.run_server(host="127.0.0.1", port=0)
    yield server, listening.sockets[0].getsockname()[1]
    server.reset()
    listening.close()
    await listening.wait_closed()


def deliver(server: MockImapServer, raw: bytes) -> None:
    server.receive(Mail(email.message_from_bytes(raw)), imap_user=USER)


def flags(server: MockImapServer) -> list[list[str]]:
    return [m.flags for m in server._server_state.get_mailbox_messages(USER, "INBOX")]


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = 10) -> None:
    async def poll() -> None:
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), within_s)


def imap_section(port: int) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "user": USER,
        "password": "secret",
        "tls": False,
        "default_ticket_type": "it",
    }


async def count_is(world: MailWorld, n: int) -> bool:
    return await world.ticket_count() == n


async def test_unseen_mail_becomes_a_ticket_and_is_flagged_seen_after_commit(
    sqlite_url: str, tmp_path: Path, imap: tuple[MockImapServer, int]
) -> None:
    server, port = imap
    deliver(server, compose("邮箱里的请求", "打印机坏了", to=f"it@{DOMAIN}"))
    async with mail_world(sqlite_url, tmp_path, smtp_listen=None, imap=imap_section(port)) as world:
        await eventually(lambda: count_is(world, 1))
        await eventually(lambda: _seen(server, 1))
        [ticket] = await world.tickets()
        assert ticket.title == "邮箱里的请求"


async def _seen(server: MockImapServer, n: int) -> bool:
    return sum(1 for f in flags(server) if "\\Seen" in f) == n


async def test_mail_arriving_during_idle_is_picked_up_without_waiting_for_a_poll(
    sqlite_url: str, tmp_path: Path, imap: tuple[MockImapServer, int]
) -> None:
    server, port = imap
    section = {**imap_section(port), "poll_seconds": 3600}
    async with mail_world(sqlite_url, tmp_path, smtp_listen=None, imap=section) as world:
        poller = world.channel.poller
        assert poller is not None
        await asyncio.wait_for(poller.connected.wait(), 10)
        await eventually(lambda: _idling(server))
        deliver(server, compose("IDLE push", "arrived while idling"))
        await eventually(lambda: count_is(world, 1))
        await eventually(lambda: _seen(server, 1))


async def _idling(server: MockImapServer) -> bool:
    connection = server.get_connection(USER)
    return connection is not None and connection.idle_tag is not None


async def test_mail_that_cannot_be_committed_stays_unseen_and_is_taken_again(
    sqlite_url: str, tmp_path: Path, imap: tuple[MockImapServer, int]
) -> None:
    server, port = imap
    async with mail_world(sqlite_url, tmp_path, smtp_listen=None, imap=imap_section(port)) as world:
        poller = world.channel.poller
        assert poller is not None
        failing = FailsOnce(world.app.services.service)
        world.channel.intake.gateway = failing
        retried = asyncio.Event()

        async def no_backoff(_: float) -> None:
            retried.set()

        poller._sleep = no_backoff
        await eventually(lambda: _idling(server))
        deliver(server, compose("Flaky database", "try again"))
        await asyncio.wait_for(retried.wait(), 10)
        assert flags(server) == [[]]  # not \Seen: nothing was committed
        await eventually(lambda: count_is(world, 1))
        await eventually(lambda: _seen(server, 1))
        assert failing.failures == 0


async def test_over_imap_only_the_trusted_authserv_id_proves_a_configured_sender(
    sqlite_url: str, tmp_path: Path, imap: tuple[MockImapServer, int]
) -> None:
    server, port = imap
    lead = "li.lei@acme.example"
    for subject, authserv_id in (("Proven", "mx.acme.example"), ("Unproven", "mx.evil.example")):
        results = f"{authserv_id}; dmarc=pass header.from=acme.example"
        headers = {"Authentication-Results": results}
        deliver(server, compose(subject, "VPN gateway restarted", sender=lead, headers=headers))
    async with mail_world(
        sqlite_url,
        tmp_path,
        smtp_listen=None,
        imap=imap_section(port),
        emails={"li.lei": lead},
        sender_verification={"authserv_ids": ["mx.acme.example"]},
    ) as world:
        await eventually(lambda: count_is(world, 2))
        requesters = {t.title: t.requester_id for t in await world.tickets()}
        assert requesters == {"Proven": "li.lei", "Unproven": f"mail-unverified:{lead}"}
