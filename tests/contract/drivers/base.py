"""What the channel contract suite asks of a channel's driver: how to speak the platform's side.

A driver runs the real service (tests/e2e/harness.py) with one channel enabled and pointed at
that channel's local platform double, on a frozen clock, and plays the platform: it delivers
payloads through the channel's own door (signed HTTP, SMTP, a WebSocket) and reads what the
platform was sent. The suite (tests/contract/test_channel_contract.py) only calls the methods
below, so a new channel is one driver module plus one line in drivers/__init__.py.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from adapters.contract import Capabilities
from bot.config import Config
from core.clock import FrozenClock
from storage.db import reader
from storage.tables import outbox
from tests.e2e.harness import Running, running

FIXTURES = Path(__file__).parents[2] / "fixtures"
# a person's notice lines about one ticket are coalesced for a minute (core/handlers/informing.py)
NOTICE_COALESCING = timedelta(minutes=1)


@dataclass(frozen=True)
class Shown:
    """A message as the platform shows it."""

    id: str  # the platform's id for it (Slack's ts, a Message-ID, a web chat card id)
    thread: str  # the conversation or thread it belongs to
    text: str  # everything it says, as one string
    edits: int = 0  # times it was changed in place


@dataclass(frozen=True)
class Answer:
    """How the platform's door answered one delivery."""

    status: int | str  # an HTTP or SMTP code; web chat: the frame type it answered with
    reason: str  # the text that came with it


class ChannelDriver(ABC):
    """One channel, driven from its platform's side."""

    name: ClassVar[str]
    # how the channel's door answers what it takes, and what it refuses as unreadable
    accepted: ClassVar[int | str] = 200
    refused: ClassVar[int | str] = 400

    def __init__(self, tmp_path: Path, clock: FrozenClock) -> None:
        self.tmp_path = tmp_path
        self.clock = clock
        self._svc: Running | None = None

    # ---- what each channel writes ----------------------------------------------------------
    @abstractmethod
    def platform(self) -> AsyncIterator[None]:
        """Start the platform double (an async generator; stopped when it returns)."""

    @abstractmethod
    def config(self, db_url: str) -> Config:
        """The e2e company (tests/e2e/gongdan.test.yaml) with this channel on the double."""

    @abstractmethod
    async def open_ticket(self, text: str) -> str:
        """Deliver a message that opens a ticket (from zhao.li, zh-CN); its key."""

    @abstractmethod
    async def deliver_again(self) -> Answer:
        """The last delivery once more, byte for byte, as a platform's redelivery does."""

    @abstractmethod
    async def cards(self, key: str) -> list[Shown]:
        """The ticket's cards as its requester's conversation shows them, oldest first."""

    @abstractmethod
    def fail_next_send(self, *, retry_after: int | None) -> None:
        """The platform refuses the next card it is sent: 429 + Retry-After, or (None) for good."""

    @abstractmethod
    def send_attempts(self) -> int:
        """How many card posts the platform has received, answered or not."""

    @abstractmethod
    async def send_unparseable(self) -> Answer:
        """A delivery the channel cannot read at all."""

    @abstractmethod
    async def send_unhandled(self) -> Answer:
        """A known platform event the channel does not act on (taken, logged, nothing opened)."""

    @abstractmethod
    async def message_to_bob(self) -> Shown:
        """Make the service send bob.smith (locale en) a message meant for him alone; as shown."""

    # ---- shared ---------------------------------------------------------------------------
    @asynccontextmanager
    async def run(self, db_url: str) -> AsyncIterator[None]:
        # the platform starts first: the config points the channel at it
        platform = asynccontextmanager(self.platform)
        async with platform(), running(self.config(db_url), self.clock) as svc:
            self._svc = svc
            try:
                yield
            finally:
                self._svc = None

    @property
    def svc(self) -> Running:
        assert self._svc is not None, "run() first"
        return self._svc

    @property
    def capabilities(self) -> Capabilities:
        return self.svc.services.channels[self.name].capabilities

    async def settle(self) -> None:
        """Deliver everything due now (the background dispatcher may take some of it)."""
        dispatcher = self.svc.services.dispatcher
        for _ in range(100):
            if await dispatcher.run_once() == 0:
                await asyncio.sleep(0.02)
                if await dispatcher.run_once() == 0 and not await self._due_now():
                    return
        raise AssertionError("the outbox did not settle")

    async def _due_now(self) -> bool:
        stmt = sa.select(sa.func.count()).where(
            outbox.c.status == "pending",
            outbox.c.next_attempt_at <= self.clock.now(),
            outbox.c.lease_until.is_(None) | (outbox.c.lease_until < self.clock.now()),
        )
        async with reader(self.svc.services.engine).connect() as conn:
            return bool((await conn.execute(stmt)).scalar_one())

    async def card_posts(self) -> list[Any]:
        """The channel's card_post outbox rows, oldest first."""
        stmt = (
            sa.select(outbox)
            .where(outbox.c.channel == self.name, outbox.c.kind == "card_post")
            .order_by(outbox.c.id)
        )
        async with reader(self.svc.services.engine).connect() as conn:
            return list((await conn.execute(stmt)).mappings().all())

    async def tickets(self) -> list[str]:
        async with self.svc.http.get(
            self.svc.url + "/api/v1/tickets", headers=self.svc.auth("admin")
        ) as r:
            assert r.status == 200, await r.text()
            return [t["key"] for t in (await r.json())["items"]]

    async def act(self, key: str, action: str, person: str, **body: Any) -> None:
        async with self.svc.http.post(
            self.svc.url + f"/api/v1/tickets/{key}/actions/{action}",
            json=body,
            headers=self.svc.auth(person),
        ) as r:
            assert r.status == 200, await r.text()
