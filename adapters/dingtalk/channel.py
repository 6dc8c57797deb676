"""The DingTalk channel: robot messages in over Stream mode (or as signed HTTP callbacks at
/dingtalk/callback), interactive cards (or markdown messages) out, DING for urgent escalations
at night.

Outbound calls come from the outbox dispatcher and raise DeliveryError. With a card template,
a ticket's card in a conversation is one card instance (outTrackId from ticket + audience)
created with createAndDeliver and updated in place with PUT /v1.0/card/instances; its
outTrackId is the card's stored state. Without one, cards are actionCard messages whose
button opens the ticket's web page, and a change is a new message.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters.contract import (
    Capabilities,
    CardRenderer,
    CardState,
    DeliveryError,
    MessageRef,
    PlatformCalls,
)
from adapters.dingtalk.callback import CallbackVerifier
from adapters.dingtalk.client import DingTalkClient
from adapters.dingtalk.config import DingTalkSettings
from adapters.dingtalk.errors import CardsRefused
from adapters.dingtalk.inbound import DingTalkPayloadError, parse_robot_message
from adapters.dingtalk.intake import DingTalkIntake
from adapters.dingtalk.people import CHANNEL, GROUP_PREFIX, DingTalkPeople, DingTalkReach
from adapters.dingtalk.render import action_card, card_params, notice_of, out_track_id
from adapters.dingtalk.stream import StreamClient
from adapters.kit.callbacks import CallbackRejected
from adapters.kit.conversation import ChatIntake
from adapters.kit.locale import recipient_locale
from adapters.kit.pages import ticket_page
from adapters.ports import Cards, Commands, Conversations, Files, People
from core.card import Card, CardKind
from core.clock import Clock
from core.i18n import Locale
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.dingtalk")

TEXT_MAX = 5_000
CALLBACK_PATH = "/dingtalk/callback"


class DingTalkPorts(Commands, People, Cards, Conversations, Files, Protocol):
    """What DingTalk asks of the bot."""


class DingTalkChannel(DingTalkReach):
    name = CHANNEL

    def __init__(
        self,
        settings: DingTalkSettings,
        ports: DingTalkPorts,
        clock: Clock,
        *,
        max_attachment_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self.settings = settings
        self.ports = ports
        self.clock = clock
        self.client = DingTalkClient(
            settings.client_id,
            settings.client_secret,
            settings.api_base_url,
            settings.oapi_base_url,
        )
        self.people = DingTalkPeople(self.client, ports, settings.people, settings.locale)
        self.intake = DingTalkIntake(
            settings,
            ports,
            self.client,
            self.people,
            max_attachment_bytes,
            self._locale,
            ChatIntake(CHANNEL, ports, clock),
            clock,
        )
        self.stream = StreamClient(self.client, self.intake.on_frame)
        self.verifier = CallbackVerifier(settings.client_secret)
        self._ding_refused = False  # a DING quota/edition error is reported once
        self._cards_refused = False  # DingTalk makes no cards for us: markdown instead

    @property
    def templated(self) -> bool:
        return self.settings.card_template_id is not None and not self._cards_refused

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            update_in_place=self.settings.card_template_id is not None,
            sends_per_second=self.settings.api_calls_per_second,
        )

    @property
    def platform_calls(self) -> PlatformCalls:
        return self.client.calls

    @property
    def http_mode(self) -> bool:
        return self.settings.mode == "http"

    # ---- lifecycle ---------------------------------------------------------------------
    def routes(self) -> list[web.AbstractRouteDef]:
        if not self.http_mode:
            return []
        return [web.post(CALLBACK_PATH, self._callback)]

    async def start(self) -> None:
        host = urlsplit(self.settings.base_url).hostname or ""
        if host == "localhost" or host == "::1" or host.startswith("127."):
            log.warning(
                "dingtalk: service.base_url points at this machine, so the links in DingTalk "
                "cards and answers would open on each reader's own device; set service.base_url "
                "(or GONGDAN_BASE_URL) to the address people's browsers reach",
                extra={"base_url": self.settings.base_url},
            )
        if self.settings.card_template_id is None:
            log.warning(
                "dingtalk: no card_template_id configured; cards are sent as markdown "
                "messages whose button opens the ticket's web page, and they are not updated "
                "in place (build the card template deploy/dingtalk/README.md describes and put "
                "its id in channels.dingtalk.card_template_id to get interactive cards)"
            )
        if self.http_mode:
            log.info(
                "dingtalk: HTTP mode; no Stream connection, so cards show no buttons (a ticket "
                "is acted on from its web page)",
                extra={"path": CALLBACK_PATH},
            )
            return
        self.stream.start()

    async def _callback(self, request: web.Request) -> web.Response:
        """A signed robot message: checked, committed, then answered 200 (DingTalk never sends
        it again, so a failed commit is told to the sender in the chat and answered 500)."""
        body = await request.read()  # already read (within its deadline) by the middleware
        try:
            data = self.verifier.open(request.headers, body, self.clock.now().timestamp() * 1000)
            message = parse_robot_message(data)
        except CallbackRejected as exc:
            log.info(
                "dingtalk callback refused", extra={"status": exc.status, "reason": exc.reason}
            )
            return web.json_response({"error": exc.reason}, status=exc.status)
        except DingTalkPayloadError as exc:
            log.info("dingtalk callback refused", extra={"status": 400, "reason": str(exc)})
            return web.json_response({"error": str(exc)}, status=400)
        code, _ = await self.intake.on_message(message)
        if code != 200:
            return web.json_response({"error": "the message was not recorded"}, status=code)
        return web.json_response({})

    async def stop(self) -> None:
        await self.stream.stop()
        await self.client.close()

    # ---- outbound ----------------------------------------------------------------------
    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        conversation = _conversation(where)
        card = cards(self._locale(conversation))
        if card.kind == CardKind.ESCALATION and self.is_direct(where) and self._night():
            await self._ding(conversation, card)
        if self.templated:
            try:
                return await self._post_instance(where, conversation, card)
            except CardsRefused as exc:
                self._cards_refused = True
                log.error(
                    "dingtalk interactive cards refused (the card template or the card "
                    "permission); cards go out as markdown messages, not updated in place, "
                    "until the service is restarted",
                    extra={"error": str(exc)},
                )
        data = await self._send(
            conversation, "sampleActionCard", action_card(card, self._page(card))
        )
        return MessageRef(CHANNEL, conversation, str(data.get("processQueryKey", "")))

    async def _post_instance(self, where: ChannelRef, conversation: str, card: Card) -> MessageRef:
        # one instance per post: a reminder by what it says, the ticket's card by the message
        # it answers (the one that opened it, a /status), the same on every retry
        asked = f"message:{where.message}" if where.message else ""
        track = out_track_id(card.ticket_key, conversation, notice_of(card) or asked)
        body: dict[str, Any] = {
            "cardTemplateId": self.settings.card_template_id or "",
            "outTrackId": track,
            "cardData": {"cardParamMap": self._params(card)},
            "callbackType": "STREAM",
            "userIdType": 1,
        }
        if conversation.startswith(GROUP_PREFIX):
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{conversation}"
            body["imGroupOpenSpaceModel"] = {"supportForward": True}
            body["imGroupOpenDeliverModel"] = {"robotCode": self.settings.robot_code}
        else:
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{conversation}"
            body["imRobotOpenSpaceModel"] = {"supportForward": True}
            body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT"}
        data = await self.client.call("POST", "/v1.0/card/instances/createAndDeliver", body)
        # the message carrying the card (a reply quoting it names this id); else the outTrackId
        message = _carrier(data) or track
        return MessageRef(CHANNEL, conversation, message, state={"outTrackId": track})

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> CardState | None:
        card = cards(self._locale(ref.conversation))
        track = (ref.state or {}).get("outTrackId")
        if not isinstance(track, str) or not track:
            # a markdown message cannot change: the new state is a new message
            await self._send(
                ref.conversation, "sampleActionCard", action_card(card, self._page(card))
            )
            return None
        body = {
            "outTrackId": track,
            "cardData": {"cardParamMap": self._params(card)},
            "cardUpdateOptions": {"updateCardDataByKey": True},
        }
        await self.client.call("PUT", "/v1.0/card/instances", body)
        return None

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        # DingTalk has no message only one group member sees: a private text goes 1:1
        conversation = self._staff(ephemeral_to) if ephemeral_to else _conversation(where)
        chosen = (text.get(self._locale(conversation)) or text.get("en") or "")[:TEXT_MAX]
        data = await self._send(conversation, "sampleText", {"content": chosen})
        return MessageRef(CHANNEL, conversation, str(data.get("processQueryKey", "")))

    async def _send(self, conversation: str, key: str, param: dict[str, str]) -> dict[str, Any]:
        return await self.client.robot_message(
            self.settings.robot_code,
            conversation,
            group=conversation.startswith(GROUP_PREFIX),
            key=key,
            param=param,
        )

    # ---- DING --------------------------------------------------------------------------
    def _night(self) -> bool:
        ding = self.settings.ding
        if not ding.enabled:
            return False
        hour = self.clock.now().astimezone(ZoneInfo(ding.timezone)).hour
        start, end = ding.night_start_hour, ding.night_end_hour
        return (hour >= start or hour < end) if start > end else start <= hour < end

    async def _ding(self, staff_id: str, card: Card) -> None:
        """An urgent alert on top of the 1:1 message; its failure never stops that message."""
        content = f"{card.ticket_key} {card.title} — {card.status_label}"
        if card.body:
            content += f"\n{card.body}"
        body = {
            "robotCode": self.settings.robot_code,
            "remindType": self.settings.ding.remind_type,
            "receiverUserIdList": [staff_id],
            "content": content[:1000],
        }
        try:
            await self.client.call("POST", "/v1.0/robot/ding/send", body)
        except DeliveryError as exc:
            if exc.permanent:
                if not self._ding_refused:
                    self._ding_refused = True
                    log.error(
                        "dingtalk DING refused (edition or SMS/phone quota); escalations "
                        "still go out as 1:1 messages",
                        extra={"error": str(exc)},
                    )
            else:
                log.warning("dingtalk DING failed", extra={"error": str(exc)})

    # ---- helpers -----------------------------------------------------------------------
    def _locale(self, conversation: str) -> Locale:
        if conversation.startswith(GROUP_PREFIX):
            return self.settings.locale
        return recipient_locale(self.ports.directory, CHANNEL, conversation, self.settings.locale)

    def _params(self, card: Card) -> dict[str, str]:
        # a press reaches the service only over Stream (callbackType STREAM)
        return card_params(card, self._page(card), buttons=not self.http_mode)

    def _page(self, card: Card) -> str:
        return ticket_page(self.settings.base_url, card.ticket_key)

    def _staff(self, who: str) -> str:
        if self.ports.directory.person(who) is None:
            return who  # already a staffId
        staff = self.people.staff_id_of(who)
        if staff is None:
            raise DeliveryError(f"{who!r} has no DingTalk identity", permanent=True)
        return staff


def _carrier(data: dict[str, Any]) -> str | None:
    """createAndDeliver's `deliverResults[].carrierId`: the id of the message showing the card."""
    result = data.get("result")
    delivered = result.get("deliverResults") if isinstance(result, dict) else None
    for item in delivered if isinstance(delivered, list) else []:
        if isinstance(item, dict) and item.get("success") and item.get("carrierId"):
            return str(item["carrierId"])
    return None


def _conversation(where: ChannelRef) -> str:
    if not where.conversation:
        raise DeliveryError("no DingTalk conversation to post in", permanent=True)
    return where.conversation
