"""WeCom messages and clicks -> core commands, committed before anything answers WeCom.

What a message is and what follows from it (a ticket, a comment, nothing, a command's answer) is
the chat kit's (adapters.kit.conversation), as for every chat channel. Dedupe keys (the inbox,
in the database): the robot's `msgid`; the app's `MsgId`, or for events `FromUserName` +
`CreateTime` + `Event` (+ `TaskId` for a click). The robot's message frames carry no quote of
an earlier message, so a reply to a card is not recognised as one (a key in it still is).
A message whose commit fails raises `NotRecorded`: the app's callback is then answered 500
(WeCom sends it again), the robot's sender is told (the robot never sends it again).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from adapters.kit.buttons import action_params
from adapters.kit.conversation import ChatInbound, ChatIntake
from adapters.kit.intake import ATTACHMENT_TITLE, remembered_key
from adapters.kit.pages import form_page
from adapters.kit.rooms import UnlistedGroups
from adapters.kit.texts import both
from adapters.ports import (
    Cards,
    Commands,
    Conversations,
    Files,
    InboundFile,
    InboundKey,
    attachment_id,
)
from adapters.wecom.inbound import Click, FileRef, Message
from adapters.wecom.people import CHANNEL, WeComPeople
from core.commands import ActOnTicket
from core.conversation import Kind, parse_command
from core.errors import DomainError
from core.handlers.actions import ActResult
from core.i18n import LOCALES, Locale
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.wecom")

Download = Callable[[FileRef], Awaitable[InboundFile]]
BY_VOICE = "（语音消息，由企业微信转成文字 / a voice message, transcribed by WeCom）"
FORM_LINK: dict[Locale, str] = {
    "zh-CN": "请在网页上填写表单：{url}",
    "en": "Please fill in the form on the web: {url}",
}


class IntakePorts(Commands, Cards, Conversations, Files, Protocol):
    """What WeCom's intake asks of the bot."""


class NotRecorded(Exception):
    """A message could not be committed (the database failed): nothing of it was kept."""


class WeComIntake:
    def __init__(
        self,
        gateway: IntakePorts,
        people: WeComPeople,
        help_desk_chats: dict[str, str],
        default_ticket_type: str | None,
        chat: ChatIntake,
        base_url: str = "",
    ) -> None:
        self.gateway = gateway
        self.people = people
        self.help_desk_chats = help_desk_chats
        self.default_ticket_type = default_ticket_type
        self.chat = chat  # messages go through the chat kit, like every chat channel
        self.base_url = base_url
        self._unlisted = UnlistedGroups(log, "channels.wecom.help_desk_chats")

    def type_for(self, chatid: str | None) -> str:
        chosen = self.help_desk_chats.get(chatid or "")
        return chosen or self.default_ticket_type or next(iter(self.gateway.ticket_types))

    async def message(
        self, msg: Message, where: ChannelRef, download: Download | None = None
    ) -> str | None:
        """Through the chat kit: chatter makes nothing, a follow-up or a named key comments,
        commands answer. Returns the ticket the message opened or went to (None: none)."""
        text = msg.text or (ATTACHMENT_TITLE if msg.files else "")
        if not text:
            return None
        # the robot hears a group only when @-mentioned; every message it gets is for it
        help_desk = msg.chatid is not None and msg.chatid in self.help_desk_chats
        if msg.chatid is not None and not help_desk:
            self._unlisted.seen(msg.chatid)
        is_command = parse_command(text) is not None

        try:
            person = await self.people.person(msg.userid)

            async def reply(text: Mapping[Locale, str], *, error: bool = False) -> None:
                await self._answer(msg, where, text, person.locale, in_chat=is_command)

            done = await self.chat.take(
                ChatInbound(
                    person=person,
                    where=where,
                    text=text,
                    key=InboundKey(CHANNEL, msg.msgid),
                    type_id=self.type_for(msg.chatid),
                    mentions_bot=True,
                    direct=msg.direct,
                    help_desk=help_desk,
                    footer=BY_VOICE if msg.voice else "",
                ),
                reply,
            )
        except Exception as exc:
            raise NotRecorded(f"wecom message {msg.msgid} not recorded: {exc}") from exc
        if done.form is not None:
            type_id = done.form.type_id or self.type_for(msg.chatid)
            await self._answer(msg, where, self._form_link(type_id), person.locale, in_chat=True)
        if done.ticket is not None and not done.duplicate and msg.files and download is not None:
            comment = msg.msgid if done.kind is not Kind.NEW_TICKET else None
            await self._keep_files(done.ticket, msg, download, comment)
        return done.ticket

    async def _answer(
        self,
        msg: Message,
        where: ChannelRef,
        said: Mapping[Locale, str],
        locale: Locale,
        *,
        in_chat: bool,
    ) -> None:
        """A command's answer goes to the chat it was asked in, in the sender's language;
        anything else (a private word) to the sender alone, as WeCom has no message only one
        person in a group sees."""
        if msg.direct:
            await self.gateway.notify(ChannelRef(CHANNEL, where.conversation), said)
        elif in_chat:
            chosen = said.get(locale) or said.get("en") or ""
            text = dict.fromkeys(LOCALES, chosen)
            await self.gateway.notify(ChannelRef(CHANNEL, where.conversation), text)
        else:
            await self.gateway.notify(where, said, ephemeral_to=msg.userid)

    def _form_link(self, type_id: str) -> dict[Locale, str]:
        url = form_page(self.base_url, type_id)
        return {loc: text.format(url=url) for loc, text in FORM_LINK.items()}

    async def click(self, click: Click, where: ChannelRef) -> ActResult | None:
        person = await self.people.person(click.userid)
        command = ActOnTicket(
            key=click.ticket_key,
            action=click.action,
            actor_id=person.id,
            origin=where,
            params=action_params(click.action, click.value),
            seen_version=click.version,
        )
        try:
            done = await self.gateway.submit(
                command, inbound=InboundKey(CHANNEL, click.dedupe), respond=remembered_key
            )
        except DomainError as exc:
            # WeCom has no message only one person sees: the clicker is told in their own chat
            await self.gateway.notify(where, both(exc.message), ephemeral_to=click.userid)
            return None
        result = done.value if isinstance(done.value, ActResult) else None
        if result is not None and not result.changed and result.message:
            await self.gateway.notify(where, both(result.message), ephemeral_to=click.userid)
        return result

    async def _keep_files(
        self, key: str, msg: Message, download: Download, comment: str | None
    ) -> None:
        files: list[InboundFile] = []
        for index, ref in enumerate(msg.files, start=1):
            try:
                file = await download(ref)
            except Exception as exc:  # a file that cannot be fetched must not lose the ticket
                log.warning("wecom file download failed", extra={"error": str(exc)})
                continue
            files.append(
                InboundFile(
                    attachment_id(CHANNEL, msg.msgid, index),
                    file.filename,
                    file.content_type,
                    file.size,
                    file.data,
                )
            )
        if files:
            await self.gateway.store_attachments(key, files, comment_message=comment)
