"""WeCom messages and clicks -> core commands, committed before anything answers WeCom.

Thin on purpose: whether a message opens a ticket and its title come from the kit. Dedupe keys
(the inbox, in the database): the robot's `msgid`; the app's `MsgId`, or for events
`FromUserName` + `CreateTime` + `Event` (+ `TaskId` for a click).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from adapters.kit.buttons import action_params
from adapters.kit.intake import committed_key, opens_ticket, remembered_key, title_from
from adapters.kit.texts import both
from adapters.ports import Cards, Commands, Files, InboundFile, InboundKey, attachment_id
from adapters.wecom.inbound import Click, FileRef, Message
from adapters.wecom.people import CHANNEL, WeComPeople
from core.commands import ActOnTicket, OpenTicket
from core.errors import DomainError
from core.handlers.actions import ActResult
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.wecom")

Download = Callable[[FileRef], Awaitable[InboundFile]]
ATTACHMENT_TITLE = "附件 / Attachment"


class IntakePorts(Commands, Cards, Files, Protocol):
    """What WeCom's intake asks of the bot."""


class WeComIntake:
    def __init__(
        self,
        gateway: IntakePorts,
        people: WeComPeople,
        help_desk_chats: dict[str, str],
        default_ticket_type: str | None,
    ) -> None:
        self.gateway = gateway
        self.people = people
        self.help_desk_chats = help_desk_chats
        self.default_ticket_type = default_ticket_type

    def type_for(self, chatid: str | None) -> str:
        chosen = self.help_desk_chats.get(chatid or "")
        return chosen or self.default_ticket_type or next(iter(self.gateway.ticket_types))

    async def message(
        self, msg: Message, where: ChannelRef, download: Download | None = None
    ) -> str | None:
        """Open a ticket from a message; returns its key after commit (None: nothing opened)."""
        if not (msg.text or msg.files):
            return None
        if not opens_ticket(mentioned=msg.chatid is not None, direct=msg.direct):
            return None
        person = await self.people.person(msg.userid)
        command = OpenTicket(
            type_id=self.type_for(msg.chatid),
            title=title_from(msg.text) or ATTACHMENT_TITLE,
            description=msg.text,
            requester_id=person.id,
            origin=where,
        )
        inbound = InboundKey(CHANNEL, msg.msgid)
        try:
            done = await self.gateway.submit(command, inbound=inbound, respond=remembered_key)
        except DomainError as exc:
            await self.gateway.notify(where, both(exc.message))
            return None
        key = committed_key(done)
        if key and msg.files and download is not None:
            await self._keep_files(key, msg, download)
        return key

    async def click(self, click: Click, where: ChannelRef) -> ActResult | None:
        person = await self.people.person(click.userid)
        command = ActOnTicket(
            key=click.ticket_key,
            action=click.action,
            actor_id=person.id,
            origin=where,
            params=action_params(click.action, ""),
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

    async def _keep_files(self, key: str, msg: Message, download: Download) -> None:
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
            await self.gateway.store_attachments(key, files)
