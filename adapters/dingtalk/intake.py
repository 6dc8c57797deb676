"""What Gongdan does with each Stream frame: robot messages and card clicks → core commands,
committed before the frame is acked.

Dedupe keys (the `inbox` table): "msg:<msgId>" for robot messages, "click:<messageId>" for card
clicks. Robot messages are fire-and-forget (DingTalk never sends them again), so when the
commit fails the sender is told in the chat, through the message's sessionWebhook, that it was
not recorded. The conversation rules are the kit's (adapters.kit.intake).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from adapters.contract import DeliveryError
from adapters.dingtalk.client import DingTalkClient
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
from adapters.dingtalk.types import TOPIC_BOT_MESSAGE, TOPIC_CARD_CALLBACK
from adapters.kit.buttons import action_params
from adapters.kit.intake import committed_key, opens_ticket, remembered_key, title_from
from adapters.kit.texts import both
from adapters.ports import Commands, Files, InboundFile, InboundKey, Submitted, attachment_id
from core.commands import ActOnTicket, AddComment, Command, OpenTicket
from core.conversation import CommandName, mentioned_key, parse_command
from core.errors import DomainError, FormInvalid
from core.handlers.actions import ActResult
from core.i18n import Locale
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.dingtalk")

NOT_RECORDED: dict[Locale, str] = {
    "zh-CN": "抱歉，这条消息没有记录下来（服务器出错），请稍后再发一次。",
    "en": "Sorry, this message was not recorded (a server error); please send it again later.",
}
FORM_LINK: dict[Locale, str] = {
    "zh-CN": "请在网页上填写表单：{url}",
    "en": "Please fill in the form on the web: {url}",
}
Ack = tuple[int, Any]


class IntakePorts(Commands, Files, Protocol):
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
    ) -> None:
        self.settings = settings
        self.ports = ports
        self.client = client
        self.people = people
        self.max_attachment_bytes = max_attachment_bytes
        self.locale_of = locale_of  # the language of a staffId (theirs, else the channel's)

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
        conversation = msg.sender_staff_id if msg.direct else msg.conversation_id
        where = ChannelRef(CHANNEL, conversation, message=msg.msg_id)
        command_text = parse_command(msg.text)
        if command_text is not None and command_text.name is CommandName.NEW:
            await self._reply(
                msg, self._form_link(command_text.type_id or self.type_for(conversation))
            )
            return 200, {}
        help_desk = msg.conversation_id in self.settings.help_desk_groups
        if not opens_ticket(mentioned=msg.mentioned, direct=msg.direct, help_desk=help_desk):
            return 200, {}
        if not msg.text and not msg.files:
            return 200, {}
        person = await self.people.person(msg.sender_staff_id, msg.sender_nick)
        prefixes = frozenset(t.prefix for t in self.ports.ticket_types.values())
        key = mentioned_key(msg.text, prefixes)
        command: Command
        if key is not None:
            command = AddComment(key, person.id, msg.text, where)
        else:
            title = title_from(msg.text) or (msg.files[0].filename if msg.files else "")
            command = OpenTicket(
                type_id=self.type_for(conversation),
                title=title,
                description=msg.text,
                requester_id=person.id,
                origin=where,
            )
        done = await self._submit(command, msg, where)
        if done is not None and msg.files:
            ticket = committed_key(done)
            if ticket is not None:
                comment = msg.msg_id if isinstance(command, AddComment) else None
                await self._keep_files(msg, ticket, comment)
        return (200, {}) if done is not None else (500, {})

    async def _submit(
        self, command: Command, msg: RobotMessage, where: ChannelRef
    ) -> Submitted | None:
        inbound = InboundKey(CHANNEL, f"msg:{msg.msg_id}")
        try:
            return await self.ports.submit(command, inbound=inbound, respond=remembered_key)
        except FormInvalid:
            type_id = command.type_id if isinstance(command, OpenTicket) else ""
            await self._reply(msg, self._form_link(type_id))
        except DomainError as exc:
            await self.ports.notify(where, both(exc.message))
        except Exception:
            # the platform never resends a robot message: the sender must hear it was lost
            log.exception("dingtalk message not recorded", extra={"msg_id": msg.msg_id})
            await self._reply(msg, NOT_RECORDED)
        return None

    def _form_link(self, type_id: str) -> dict[Locale, str]:
        url = f"{self.settings.base_url.rstrip('/')}/?new={type_id}"
        return {loc: text.format(url=url) for loc, text in FORM_LINK.items()}

    async def _reply(self, msg: RobotMessage, text: dict[Locale, str]) -> None:
        """Answer in the message's conversation straight away (not through the outbox)."""
        locale = self.locale_of(msg.sender_staff_id)
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": text[locale]}}
        if not msg.direct:
            body["at"] = {"atUserIds": [msg.sender_staff_id]}
        try:
            await self.client.webhook(msg.session_webhook, body)
        except DeliveryError as exc:
            log.warning("dingtalk session reply failed", extra={"error": str(exc)})

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
        person = await self.people.person(click.user_id)
        origin = ChannelRef(CHANNEL, click.space_id or click.user_id, message=click.out_track_id)
        command = ActOnTicket(
            key=click.ticket_key,
            action=click.action,
            actor_id=person.id,
            origin=origin,
            params=action_params(click.action, click.value),
        )
        private = ChannelRef(CHANNEL, click.user_id)  # their 1:1 chat with the robot
        try:
            done = await self.ports.submit(
                command, inbound=InboundKey(CHANNEL, f"click:{message_id}"), respond=remembered_key
            )
        except DomainError as exc:
            await self.ports.notify(private, both(exc.message))
            return 200, {}
        result = done.value
        if isinstance(result, ActResult) and not result.changed and result.message:
            await self.ports.notify(private, both(result.message))
        return 200, {}
