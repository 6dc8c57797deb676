"""FakeWeCom: one aiohttp server on 127.0.0.1 serving both faces, over HTTP and over TLS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

from aiohttp import web

from core.clock import Clock
from tests.fakes.wecom.aibot import AiBotFace, serve_media
from tests.fakes.wecom.api import ApiFace
from tests.fakes.wecom.tls import server_context


class _WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(eq=False)
class FakeWeCom:
    """`async with FakeWeCom(clock=...) as wecom:` — `wecom.bot` and `wecom.api` are the faces.

    Two listeners on free ports share one app: plain (`base_url`, `ws_url`) and TLS
    (`https_url`, `wss_url`, certificate in `tests.fakes.wecom.tls`).
    """

    clock: Clock = field(default_factory=_WallClock)
    bot: AiBotFace = field(init=False)
    api: ApiFace = field(init=False)

    def __post_init__(self) -> None:
        self.bot = AiBotFace(self.clock)
        self.api = ApiFace(self.clock)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.tls_port = 0

    async def start(self) -> FakeWeCom:
        app = web.Application()
        app.router.add_get("/aibot", self.bot.handle)
        app.router.add_get("/aibot/media/{media_id}", self._media)
        app.router.add_routes(self.api.routes())
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        plain = web.TCPSite(self._runner, "127.0.0.1", 0)
        await plain.start()
        secure = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=server_context())
        await secure.start()
        self.port = self._runner.addresses[0][1]
        self.tls_port = self._runner.addresses[1][1]
        return self

    async def stop(self) -> None:
        await self.bot.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeWeCom:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _media(self, request: web.Request) -> web.Response:
        return await serve_media(self.bot, request)

    @property
    def base_url(self) -> str:
        """Use as the API base: f"{base_url}/cgi-bin/gettoken"."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/aibot"

    @property
    def wss_url(self) -> str:
        """Give this to the official SDK: WSClientOptions(ws_url=wecom.wss_url)."""
        return f"wss://127.0.0.1:{self.tls_port}/aibot"
