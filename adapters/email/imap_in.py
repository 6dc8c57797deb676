"""IMAP intake: read an existing mailbox, waiting with IDLE where the server offers it.

Unseen mail is fetched with BODY.PEEK[] (which leaves it unseen), committed through the
intake, and only then flagged \\Seen (or moved): a crash in between fetches it again, and the
Message-ID dedupe turns that second copy into nothing.

One mail that fails must not hold up the mail behind it. Its failure is logged, it stays
unseen, the pass goes on with the next mail, and later passes try it again; after
`quarantine_after` failures it is set aside in `quarantine_folder` (or at least flagged so
that no pass fetches it again) with an ERROR line naming it; a mail the intake refused for
good (`PermanentFailure`) is set aside on its first failure. A database that cannot be
reached is not the mail's fault: every mail would fail the same way, so the pass ends there,
nothing is counted, and the next pass (after a backoff) starts again. Failures are counted in
memory per UIDVALIDITY and UID; a restart counts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aioimaplib import aioimaplib

from adapters.email.intake import MailIntake
from adapters.email.outcomes import PermanentFailure
from adapters.email.senders import Arrival
from adapters.email.settings import ImapSettings

log = logging.getLogger("gongdan.email")

_FETCH_UID = re.compile(rb"\bUID (\d+)")
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(
    rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE
)
_MAX_BACKOFF_S = 300.0
# The keyword on a quarantined mail that could not be moved or copied (with \Seen, so no
# UNSEEN search finds it again); an admin can search for it.
QUARANTINE_KEYWORD = "$GongdanQuarantined"
# PEP 249 names these for a database that cannot be reached or used right now; SQLAlchemy
# re-raises driver errors under the same names (TimeoutError: its connection pool). A refused
# value (IntegrityError, DataError) or a bug is the mail's problem and is counted instead.
_UNAVAILABLE = frozenset(
    {"OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError"}
)


class ImapError(Exception):
    """The server refused a command we need (login, select, search, store)."""


class IntakeUnavailable(Exception):
    """The intake could not reach the database: the pass stops and no mail is blamed."""


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
        self._uidvalidity: str | None = None
        # (UIDVALIDITY, UID) -> failed attempts at that mail; in memory only
        self._failures: dict[tuple[str | None, str], int] = {}

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
            passes = self.passes
            try:
                client = await self._connect()
                await self._serve(client)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # the backoff grows until a pass completes again: a server that logs us in and
                # then fails, or a database that stays down, is not asked every two seconds
                failures = 1 if self.passes > passes else failures + 1
                delay = min(_MAX_BACKOFF_S, 2.0 ** min(failures, 9)) * (0.5 + random.random() / 2)
                if isinstance(exc, IntakeUnavailable):
                    what = "IMAP pass stopped: the database is unavailable; mail stays unseen"
                else:
                    what = "IMAP connection failed; reconnecting"
                log.warning(
                    what,
                    extra={"error": f"{type(exc).__name__}: {exc}", "retry_in_s": round(delay)},
                )
            finally:
                self.connected.clear()
                if client is not None:
                    await _close(client)
            await self._sleep(delay)

    async def _connect(self) -> Any:
        s = self.settings
        cls = aioimaplib.IMAP4_SSL if s.tls else aioimaplib.IMAP4
        client = cls(host=s.host, port=s.port, timeout=s.timeout_s)
        await client.wait_hello_from_server()
        _ok(await client.login(s.user, s.password), "LOGIN")
        selected = await client.select(s.folder)
        _ok(selected, f"SELECT {s.folder}")
        self._uidvalidity = _uidvalidity(selected)
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
        """Take every unseen message once; returns how many were committed.

        A mail the intake fails on is counted and skipped (see `_failed`); IntakeUnavailable
        ends the pass when the database cannot be reached."""
        found = await client.uid_search("UNSEEN", charset=None)
        _ok(found, "SEARCH UNSEEN")
        uids = [u.decode() for line in found.lines[:1] for u in bytes(line).split() if u.isdigit()]
        # forget mail that is gone or was handled elsewhere (and everything after a new
        # UIDVALIDITY), so the counts stay as small as the unseen mail
        unseen = {self._key(uid) for uid in uids}
        self._failures = {k: n for k, n in self._failures.items() if k in unseen}
        handled = 0
        for uid in uids:
            raw = await self._fetch(client, uid)
            if raw is None:
                continue
            try:
                await self.intake.accept(raw, Arrival("imap"))
            except Exception as exc:
                if _database_unavailable(exc):
                    raise IntakeUnavailable(_describe(exc)) from exc
                await self._failed(client, uid, raw, exc)
                continue
            self._failures.pop(self._key(uid), None)
            await self._done(client, uid)
            handled += 1
        self.passes += 1
        return handled

    def _key(self, uid: str) -> tuple[str | None, str]:
        return (self._uidvalidity, uid)

    async def _failed(self, client: Any, uid: str, raw: bytes, exc: Exception) -> None:
        """Count a failure of this mail; at `quarantine_after` set it aside. Logs never carry
        the body: the UID, the Message-ID and the error's type and message are enough."""
        key = self._key(uid)
        limit = self.settings.quarantine_after
        # a mail the intake refused for good would fail the same way on every pass
        failures = limit if isinstance(exc, PermanentFailure) else self._failures.get(key, 0) + 1
        self._failures[key] = failures
        facts: dict[str, Any] = {
            "uid": uid,
            "message_id": _message_id(raw),
            "failures": failures,
            "error": _describe(exc),
            "at": _where(exc),
        }
        if failures < limit:
            log.warning(
                "IMAP mail could not be processed; it stays unseen and is tried again",
                extra={**facts, "quarantine_after": limit},
            )
            return
        where = await self._quarantine(client, uid)
        if where is None:
            log.error(
                "IMAP mail could not be processed nor quarantined; it is tried again",
                extra=facts,
            )
            return
        del self._failures[key]
        log.error(
            "IMAP mail quarantined after repeated failures; an admin should look at it",
            extra={**facts, "quarantine": where},
        )

    async def _quarantine(self, client: Any, uid: str) -> str | None:
        """Put the mail where no pass looks again; says where it went (None: nowhere)."""
        folder = self.settings.quarantine_folder
        here = self.settings.folder
        if client.has_capability("MOVE"):
            if await _into_folder(client, "move", uid, folder):
                return f"moved to {folder}"
        elif await _into_folder(client, "copy", uid, folder):
            flags = rf"(\Seen \Deleted {QUARANTINE_KEYWORD})"
            if (await client.uid("store", uid, "+FLAGS", flags)).result == "OK":
                expunged = client.has_capability("UIDPLUS") and (
                    (await client.uid("expunge", uid)).result == "OK"
                )
                if expunged:
                    return f"copied to {folder} and removed from {here}"
                return f"copied to {folder}; flagged \\Deleted in {here}"
        # no folder to put it in: flagged \Seen, no UNSEEN search finds it again
        marked = await client.uid("store", uid, "+FLAGS", rf"(\Seen {QUARANTINE_KEYWORD})")
        if marked.result == "OK":
            return f"flagged \\Seen {QUARANTINE_KEYWORD} in {here}"
        if (await client.uid("store", uid, "+FLAGS", r"(\Seen)")).result == "OK":
            return f"flagged \\Seen in {here}"
        return None

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


