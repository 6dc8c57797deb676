"""What Gongdan does with each Stream frame: robot messages and card clicks → core commands,
committed before the frame is acked.

Dedupe keys (the `inbox` table): "msg:<msgId>" for robot messages, "click:<messageId>" for card
clicks. Robot messages are fire-and-forget (DingTalk never sends them again), so when the
commit fails the sender is told in the chat, through the message's sessionWebhook, that it was
not recorded. What a message is and what follows from it (a ticket, a comment, nothing, a
command's answer) is the chat kit's (adapters.kit.conversation), as for every chat channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from adapters.contract import DeliveryError
from adapters.dingtalk.client import DingTalkClient, SessionExpired
from adapters.dingtalk.config import DingTalkSettings
from adapters.dingtalk.inbound import (
    CardClick,
    DingTalkPayloadError,
    Frame,
    RobotMessage,
    parse_card_click,
    parse_robot_message,
)
from adapters.dingtalk.people import CHANNEL, DingTalkPeople
from adapters.dingtalk.render import MENU_CLOSED, menu_params
from adapters.dingtalk.types import TOPIC_BOT_MESSAGE, TOPIC_CARD_CALLBACK
from adapters.kit.buttons import action_params
from adapters.kit.conversation import ChatInbound, ChatIntake
from adapters.kit.intake import files_text, remembered_key
from adapters.kit.pages import form_page
from adapters.kit.rooms import UnlistedGroups
from adapters.kit.texts import NOT_RECORDED, both, say
from adapters.ports import (
    Cards,
    Commands,
    Conversations,
    Files,
    InboundFile,
    InboundKey,
    attachment_id,
)
from core.clock import Clock
from core.commands import ActOnTicket
from core.conversation import Kind, mentioned_key, parse_command
from core.errors import DomainError
from core.handlers.actions import ActResult
from core.i18n import LOCALES, Locale, Text
from core.ticket import ChannelRef
from core.workflow import Action

log = logging.getLogger("gongdan.dingtalk")

TEXTS = {
    "comment.how": Text(
        "To comment on {key}, reply to its card quoting it (long-press the card → Reply), or"
        " write “{key} your comment” here.",
        "要评论 {key}，请引用这张卡片回复（长按卡片 → 回复），或在这里发送“{key} 评论内容”。",
    ),
}

FORM_LINK: dict[Locale, str] = {
    "zh-CN": "请在网页上填写表单：{url}",
    "en": "Please fill in the form on the web: {url}",
}
Ack = tuple[int, Any]
SESSION_MARGIN_MS = 5_000  # a session this close to its end is taken as over


class IntakePorts(Commands, Cards, Conversations, Files, Protocol):
    """What DingTalk's intake asks of the bot."""


