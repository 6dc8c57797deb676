"""Per-card state: what a platform needs to touch a posted card again (DingTalk's outTrackId,
WeCom's single-use response_code) is stored with the card and handed back on each update."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from adapters.contract import CardRenderer, MessageRef
from bot.bootstrap import Services, build
from bot.delivery.dispatcher import Dispatcher
from core.clock import FrozenClock
from core.commands import ActOnTicket, OpenTicket
from core.i18n import Locale
from core.ticket import ChannelRef
from core.workflow import Action
from storage.tables import card_refs
from tests.dbs import fresh_database
from tests.e2e.harness import service_config
from tests.fakes.channel import ReachesNobody


@dataclass
class SingleUseCodes(ReachesNobody):
    """A channel like WeCom: every post or update answers a code that the next update spends."""

    name: str = "codes"
    issued: int = 0
    spent: list[Mapping[str, Any] | None] = field(default_factory=list)

    def routes(self) -> list[web.AbstractRouteDef]:
        return []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def _code(self) -> dict[str, Any]:
        self.issued += 1
        return {"response_code": f"rc-{self.issued}"}

    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        return MessageRef(self.name, where.conversation or "", "m1", state=self._code())

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> Mapping[str, Any]:
        self.spent.append(ref.state)
        return self._code()

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        return None


World = tuple[Services, SingleUseCodes, Dispatcher, FrozenClock]


@pytest.fixture(params=["sqlite", "pg"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    clock = FrozenClock()
    async with fresh_database(request.param, tmp_path) as url:
        services = await build(service_config(url), clock=clock)
        await services.writer.start()
        channel = SingleUseCodes()
        dispatcher = Dispatcher(
            services.engine,
            services.writer,
            {channel.name: channel},
            services.service.ctx,
            clock,
            services.metrics,
        )
        try:
            yield services, channel, dispatcher, clock
        finally:
            await services.writer.stop()
            await services.engine.dispose()


async def _stored(services: Services) -> list[Any]:
    async with services.engine.connect() as conn:
        return list((await conn.execute(sa.select(card_refs.c.state))).scalars())


async def test_each_update_gets_the_state_the_last_post_or_update_left(world: World) -> None:
    services, channel, dispatcher, clock = world
    done = await services.service.submit(
        OpenTicket("it", "Printer jammed", "zhao.li", ChannelRef("codes", "room-1"))
    )
    key = str(done.value.key)
    await dispatcher.run_once()
    assert await _stored(services) == [{"response_code": "rc-1"}]

    for action in (Action.ACCEPT, Action.START):
        await services.service.submit(ActOnTicket(key, action, "li.lei", ChannelRef("api")))
        clock.advance(timedelta(seconds=1))
        await dispatcher.run_once()

    # each code is spent once, by the update that followed it
    assert channel.spent == [{"response_code": "rc-1"}, {"response_code": "rc-2"}]
    assert await _stored(services) == [{"response_code": "rc-3"}]