async def _into_folder(client: Any, command: str, uid: str, folder: str) -> bool:
    """UID MOVE or UID COPY, creating the folder when the first try is refused (RFC 3501 says
    [TRYCREATE]; some servers only say NO, and CREATE of an existing folder is harmless)."""
    if (await client.uid(command, uid, folder)).result == "OK":
        return True
    await client.create(folder)
    return bool((await client.uid(command, uid, folder)).result == "OK")


def _uidvalidity(selected: Any) -> str | None:
    for line in getattr(selected, "lines", []):
        match = _UIDVALIDITY.search(bytes(line))
        if match:
            return match.group(1).decode()
    return None


def _message_id(raw: bytes) -> str | None:
    """The Message-ID as written, for the log; read without a parser (the parser may be what
    fails on this mail)."""
    head = _HEADER_END.split(raw, maxsplit=1)[0]
    match = _MESSAGE_ID.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it was raised from, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain) and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain


def _database_unavailable(exc: BaseException) -> bool:
    """Whether the database (or the disk behind it) failed, rather than this mail."""
    for cause in _causes(exc):
        if isinstance(cause, OSError) or getattr(cause, "connection_invalidated", False) is True:
            return True
        if any(cls.__name__ in _UNAVAILABLE for cls in type(cause).__mro__):
            return True
    return False


def _root(exc: BaseException) -> BaseException:
    root = _causes(exc)[-1]
    # a SQLAlchemy error's own text repeats the statement's values (the mail's text); the
    # driver's error it wraps says what was refused without them
    orig = getattr(root, "orig", None)
    return orig if isinstance(orig, BaseException) else root


def _describe(exc: BaseException) -> str:
    """The innermost error in one line of at most 200 characters."""
    root = _root(exc)
    text = " ".join(str(root).split())[:200]
    return f"{type(root).__name__}: {text}" if text else type(root).__name__


def _where(exc: BaseException) -> str | None:
    """Where the innermost error was raised (file:line in function): enough to find a bug."""
    frames = traceback.extract_tb(_causes(exc)[-1].__traceback__)
    if not frames:
        return None
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


def _ok(response: Any, what: str) -> None:
    if getattr(response, "result", None) != "OK":
        lines = b" ".join(bytes(x) for x in getattr(response, "lines", [])[-1:])
        raise ImapError(f"{what} failed: {lines.decode('utf-8', 'replace')}")


async def _close(client: Any) -> None:
    with contextlib.suppress(Exception):
        if client.has_pending_idle():
            client.idle_done()  # a server answers nothing else until the IDLE ends
        await asyncio.wait_for(client.logout(), 2)
