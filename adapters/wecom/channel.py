"""The WeCom channel: the smart robot (groups, long connection), the company app (1:1 cards
that update for 72 h, encrypted callbacks at /wecom/callback) and group-robot webhooks.

Conversations are written `robot:group:<chatid>`, `robot:single:<userid>`, `app:<userid>` and
`hook:<name>`, so one channel serves all three paths. Inbound: commit first, then answer (the
app's 200 within WeCom's 5 s; a robot click's card replacement within its 5 s); everything
else goes through the outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

from adapters.contract import (
    Capabilities,
    CardRenderer,
    CardState,
    DeliveryError,
    MessageRef,
    PlatformCalls,
    Quota,
)
from adapters.kit.callbacks import CallbackRejected
from adapters.kit.conversation import ChatIntake
from adapters.kit.locale import recipient_locale
from adapters.kit.pages import ticket_page
from adapters.kit.texts import NOT_RECORDED
from adapters.ports import Cards, Commands, Conversations, Files, InboundFile, People
from adapters.wecom import told
from adapters.wecom.app_cards import AppCards
from adapters.wecom.callback import CallbackCrypto
from adapters.wecom.client import AppClient, Http, Webhooks
from adapters.wecom.config import WeComSettings
from adapters.wecom.inbound import (
    Click,
    Event,
    FileRef,
    Message,
    PayloadError,
    Unreadable,
    app_callback,
    robot_event,
    robot_message,
)
from adapters.wecom.intake import NotRecorded, WeComIntake
from adapters.wecom.media import download
from adapters.wecom.people import CHANNEL, WeComPeople
from adapters.wecom.quotas import quotas
from adapters.wecom.render import (
    TEXTS,
    UNREADABLE,
    escape,
    markdown_card,
    markdown_message,
    new_task_id,
    split_conversation,
    status_line,
    template_card,
)
from adapters.wecom.robot import RobotConnection
from core.card import Card
from core.clock import Clock
from core.i18n import Locale
from core.people import Person, display_name
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.wecom")

CALLBACK_PATH = "/wecom/callback"
CLICK_WINDOW_S = 5.0
Send = Callable[[dict[str, Any]], Awaitable[None]]
REPLACED = 10_000  # robot cards a click replaced, kept until their card's update goes out


class WeComPorts(Commands, People, Cards, Conversations, Files, Protocol):
    """What WeCom asks of the bot."""


class WeComChannel:
    name = CHANNEL
    capabilities = Capabilities(update_in_place=True)

    @property
    def platform_calls(self) -> PlatformCalls:
        return self.http.calls

    def __init__(self, settings: WeComSettings, gateway: WeComPorts, clock: Clock) -> None:
        self.settings = settings
        self.gateway = gateway
        self.clock = clock
        self.http = Http()
        app = settings.app
        self.app = (
            AppClient(self.http, app.api_base_url, app.corp_id, app.secret, app.agent_id)
            if app
            else None
        )
        self.crypto = (
            CallbackCrypto(app.token, app.encoding_aes_key, app.corp_id, app.callback_window_s)
            if app
            else None
        )
        self.webhooks = Webhooks(
            self.http, {n: settings.webhook_url(v) for n, v in settings.group_webhooks.items()}
        )
        self.people = WeComPeople(gateway, self.app, settings.configured, settings.locale)
        self.intake = WeComIntake(
            gateway,
            self.people,
            dict(settings.help_desk_chats),
            settings.default_ticket_type,
            ChatIntake(CHANNEL, gateway, clock),
            settings.base_url,
        )
        robot = settings.robot
        self.robot = (
            RobotConnection(
                robot.ws_url,
                robot.bot_id,
                robot.secret,
                self._on_frame,
                heartbeat_s=robot.heartbeat_s,
            )
            if robot
            else None
        )
        self.app_cards = AppCards(self.app) if self.app else None
        # robot task_id -> what a click's replacement showed (told.seen), for the update after it
        self._replaced: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._clicking: dict[str, asyncio.Event] = {}

    # ---- lifecycle ------------------------------------------------------------------------
    def routes(self) -> list[web.AbstractRouteDef]:
        if self.crypto is None:
            return []
        return [web.get(CALLBACK_PATH, self._verify_url), web.post(CALLBACK_PATH, self._callback)]

    async def start(self) -> None:
        if self.robot is not None:
            await self.robot.start()

    async def stop(self) -> None:
        if self.robot is not None:
            await self.robot.stop()
        await self.http.close()

    # ---- Reach ----------------------------------------------------------------------------
    def direct_ref(self, person: Person) -> ChannelRef | None:
        userid = person.identities.get(CHANNEL)
        conv = self._direct(userid) if userid else None
        return ChannelRef(CHANNEL, conv) if conv else None

    def _direct(self, userid: str) -> str | None:
        """A person's own conversation: the app's 1:1, else the robot's (None: neither runs)."""
        if self.app is not None:
            return f"app:{userid}"
        return f"robot:single:{userid}" if self.robot is not None else None

    def is_direct(self, where: ChannelRef) -> bool:
        return (where.conversation or "").startswith(("app:", "robot:single:"))

    def team_room(self, team_id: str) -> ChannelRef | None:
        if team_id in self.webhooks.urls:
            return ChannelRef(CHANNEL, f"hook:{team_id}")
        return None

    # ---- the company app's callbacks ------------------------------------------------------
    async def _verify_url(self, request: web.Request) -> web.Response:
        assert self.crypto is not None
        try:
            plain = self.crypto.verify_url(request.query, self._now())
        except CallbackRejected as exc:
            return _refuse(exc)
        return web.Response(text=plain)

    async def _callback(self, request: web.Request) -> web.Response:
        assert self.crypto is not None
        body = await request.read()  # already read (within its deadline) by the middleware
        try:
            root = self.crypto.open(request.query, body, self._now())
            inbound = app_callback(root)
        except CallbackRejected as exc:
            return _refuse(exc)
        except PayloadError as exc:
            return web.Response(status=400, text=str(exc))
        if isinstance(inbound, Message):
            where = ChannelRef(CHANNEL, f"app:{inbound.userid}", message=inbound.msgid)
            await self.intake.message(inbound, where)
        elif isinstance(inbound, Click):
            if inbound.response_code and self.app_cards is not None:
                self.app_cards.keep_code(inbound.task_id, inbound.response_code)
            where = ChannelRef(CHANNEL, f"app:{inbound.userid}", message=inbound.task_id)
            await self.intake.click(inbound, where)
        elif inbound.kind.startswith("message:"):  # an image, a voice message, a video...
            await self.gateway.notify(ChannelRef(CHANNEL, f"app:{inbound.userid}"), UNREADABLE)
        else:
            log.debug("wecom app event ignored", extra={"event": inbound.kind})
        return web.Response(text="")  # empty 200: received, no passive reply

    # ---- the smart robot's frames ---------------------------------------------------------
    async def _on_frame(self, frame: dict[str, Any]) -> None:
        cmd = frame.get("cmd")
        body = frame.get("body")
        req_id = str((frame.get("headers") or {}).get("req_id", ""))
        if not isinstance(body, dict):
            return
        try:
            if cmd == "aibot_msg_callback":
                await self._robot_message(robot_message(body), req_id)
            elif cmd == "aibot_event_callback":
                inbound = robot_event(body)
                if isinstance(inbound, Click):
                    await self._robot_click(inbound, req_id)
                else:
                    await self._robot_event(inbound, req_id)
        except PayloadError as exc:
            log.info("wecom smart robot frame ignored", extra={"reason": str(exc)})

    async def _robot_message(self, msg: Message | Unreadable, req_id: str) -> None:
        """Commit, then answer; the robot never sends a message again, so its sender is told
        when it could not be read or could not be recorded."""
        if isinstance(msg, Unreadable):
            log.info("wecom smart robot message unreadable", extra={"msgtype": msg.msgtype})
            await self._reply(req_id, msg.userid, UNREADABLE)
            return
        conv = f"robot:group:{msg.chatid}" if msg.chatid else f"robot:single:{msg.userid}"
        msg = dataclasses.replace(msg, msgid=f"robot:{msg.msgid}")
        where = ChannelRef(CHANNEL, conv, message=msg.msgid)
        try:
            await self.intake.message(msg, where, self._download)
        except NotRecorded:
            log.exception("wecom smart robot message not recorded", extra={"msgid": msg.msgid})
            await self._reply(req_id, msg.userid, NOT_RECORDED)

    async def _reply(self, req_id: str, userid: str, text: Mapping[Locale, str]) -> None:
        """Answer a message in its own chat, in the sender's language (a finished stream: the
        reply WeCom shows under the message it answers)."""
        content = text.get(self._locale(f"robot:single:{userid}")) or text.get("en") or ""
        stream = {"id": uuid.uuid4().hex, "finish": True, "content": content}
        body = {"msgtype": "stream", "stream": stream}
        try:
            await self._robot().request("aibot_respond_msg", body, req_id=req_id)
        except DeliveryError as exc:
            log.warning("wecom smart robot reply failed", extra={"error": str(exc)})

    async def _robot_click(self, click: Click, req_id: str) -> None:
        """Act, then replace the card with the ticket's state now (WeCom allows 5 s)."""
        done = self._clicking.setdefault(click.task_id, asyncio.Event())
        try:
            conv = f"robot:group:{click.chatid}" if click.chatid else f"robot:single:{click.userid}"
            await self.intake.click(click, ChannelRef(CHANNEL, conv, message=click.task_id))
            card = await self.gateway.card(click.ticket_key, self._locale(conv))
            if card is None or self.robot is None:
                return
            update = {
                "response_type": "update_template_card",
                "template_card": template_card(card, click.task_id, choose=True),
            }
            await self.robot.request("aibot_respond_update_msg", update, req_id=req_id)
            self._remember_replaced(click.task_id, card)
        finally:
            done.set()
            self._clicking.pop(click.task_id, None)

    async def _robot_event(self, event: Event, req_id: str) -> None:
        if event.kind == "enter_chat" and self.robot is not None:
            locale = self._locale(f"robot:single:{event.userid}")
            text = (
                TEXTS["welcome"]
                .get(locale)
                .format(bot="工单助手" if locale == "zh-CN" else "Gongdan")
            )
            reply = {"msgtype": "text", "text": {"content": text}}
            await self.robot.request("aibot_respond_welcome_msg", reply, req_id=req_id)
            return
        log.debug("wecom smart robot event not handled", extra={"event": event.kind})

    async def _download(self, ref: FileRef) -> InboundFile:
        return await download(self.http, ref, self.settings.max_attachment_bytes)

    def _remember_replaced(self, task_id: str, card: Card) -> None:
        self._replaced[task_id] = dict(told.newest(self._replaced.get(task_id), told.seen(card)))
        self._replaced.move_to_end(task_id)
        while len(self._replaced) > REPLACED:
            self._replaced.popitem(last=False)

    # ---- outbound (called by the outbox dispatcher) ---------------------------------------
    def quotas(self, kind: str, conversation: str) -> tuple[Quota, ...]:
        """WeCom's documented limits this send counts against (none for the smart robot)."""
        return quotas(kind, conversation) if self.settings.keep_quotas else ()

    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        conv = where.conversation or ""
        card = cards(self._locale(conv))
        kind, target = split_conversation(conv)
        if kind == "app":
            return await self._app_cards().post(conv, target, card)
        if kind == "hook":
            await self.webhooks.send(
                target, markdown_message(markdown_card(card, self._link(card)))
            )
            return MessageRef(CHANNEL, conv, f"hook-{uuid.uuid4().hex}", state=told.seen(card))
        task_id = new_task_id(card)
        await self._robot().request(
            "aibot_send_msg",
            {
                "chatid": target,
                "msgtype": "template_card",
                "template_card": template_card(card, task_id, choose=True),
            },
        )
        return MessageRef(CHANNEL, conv, task_id, state=told.seen(card))

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> CardState | None:
        card = cards(self._locale(ref.conversation))
        kind, target = split_conversation(ref.conversation)
        if kind == "app":
            return await self._app_cards().update(ref, target, card, dict(ref.state or {}))
        if kind == "hook":
            return await self._tell(ref.state, card, lambda m: self.webhooks.send(target, m))
        # the robot can replace its card only in answer to a click: after one, the card already
        # shows what the click did; otherwise the chat hears a change in one line
        clicking = self._clicking.get(ref.message)
        if clicking is not None:
            await asyncio.wait_for(clicking.wait(), CLICK_WINDOW_S)
        replaced = self._replaced.get(ref.message)
        last = told.newest(ref.state, replaced)

        async def say(line: dict[str, Any]) -> None:
            await self._robot().request("aibot_send_msg", {"chatid": target, **line})

        news = await self._tell(last, card, say)
        self._replaced.pop(ref.message, None)
        if news is None and last is replaced:
            return replaced  # kept with the card: what the click showed is what the chat saw
        return news

    async def _tell(self, last: CardState | None, card: Card, send: Send) -> CardState | None:
        """One line when the chat's last word on the ticket is out of date; returns what it
        was told then (None: nothing said, nothing to store)."""
        if not told.out_of_date(last or {}, card):
            return None
        who = told.assignee(card)
        name = display_name(self.gateway.directory, who, card.locale)
        await send(markdown_message(status_line(card, name)))
        return told.seen(card)

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        conv = where.conversation or ""
        if ephemeral_to is not None:
            # WeCom has no message only one person in a group sees: tell them directly
            direct = self._direct(self._userid(ephemeral_to))
            if direct is None:
                raise DeliveryError("no direct way to reach this WeCom user", permanent=True)
            conv = direct
        chosen = text.get(self._locale(conv)) or text.get("en") or ""
        kind, target = split_conversation(conv)
        if kind == "app":
            data = await self._app().send(target, {"msgtype": "text", "text": {"content": chosen}})
            return MessageRef(CHANNEL, conv, str(data.get("msgid", "")))
        # a webhook and the robot take markdown; the text is plain (a relayed comment, a
        # notice with a title in it): kept as typed
        shown = escape(chosen)
        if kind == "hook":
            await self.webhooks.send(target, markdown_message(shown))
            return None
        await self._robot().request("aibot_send_msg", {"chatid": target, **markdown_message(shown)})
        return None

    def _locale(self, conversation: str) -> Locale:
        kind, target = split_conversation(conversation)
        if kind in ("app", "robot:single"):
            directory = self.gateway.directory
            return recipient_locale(directory, CHANNEL, target, self.settings.locale)
        return self.settings.locale

    def _userid(self, who: str) -> str:
        person = self.gateway.directory.person(who)
        if person is not None:
            return person.identities.get(CHANNEL) or who
        return who

    def _link(self, card: Card) -> str:
        """The ticket's web page (its card in the web chat), not the REST API, which would ask
        a reader for an API token."""
        base = self.settings.base_url
        return ticket_page(base, card.ticket_key) if base else ""

    def _app(self) -> AppClient:
        if self.app is None:
            raise DeliveryError("channels.wecom.app is not configured", permanent=True)
        return self.app

    def _app_cards(self) -> AppCards:
        if self.app_cards is None:
            raise DeliveryError("channels.wecom.app is not configured", permanent=True)
        return self.app_cards

    def _robot(self) -> RobotConnection:
        if self.robot is None:
            raise DeliveryError("channels.wecom.robot is not configured", permanent=True)
        return self.robot

    def _now(self) -> float:
        return self.clock.now().timestamp()


def _refuse(exc: CallbackRejected) -> web.Response:
    log.info("wecom callback refused", extra={"status": exc.status, "reason": exc.reason})
    return web.Response(status=exc.status, text=exc.reason)
