"""IMAP intake: read an existing mailbox, waiting with IDLE where the server offers it.

Unseen mail is fetched with BODY.PEEK[] (which leaves it unseen), committed through the
intake, and only then flagged \\Seen (or moved): a crash in between fetches it again, and the
Message-ID dedupe turns that second copy into nothing. A mail that cannot be committed stays
unseen and the pass ends; the next pass, after a backoff, tries it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aioimaplib import aioimaplib

from adapters.email.intake import MailIntake
from adapters.email.settings import ImapSettings

log = logging.getLogger("gongdan.email")

_FETCH_UID = re.compile(rb"\bUID (\d+)")
_MAX_BACKOFF_S = 300.0


class ImapError(Exception):
    """The server refused a command we need (login, select, search, store)."""


Sleep = Callable[[float], Awaitable[None]]


class ImapPoller:
    def __init__(
        self, settings: ImapSettings, intake: MailIntake, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.settings = settings
        self.intake = intake
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.passes = 0  # completed polls; tests and the log read it

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="email-imap")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        failures = 0
        delay = 0.0
        while True:
            client: Any = None
            try:
                client = await self._connect()
                failures = 0
                await self._serve(client)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(_MAX_BACKOFF_S, 2.0 ** min(failures, 9)) * (0.5 + random.random() / 2)
                log.warning(
                    "IMAP connection failed; reconnecting",
                    extra={"error": f"{type(exc).__name__}: {exc}", "retry_in_s": round(delay)},
                )
            finally:
                self.connected.clear()
                if client is not None:
                    await _close(client)
            if failures:
                await self._sleep(delay)

    async def _connect(self) -> Any:
        s = self.settings
        cls = aioimaplib.IMAP4_SSL if s.tls else aioimaplib.IMAP4
        client = cls(host=s.host, port=s.port, timeout=s.timeout_s)
        await client.wait_hello_from_server()
        _ok(await client.login(s.user, s.password), "LOGIN")
        _ok(await client.select(s.folder), f"SELECT {s.folder}")
        self.connected.set()
        return client

    async def _serve(self, client: Any) -> None:
        idle = client.has_capability("IDLE")
        while True:
            await self.poll_once(client)
            if not idle:
                await self._sleep(self.settings.poll_seconds)
                continue
            waiting = await client.idle_start(timeout=self.settings.idle_seconds)
            # returns on new mail, on a keep-alive line, or when idle_start's timer ends the
            # IDLE before the server's 30-minute limit; each is a reason to look again
            await client.wait_server_push(timeout=self.settings.idle_seconds + 60)
            client.idle_done()
            await asyncio.wait_for(waiting, self.settings.timeout_s)

    async def poll_once(self, client: Any) -> int:
        """Take every unseen message once; returns how many were committed."""
        found = await client.uid_search("UNSEEN", charset=None)
        _ok(found, "SEARCH UNSEEN")
        uids = [u for line in found.lines[:1] for u in bytes(line).split() if u.isdigit()]
        handled = 0
        for uid in uids:
            raw = await self._fetch(client, uid.decode())
            if raw is None:
                continue
            await self.intake.accept(raw, envelope_from=None, recipients=[])
            await self._done(client, uid.decode())
            handled += 1
        self.passes += 1
        return handled

    async def _fetch(self, client: Any, uid: str) -> bytes | None:
        response = await client.uid("fetch", uid, "(UID BODY.PEEK[])")
        _ok(response, f"FETCH {uid}")
        lines = list(response.lines)
        for i, line in enumerate(lines[:-1]):
            # a literal (the message) follows the line announcing it: `* 1 FETCH (UID 7 BODY[] {n}`
            if isinstance(line, bytes) and _FETCH_UID.search(line) and line.endswith(b"}"):
                match = _FETCH_UID.search(line)
                if match and match.group(1).decode() == uid:
                    return bytes(lines[i + 1])
        return None

    async def _done(self, client: Any, uid: str) -> None:
        target = self.settings.move_to
        if target and client.has_capability("MOVE"):
            _ok(await client.uid("move", uid, target), f"MOVE {uid}")
        else:
            _ok(await client.uid("store", uid, "+FLAGS", r"(\Seen)"), f"STORE {uid}")


def _ok(response: Any, what: str) -> None:
    if getattr(response, "result", None) != "OK":
        lines = b" ".join(bytes(x) for x in getattr(response, "lines", [])[-1:])
        raise ImapError(f"{what} failed: {lines.decode('utf-8', 'replace')}")


async def _close(client: Any) -> None:
    with contextlib.suppress(Exception):
        if client.has_pending_idle():
            client.idle_done()  # a server answers nothing else until the IDLE ends
        await asyncio.wait_for(client.logout(), 2)