class DingTalkIntake:
    def __init__(
        self,
        settings: DingTalkSettings,
        ports: IntakePorts,
        client: DingTalkClient,
        people: DingTalkPeople,
        max_attachment_bytes: int,
        locale_of: Callable[[str], Locale],
        chat: ChatIntake,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.ports = ports
        self.client = client
        self.people = people
        self.max_attachment_bytes = max_attachment_bytes
        self.locale_of = locale_of  # the language of a staffId (theirs, else the channel's)
        self.chat = chat  # robot messages go through the chat kit, like every chat channel
        self.clock = clock
        self._unlisted = UnlistedGroups(log, "channels.dingtalk.help_desk_groups")

    async def on_frame(self, frame: Frame) -> Ack:
        """The ack for a frame, sent only after what it carried is committed."""
        try:
            if frame.kind == "EVENT":
                # no org event is acted on yet: take it so DingTalk stops resending it
                log.debug("dingtalk event ignored", extra={"event_type": frame.event_type})
                return 200, {"status": "SUCCESS"}
            if frame.topic == TOPIC_BOT_MESSAGE:
                return await self.on_message(parse_robot_message(frame.data))
            if frame.topic == TOPIC_CARD_CALLBACK:
                return await self.on_click(parse_card_click(frame.data), frame.message_id)
        except DingTalkPayloadError as exc:
            log.warning("dingtalk payload refused", extra={"error": str(exc)})
            return 400, {"error": str(exc)}
        log.info("dingtalk callback on an unknown topic", extra={"topic": frame.topic})
        return 404, {}

    # ---- robot messages ----------------------------------------------------------------
    def type_for(self, conversation: str) -> str:
        chosen = self.settings.help_desk_groups.get(conversation)
        return chosen or self.settings.default_ticket_type or next(iter(self.ports.ticket_types))

    async def on_message(self, msg: RobotMessage) -> Ack:
        """Through the chat kit, like every chat channel: chatter makes nothing, a follow-up or
        a named key comments, a quote of a card comments on its ticket, commands answer."""
        conversation = msg.sender_staff_id if msg.direct else msg.conversation_id
        where = ChannelRef(CHANNEL, conversation, message=msg.msg_id)
        help_desk = not msg.direct and msg.conversation_id in self.settings.help_desk_groups
        if not msg.direct and not help_desk:
            self._unlisted.seen(msg.conversation_id, msg.conversation_title)
        text = msg.text or (
            files_text(["" if f.picture else f.filename for f in msg.files]) if msg.files else ""
        )
        is_command = parse_command(text) is not None

        async def reply(text: Mapping[Locale, str], *, error: bool = False) -> None:
            await self._answer(msg, text, in_chat=is_command)

        try:
            card_key = await self._quoted_card(msg, conversation)
            if card_key is None and not (msg.mentioned or msg.direct or help_desk):
                return 200, {}  # a group's talk that is not for the robot
            if not text:
                return 200, {}
            person = await self.people.sender(msg.sender_staff_id, msg.sender_nick)
            done = await self.chat.take(
                ChatInbound(
                    person=person,
                    where=where,
                    text=text,
                    key=InboundKey(CHANNEL, f"msg:{msg.msg_id}"),
                    type_id=self.type_for(conversation),
                    mentions_bot=msg.mentioned,
                    direct=msg.direct,
                    help_desk=help_desk,
                    card_key=card_key,
                ),
                reply,
            )
        except Exception:
            # the platform never resends a robot message: the sender must hear it was lost
            log.exception("dingtalk message not recorded", extra={"msg_id": msg.msg_id})
            await self._reply(msg, NOT_RECORDED, lost=True)
            return 500, {}
        if done.form is not None:
            type_id = done.form.type_id or self.type_for(conversation)
            await self._answer(msg, self._form_link(type_id), in_chat=True)
        if msg.files and done.ticket is not None and not done.duplicate:
            comment = msg.msg_id if done.kind is not Kind.NEW_TICKET else None
            await self._keep_files(msg, done.ticket, comment)
        return 200, {}

    async def _quoted_card(self, msg: RobotMessage, conversation: str) -> str | None:
        """The ticket of the card this message quotes: the card message's id as the dispatcher
        stored it (the delivery's carrierId, or a message's processQueryKey, which DingTalk
        names as the reply's originalProcessQueryKey), else the key a quoted robot message
        shows."""
        quoted = msg.quoted
        if quoted is None:
            return None
        for message in quoted.ids:
            key = await self.ports.ticket_for_message(CHANNEL, conversation, message)
            if key is not None:
                return key
        if quoted.from_robot:
            prefixes = frozenset(t.prefix for t in self.ports.ticket_types.values())
            return mentioned_key(quoted.text, prefixes)
        return None

    async def _answer(
        self, msg: RobotMessage, said: Mapping[Locale, str], *, in_chat: bool
    ) -> None:
        """A command's answer in a group goes to the group through the session webhook (at the
        sender); anything else — a 1:1's answers, a private word — 1:1 from the robot."""
        if in_chat and not msg.direct:
            await self._reply(msg, said)
        else:
            await self.ports.notify(ChannelRef(CHANNEL, msg.sender_staff_id), said)

    def _form_link(self, type_id: str) -> dict[Locale, str]:
        url = form_page(self.settings.base_url, type_id)
        return {loc: text.format(url=url) for loc, text in FORM_LINK.items()}

    async def _reply(
        self, msg: RobotMessage, text: Mapping[Locale, str], *, lost: bool = False
    ) -> None:
        """Answer in the message's conversation straight away, through its sessionWebhook (at
        the sender in a group). Once the session is over — its sessionWebhookExpiredTime has
        passed, or DingTalk says so — through the robot API instead (`_by_robot`)."""
        locale = self.locale_of(msg.sender_staff_id)
        content = text.get(locale) or text.get("en") or ""
        if self._session_open(msg):
            body: dict[str, Any] = {"msgtype": "text", "text": {"content": content}}
            if not msg.direct:
                body["at"] = {"atUserIds": [msg.sender_staff_id]}
            try:
                await self.client.webhook(msg.session_webhook, body)
                return
            except SessionExpired:
                log.info("dingtalk session webhook expired; answering through the robot API")
            except DeliveryError as exc:
                # it may have been shown (a timeout): sending it again could double it
                log.warning("dingtalk session reply failed", extra={"error": str(exc)})
                return
        await self._by_robot(msg, content, lost=lost)

    def _session_open(self, msg: RobotMessage) -> bool:
        if not msg.session_webhook:
            return False
        if not msg.session_expires_ms:
            return True  # no expiry given: DingTalk's answer tells
        now_ms = self.clock.now().timestamp() * 1000
        return now_ms < msg.session_expires_ms - SESSION_MARGIN_MS

    async def _by_robot(self, msg: RobotMessage, content: str, *, lost: bool) -> None:
        """The robot's own message to the group (naming the sender) or the person: an answer
        through the outbox like every send; the not-recorded notice at once, as the database
        it would be queued in may be what failed."""
        conversation = msg.sender_staff_id if msg.direct else msg.conversation_id
        if not msg.direct and msg.sender_nick:
            content = f"@{msg.sender_nick} {content}"
        if not lost:
            said = dict.fromkeys(LOCALES, content)  # already in the sender's language
            await self.ports.notify(ChannelRef(CHANNEL, conversation), said)
            return
        try:
            await self.client.robot_message(
                self.settings.robot_code,
                conversation,
                group=not msg.direct,
                key="sampleText",
                param={"content": content},
            )
        except DeliveryError as exc:
            log.warning("dingtalk not-recorded notice failed", extra={"error": str(exc)})

    async def _keep_files(self, msg: RobotMessage, ticket: str, comment: str | None) -> None:
        files: list[InboundFile] = []
        for index, f in enumerate(msg.files, start=1):
            try:
                data = await self.client.download(
                    self.settings.robot_code, f.download_code, self.max_attachment_bytes
                )
            except DeliveryError as exc:
                log.warning("dingtalk file not downloaded", extra={"error": str(exc)})
                continue
            file_id = attachment_id(CHANNEL, f"msg:{msg.msg_id}", index)
            size = len(data) if data else self.max_attachment_bytes + 1
            files.append(InboundFile(file_id, f.filename, "application/octet-stream", size, data))
        if files:
            await self.ports.store_attachments(ticket, files, comment_message=comment)

    # ---- card clicks -------------------------------------------------------------------
    async def on_click(self, click: CardClick, message_id: str) -> Ack:
        if click.action is None or not click.ticket_key:
            return 200, {}
        if click.menu:
            return 200, await self._menu(click)
        private = ChannelRef(CHANNEL, click.user_id)  # their 1:1 chat with the robot
        if click.action == Action.COMMENT:
            # the card has no text box: a reply quoting it is the comment
            await self.ports.notify(private, say(TEXTS, "comment.how", key=click.ticket_key))
            return 200, {}
        person = await self.people.person(click.user_id)
        origin = ChannelRef(CHANNEL, click.space_id or click.user_id, message=click.out_track_id)
        command = ActOnTicket(
            key=click.ticket_key,
            action=click.action,
            actor_id=person.id,
            origin=origin,
            params=action_params(click.action, click.value),
        )
        # a choice from a menu closes it, whatever came of it
        answer = _private(MENU_CLOSED) if click.value else {}
        try:
            done = await self.ports.submit(
                command, inbound=InboundKey(CHANNEL, f"click:{message_id}"), respond=remembered_key
            )
        except DomainError as exc:
            await self.ports.notify(private, both(exc.message))
            return 200, answer
        result = done.value
        if isinstance(result, ActResult) and not result.changed and result.message:
            await self.ports.notify(private, both(result.message))
        return 200, answer

    async def _menu(self, click: CardClick) -> dict[str, Any]:
        """Open or close an action's choices for the person who pressed it, in the card's
        answer: nothing is stored, nobody else sees it."""
        if click.menu != "open" or click.action is None:
            return _private(MENU_CLOSED)
        # shown to them alone: in their language
        card = await self.ports.card(click.ticket_key, self.locale_of(click.user_id))
        opened = menu_params(card, click.action) if card is not None else None
        return _private(opened if opened is not None else MENU_CLOSED)


def _private(params: Mapping[str, str]) -> dict[str, Any]:
    """A click's answer (the stream sends it as the ack's `response`) that changes the card for
    the person who clicked only."""
    return {
        "userPrivateData": {"cardParamMap": dict(params)},
        "cardUpdateOptions": {"updatePrivateDataByKey": True},
    }
