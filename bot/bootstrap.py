"""The composition root: the one place that builds the real engine, writer, channels and app."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.base import Channel, MessageRef
from adapters.webchat.channel import Room, WebchatChannel, WebchatSettings
from bot.api import Api, ApiToken
from bot.app import Health, build_app
from bot.clock import SystemClock
from bot.config import Config
from bot.dispatcher import Dispatcher, DispatchPolicy, _Cards
from bot.metrics import Gauge, Metrics
from bot.service import TicketService
from core.clock import Clock
from core.i18n import as_locale
from core.ports import Context
from storage import outbox, queries
from storage.db import create_engine, reader
from storage.migrate import migrate, needs_migration
from storage.people import load_people, sync_people
from storage.writer import Writer

log = logging.getLogger("gongdan")


class StartupError(Exception):
    """The service cannot start; the message says what to do."""


@dataclass
class Services:
    config: Config
    engine: AsyncEngine
    writer: Writer
    service: TicketService
    dispatcher: Dispatcher
    channels: dict[str, Channel]
    health: Health
    metrics: Metrics
    app: web.Application
    extras: dict[str, Any] = field(default_factory=dict)

    async def start(self) -> None:
        await self.writer.start()
        for channel in self.channels.values():
            await channel.start()
        await self._restore_webchat()
        await self.dispatcher.start()

    async def stop(self) -> None:
        """Stop taking work, deliver what is due, flush the writer, close the database."""
        self.health.draining = True
        for channel in self.channels.values():
            await channel.stop()
        await self.dispatcher.stop(drain_timeout=self.config.service.shutdown_timeout_s / 2)
        await self.writer.stop()
        await self.engine.dispose()

    async def _restore_webchat(self) -> None:
        chat = self.channels.get("webchat")
        if not isinstance(chat, WebchatChannel):
            return
        async with reader(self.engine).connect() as conn:
            refs = await outbox.recent_card_refs(conn, "webchat", 50)
            for ref in reversed(refs):  # oldest first, as the room saw them
                ticket = await queries.ticket_by_id(conn, ref.ticket_id)
                if ticket is not None:
                    chat.restore_card(
                        MessageRef("webchat", ref.conversation, ref.message, ref.thread),
                        _Cards(ticket, self.service.ctx),
                    )


async def prepare_database(url: str, *, auto_migrate: bool = True) -> None:
    """Migrate an empty database; refuse to run on one that is behind (run `gongdan migrate`)."""
    if not await needs_migration(url):
        return
    if auto_migrate:
        await migrate(url)
        log.info("database schema created")
        return
    raise StartupError(
        "the database schema is behind this version: run `gongdan migrate --config FILE`"
    )


async def build(config: Config, *, clock: Clock | None = None, migrate_db: bool = True) -> Services:
    clock = clock or SystemClock()
    await prepare_database(config.database.url, auto_migrate=migrate_db)
    engine = create_engine(config.database.url)
    directory = config.directory()
    ctx = Context(types=config.ticket_types(), directory=directory, clock=clock)
    async with engine.begin() as conn:
        await sync_people(conn, directory.people)
        for learned in await load_people(conn):  # people first met on a channel
            if directory.person(learned.id) is None:
                directory.add(learned)
    metrics = Metrics()
    dispatcher_ref: list[Dispatcher] = []
    writer = Writer(
        engine, clock=clock, on_commit=lambda: dispatcher_ref[0].wake() if dispatcher_ref else None
    )
    service = TicketService(reader(engine), writer, ctx, metrics)
    channels: dict[str, Channel] = {}
    webchat = config.channels.webchat
    if webchat is not None and webchat.enabled:
        settings = WebchatSettings(
            service_name=config.service.name,
            bot_name=webchat.bot_name.text(),
            rooms=tuple(
                Room(
                    r.id,
                    r.name.text(),
                    r.help_desk,
                    r.ticket_type,
                    as_locale(r.locale) if r.locale else None,
                )
                for r in webchat.rooms
            ),
            people=tuple(directory.people),
        )
        channels["webchat"] = WebchatChannel(settings, service)
    o = config.outbox
    policy = DispatchPolicy(
        max_attempts=o.max_attempts,
        base_backoff_s=o.base_backoff_s,
        max_backoff_s=o.max_backoff_s,
        rate_limits={str(k): v for k, v in o.rate_limits.items()},
    )
    dispatcher = Dispatcher(reader(engine), writer, channels, ctx, clock, metrics, policy)
    dispatcher_ref.append(dispatcher)
    tokens = [ApiToken(t.name, t.token, t.person) for t in config.api.tokens]
    api = Api(service, tokens)
    health = Health(engine)
    metrics.gauges.append(
        Gauge(
            "gongdan_writer_queue",
            "Commands waiting for the next commit.",
            lambda: float(writer.queued),
        )
    )
    app = build_app(api, channels.values(), health, metrics)
    return Services(config, engine, writer, service, dispatcher, channels, health, metrics, app)


async def listen(services: Services, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Start serving the app; returns the runner (for cleanup) and the base URL actually bound."""
    runner = web.AppRunner(
        services.app, shutdown_timeout=services.config.service.shutdown_timeout_s, access_log=None
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    sockname = runner.addresses[0]
    return runner, f"http://{sockname[0]}:{sockname[1]}"
