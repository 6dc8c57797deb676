"""The composition root: the one place that builds the real engine, writer, channels and app."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.contract import Channel, ChannelEnv, CountsCalls, HoldsSockets
from bot.channels import CHANNELS
from bot.clock import SystemClock
from bot.config import Config
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.flight import DispatchPolicy
from bot.delivery.notices import NoticeDispatcher, NoticeRouter
from bot.http.api import Api
from bot.http.api_input import BearerToken
from bot.http.app import Health, build_app
from bot.http.connections import ConnectionGuard, ConnectionLimits, GuardedSite, MalformedRequests
from bot.http.problems import BODY_TIMEOUT
from bot.logs import Throttle
from bot.metrics import CounterView, Gauge, Labels, Metrics
from bot.scheduler import Scheduler, SchedulerPolicy, schedule_from, scheduler_lock
from bot.service import TicketService
from core.clock import Clock
from core.people import Person
from core.ports import Context
from storage.attachments import AttachmentStore
from storage.checkpoint import WalCheckpointer, checkpointed_file
from storage.db import create_engine, reader
from storage.migrate import migrate, needs_migration
from storage.people import load_people, sync_people
from storage.timers import SchedulerLocked
from storage.workload import CachedTeamLoads
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
    scheduler: Scheduler | None = None
    checkpointer: WalCheckpointer | None = None

    async def start(self) -> None:
        if self.checkpointer is not None:
            await self.checkpointer.start()
        await self.writer.start()
        for channel in self.channels.values():
            await channel.start()
        await self.dispatcher.start()
        if self.scheduler is not None:
            await self.scheduler.start()

    async def stop(self) -> None:
        """Stop taking work, deliver what is due, flush the writer, close the database."""
        self.health.draining = True
        if self.scheduler is not None:
            await self.scheduler.stop()
        # deliver what is due while the channels' clients are still open, then close them
        await self.dispatcher.stop(drain_timeout=self.config.service.shutdown_timeout_s / 2)
        for channel in self.channels.values():
            await channel.stop()
        await self.service.close()
        await self.writer.stop()
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        await self.engine.dispose()


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


def _with_learned_identities(
    configured: Iterable[Person], stored: Iterable[Person]
) -> list[Person]:
    """Configured people who were linked on a channel the config says nothing about (a Slack
    user found by their e-mail) keep that link across restarts; the config wins wherever it
    names an identity, for that person or for anyone else."""
    configured = list(configured)
    named = {(ch, ext) for p in configured for ch, ext in p.identities.items()}
    before = {p.id: p for p in stored}
    kept = []
    for person in configured:
        old = before.get(person.id)
        extra = {
            ch: ext
            for ch, ext in (old.identities.items() if old else ())
            if ch not in person.identities and (ch, ext) not in named
        }
        if extra:
            kept.append(replace(person, identities={**extra, **person.identities}))
    return kept


def _without(person: Person, named: set[tuple[str, str]]) -> Person:
    """`person` without the identities the configuration gives to someone (sync_people has
    just moved them in the database too)."""
    kept = {ch: ext for ch, ext in person.identities.items() if (ch, ext) not in named}
    return person if kept == person.identities else replace(person, identities=kept)


async def build(config: Config, *, clock: Clock | None = None, migrate_db: bool = True) -> Services:
    clock = clock or SystemClock()
    await prepare_database(config.database.url, auto_migrate=migrate_db)
    try:
        lock = scheduler_lock(config.database.url)
    except SchedulerLocked as exc:
        raise StartupError(str(exc)) from None
    log_file = checkpointed_file(config.database.url)
    checkpointer = WalCheckpointer(log_file) if log_file is not None else None
    engine = create_engine(config.database.url, background_checkpoints=checkpointer is not None)
    directory = config.directory()
    configured = tuple(directory.people)  # the web chat's identity picker lists only these
    schedule = schedule_from(config, CachedTeamLoads(reader(engine), clock))
    ctx = Context(
        types=config.ticket_types(),
        directory=directory,
        clock=clock,
        schedule=schedule,
        conversation=config.conversation.rules(),
    )
    async with engine.begin() as conn:
        stored = await load_people(conn)
        for person in _with_learned_identities(directory.people, stored):
            directory.add(person)
        await sync_people(conn, directory.people)
    named = {(ch, ext) for p in directory.people for ch, ext in p.identities.items()}
    for learned in stored:  # people first met on a channel, less identities the config took
        if directory.person(learned.id) is None:
            directory.add(_without(learned, named))
    metrics = Metrics()
    dispatcher_ref: list[Dispatcher] = []
    writer = Writer(
        engine,
        clock=clock,
        on_outbox=lambda channels: dispatcher_ref[0].wake(channels) if dispatcher_ref else None,
        on_commit=_after_commit(metrics, checkpointer),
    )
    files = AttachmentStore(Path(config.attachments.dir), config.attachments.max_bytes)
    service = TicketService(reader(engine), writer, ctx, metrics, attachments=files)
    channels = _channels(config, service, directory.people, configured, clock)
    o = config.outbox
    policy = DispatchPolicy(
        max_attempts=o.max_attempts,
        base_backoff_s=o.base_backoff_s,
        max_backoff_s=o.max_backoff_s,
        rate_limits={str(k): v for k, v in o.rate_limits.items()},
        send_timeout_s=o.send_timeout_s,
    )
    dispatcher = NoticeDispatcher(reader(engine), writer, channels, ctx, clock, metrics, policy)
    dispatcher_ref.append(dispatcher)
    tokens = [BearerToken(t.name, t.token, t.person) for t in config.api.tokens]
    api = Api(service, tokens)
    health = Health(engine)
    metrics.gauges.append(
        Gauge(
            "gongdan_writer_queue",
            "Commands waiting for the next commit.",
            lambda: float(writer.queued),
        )
    )
    metrics.views.append(
        CounterView(
            "gongdan_platform_calls_total",
            "Calls to a chat platform's API, by channel, call and outcome "
            "(ok, throttled, refused, failed).",
            lambda: _platform_calls(channels.values()),
        )
    )

    async def close_sockets(_: web.Application) -> None:
        # aiohttp waits (up to shutdown_timeout_s, twice) for every open request before it
        # stops: a browser's socket would hold the shutdown that long
        for channel in channels.values():
            if isinstance(channel, HoldsSockets):
                await channel.close_sockets()

    app = build_app(api, channels.values(), health, metrics, on_shutdown=close_sockets)
    router = NoticeRouter(ctx, tuple(channels.values()))
    service.notice_router = router
    service.notice_hold = timedelta(seconds=o.notice_coalesce_s)
    scheduler = Scheduler(
        reader(engine),
        writer,
        ctx,
        router,
        clock=clock,
        policy=SchedulerPolicy(max_sleep_s=1.0),
        lock=lock,
    )
    return Services(
        config,
        engine,
        writer,
        service,
        dispatcher,
        channels,
        health,
        metrics,
        app,
        scheduler=scheduler,
        checkpointer=checkpointer,
    )


def _after_commit(metrics: Metrics, checkpointer: WalCheckpointer | None) -> Callable[[int], None]:
    if checkpointer is None:
        return metrics.batch_size.observe

    def committed(commands: int) -> None:
        metrics.batch_size.observe(commands)
        checkpointer.committed()

    return committed


def _platform_calls(channels: Iterable[Channel]) -> dict[Labels, float]:
    counts: dict[Labels, float] = {}
    for channel in channels:
        if isinstance(channel, CountsCalls):
            for (call, outcome), n in channel.platform_calls.counts.items():
                labels = (("call", call), ("channel", channel.name), ("outcome", outcome))
                counts[labels] = float(n)
    return counts


def _channels(
    config: Config,
    service: TicketService,
    people: list[Person],
    configured: tuple[Person, ...],
    clock: Clock,
) -> dict[str, Channel]:
    """Every configured, enabled channel, built by its own spec, in registry order."""
    env = ChannelEnv(
        ports=service,
        clock=clock,
        service_name=config.service.name,
        base_url=config.service.base_url,
        default_locale=config.service.default_locale,
        max_attachment_bytes=config.attachments.max_bytes,
        people=tuple(people),
        configured=configured,
    )
    channels: dict[str, Channel] = {}
    for spec in CHANNELS:
        section = config.channels.section(spec.name)
        if section is not None and section.enabled:
            channels[spec.name] = spec.build(section, env)
    return channels


async def listen(services: Services, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Start serving the app; returns the runner (for cleanup) and the base URL actually bound.

    Connections are capped and their first request head has a deadline (bot.connections); a
    request body has its own (bot.errors); an idle kept-alive connection is closed by aiohttp."""
    s = services.config.service
    services.app[BODY_TIMEOUT] = s.body_timeout_s
    runner = web.AppRunner(
        services.app,
        shutdown_timeout=s.shutdown_timeout_s,
        access_log=None,
        keepalive_timeout=s.keepalive_timeout_s,
        logger=MalformedRequests.install(logging.getLogger("gongdan.http.server"), Throttle(20)),
    )
    await runner.setup()
    assert runner.server is not None
    guard = ConnectionGuard(runner.server, ConnectionLimits(s.max_connections, s.header_timeout_s))
    site = GuardedSite(runner, host, port, guard)
    await site.start()
    sockname = runner.addresses[0]
    return runner, f"http://{sockname[0]}:{sockname[1]}"
