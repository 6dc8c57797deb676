"""The aiohttp application: health, readiness, metrics, the REST API and every channel's routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.contract import Channel
from bot.http.api import Api
from bot.http.problems import error_middleware
from bot.metrics import Metrics

MAX_BODY = 1 * 1024 * 1024


class Health:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.draining = False

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        if self.draining:
            return web.json_response({"status": "draining"}, status=503)
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return web.json_response(
                {"status": "database unavailable", "detail": str(exc)[:200]}, status=503
            )
        return web.json_response({"status": "ready"})


def build_app(
    api: Api,
    channels: Iterable[Channel],
    health: Health,
    metrics: Metrics,
    on_shutdown: Callable[[web.Application], Awaitable[None]] | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware(metrics)],
        client_max_size=MAX_BODY,
        handler_args={"max_field_size": 16384},
    )

    async def metrics_view(request: web.Request) -> web.Response:
        return web.Response(
            text=metrics.render(),
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    app.add_routes(
        [
            web.get("/healthz", health.healthz),
            web.get("/readyz", health.readyz),
            web.get("/metrics", metrics_view),
            *api.routes(),
        ]
    )
    for channel in channels:
        app.add_routes(channel.routes())
    if on_shutdown is not None:
        app.on_shutdown.append(on_shutdown)
    return app
