"""The built-in web chat: a group-chat page, a WebSocket per browser, cards updated in place.

Identity here is chosen on the page (it is the channel for trying Gongdan and for small offices
behind a trusted network); every action is still checked by core's permissions for that person.
Room history lives in memory; ticket cards are restored from their stored card refs on start.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path
from typing import Protocol

from aiohttp import WSCloseCode, web

from adapters.contract import Capabilities, CardRenderer, CardState, MessageRef
from adapters.ports import Downloads, Files
from adapters.webchat.files import FileRoutes
from adapters.webchat.handlers import FrameHandlers, FramePorts
from adapters.webchat.limits import Limits
from adapters.webchat.pump import pump
from adapters.webchat.rooms import (
    CHANNEL,
    Room,
    RoomHub,
    WebchatReach,
    WebchatSettings,
    team_rooms,
)
from core.clock import Clock
from core.i18n import Locale
from core.people import Person
from core.ticket import ChannelRef

__all__ = ["CHANNEL", "Limits", "Room", "WebchatChannel", "WebchatSettings"]


class WebchatPorts(FramePorts, Files, Downloads, Protocol):
    """What the web chat asks of the bot."""


# cards shown again per room after a restart
RESTORED_PER_ROOM = 50
# comments shown again under each restored card
RESTORED_PER_THREAD = 100


class WebchatChannel:
    name = CHANNEL
    capabilities = Capabilities(
        update_in_place=True, ephemeral=True, threads=False, native_forms=True, own_platform=True
    )

    def __init__(
        self,
        settings: WebchatSettings,
        gateway: WebchatPorts,
        clock: Clock,
        limits: Limits | None = None,
        *,
        max_attachment_bytes: int = 10 * 2**20,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.hub = RoomHub(settings, gateway.directory, limits, wall=clock.now)
        self.frames = FrameHandlers(settings, gateway, clock, self.hub)
        self.reach = WebchatReach(team_rooms(settings.rooms, gateway.ticket_types))
        self.files = FileRoutes(gateway, self.hub, max_attachment_bytes)
        self._static = Path(str(resources.files("adapters.webchat") / "static"))

    # ---- reach (notices) ------------------------------------------------------------------
    def direct_ref(self, person: Person) -> ChannelRef | None:
        return self.reach.direct_ref(person)

    def is_direct(self, where: ChannelRef) -> bool:
        return self.reach.is_direct(where)

    def team_room(self, team_id: str) -> ChannelRef | None:
        return self.reach.team_room(team_id)

    # ---- routes -------------------------------------------------------------------------
    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self._index),
            web.get("/webchat/bootstrap", self._bootstrap),
            web.get("/webchat/ws", self._ws),
            *self.files.routes(),
            web.static("/static", self._static),
        ]

    async def start(self) -> None:
        """Show each room's recent cards again, with the comments under them (room history
        lives in memory)."""
        keys: dict[str, None] = {}
        for ref, cards in await self.gateway.recent_cards(CHANNEL, RESTORED_PER_ROOM):
            key = self.hub.restore_card(ref, cards)
            if key is not None:
                keys[key] = None
        for key in keys:
            for n, comment in enumerate(await self.gateway.thread(key, RESTORED_PER_THREAD)):
                person = self.gateway.directory.person(comment.author_id)
                name = person.name.to_json() if person else {"en": comment.author_id}
                self.hub.add_comment(
                    key,
                    {"id": comment.author_id, "name": name},
                    comment.body,
                    channel=comment.channel.channel,
                    internal=not comment.public,
                    comment_id=f"s-{n}",
                    at=comment.created_at,
                )

    async def stop(self) -> None:
        await self.close_sockets()

    async def close_sockets(self) -> None:
        """Close every browser's socket (1001): they reconnect to whichever process serves next."""
        clients = list(self.hub.clients.values())
        await asyncio.gather(
            *(c.sender.close(WSCloseCode.GOING_AWAY, "server shutting down") for c in clients)
        )

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self._static / "index.html")

    async def _bootstrap(self, request: web.Request) -> web.Response:
        s = self.settings
        return web.json_response(
            {
                "service": {"name": s.service_name},
                "bot": {"name": s.bot_name.to_json()},
                "people": [
                    {
                        "id": p.id,
                        "name": p.name.to_json(),
                        "locale": p.locale,
                        "timezone": p.timezone,
                    }
                    for p in s.people
                ],
                "rooms": [
                    {
                        "id": r.id,
                        "name": r.name.to_json(),
                        "help_desk": r.help_desk,
                        "ticket_type": r.ticket_type,
                    }
                    for r in s.rooms
                ],
                "types": [
                    {"id": tt.id, "name": tt.name.to_json()}
                    for tt in self.gateway.ticket_types.values()
                ],
            }
        )

    # ---- websocket ----------------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        limits = self.hub.limits
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=limits.max_frame_bytes)
        await ws.prepare(request)
        client = self.hub.connect(ws, request.transport)
        try:
            await pump(ws, client, limits, self.frames.receive, self.frames.rate_notice)
        finally:
            await self.hub.disconnect(client)
        return ws

    # ---- outbound (called by the outbox dispatcher; none of them waits for a browser) -----
    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        return self.hub.post_card(where, cards)

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> CardState | None:
        self.hub.update_card(ref, cards)
        return None

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        return self.hub.post_text(where, text, ephemeral_to=ephemeral_to)
