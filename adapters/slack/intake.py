"""What Gongdan does with each Slack delivery: intakes -> core commands, committed before the ack.

Every listener runs to its end before bolt answers Slack (process_before_response), so an ack
means the ticket, comment or action is in the database. Dedupe keys: "msg:team:channel:ts" for
anything that is a message (a retry with the same event_id and a resend with a new one both hit
it). Clicks and modals are adapters/slack/interactivity.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from adapters.kit.conversation import ChatInbound
from adapters.kit.intake import committed_key, form_prefill, remembered_key, title_from
from adapters.ports import InboundKey
from adapters.slack.inbound import (
    Ignored,
    SlashCommand,
    classify_event,
    emoji_only,
    parse_message_shortcut,
    parse_slash_command,
    split_quick_create,
)
from adapters.slack.interactivity import Ack, Interactivity
from adapters.slack.links import permalink
from adapters.slack.modals import metadata, say, type_picker
from adapters.slack.people import CHANNEL
from core.commands import OpenTicket
from core.conversation import CommandName, mentioned_key, parse_command
from core.errors import DomainError, FormInvalid
from core.i18n import Locale
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.slack")


class SlackListeners(Interactivity):
    """Every Slack delivery: messages, /ticket and the message shortcut here, clicks and modals
    in Interactivity."""

    # ---- Events API: mentions, help-desk messages, DMs, thread replies -------------------
    async def on_event(self, body: dict[str, Any]) -> None:
        intake = classify_event(body, self.bot_user_id())
        if isinstance(intake, Ignored):
            log.debug("slack event ignored", extra={"reason": intake.reason})
            return
        team = self.intake.team_id
        if team and intake.team and intake.team != team:
            log.warning("slack event from another workspace ignored", extra={"team": intake.team})
            return
        key = InboundKey(CHANNEL, f"msg:{intake.team}:{intake.channel}:{intake.ts}")
        where = ChannelRef(CHANNEL, intake.channel, thread=intake.thread_ts, message=intake.ts)
        card_key = None
        if intake.is_reply and intake.thread_ts is not None:
            card_key = await self.gateway.ticket_for_message(
                CHANNEL, intake.channel, intake.thread_ts
            )
        help_desk = intake.channel in self.intake.help_desk_channels and not intake.is_reply
        if card_key is None and not (intake.mentioned or intake.is_direct or help_desk):
            return  # a channel's talk that is not for the bot: not even a command
        person = await self.people.person(intake.user)
        message = ChatInbound(
            person=person,
            where=where,
            # ":+1:" is small talk like "👍" (in a card's thread it is still a comment)
            text="" if card_key is None and emoji_only(intake.text) else intake.text,
            key=key,
            type_id=self.type_for(intake.channel),
            mentions_bot=intake.mentioned,
            direct=intake.is_direct,
            help_desk=help_desk,
            card_key=card_key,
            origin=self._linked(where, intake.ts, intake.thread_ts),
        )

        async def reply(text: Mapping[Locale, str], *, error: bool = False) -> None:
            await self.gateway.notify(where, text, ephemeral_to=intake.user)

        done = await self.chat.take(message, reply)
        if done.form is not None:
            # a message has no trigger to open a modal with: point at the slash command
            await reply(say_form_hint(done.form.type_id))

    # ---- /ticket ------------------------------------------------------------------------
    async def on_slash(self, command: dict[str, Any], ack: Ack) -> None:
        slash = parse_slash_command(command)
        types = self.gateway.ticket_types
        type_id, text = split_quick_create(slash.text, types)
        key = mentioned_key(text, frozenset(t.prefix for t in types.values())) if text else None
        if type_id is None and key is not None and text.strip().upper() == key:
            # `/ticket IT-1001`: a bare key means "show it", as in every chat
            await self._chat_command(slash, f"/status {key}", ack)
            return
        chat = parse_command("/" + text) if type_id is None and text else None
        if chat is not None and chat.name is CommandName.NEW and chat.type_id is None:
            text = ""  # `/ticket new` is `/ticket` alone: the type picker
        elif chat is not None and not chat.unknown:
            # `/ticket mine`, `/ticket status IT-1001`, `/ticket new purchase`: the chat
            # commands, answered privately; a form the command asks for opens as a modal
            await self._chat_command(slash, "/" + text, ack)
            return
        info = metadata(channel=slash.channel)
        if not text:
            ttype = types.get(type_id or "")
            if ttype is None and len(types) > 1:
                picker = type_picker(types.values(), self.reader_locale(slash.user), info)
                await self._open_view(slash.trigger_id, picker)
            else:
                ttype = ttype or next(iter(types.values()))
                await self._open_form(slash.trigger_id, ttype, {}, slash.channel, slash.user)
            await ack()
            return
        person = await self.people.person(slash.user)
        ttype = types[type_id or self.type_for(slash.channel)]
        open_ = OpenTicket(
            type_id=ttype.id,
            title=title_from(text),
            description=text,
            requester_id=person.id,
            origin=ChannelRef(CHANNEL, slash.channel),
        )
        try:
            done = await self.gateway.submit(
                open_,
                inbound=InboundKey(CHANNEL, f"cmd:{slash.trigger_id}"),
                respond=remembered_key,
            )
        except FormInvalid:
            # the type needs more than a sentence: show its form with what was typed
            prefill = form_prefill(open_.title, text)
            await self._open_form(slash.trigger_id, ttype, prefill, slash.channel, slash.user)
            await ack()
            return
        except DomainError as exc:
            await ack(text=exc.text(person.locale))
            return
        key = committed_key(done)
        # private, so in the reader's language (the workspace's is for what everyone sees)
        await ack(text=say("opened", key=str(key), title=open_.title)[person.locale])

    async def _chat_command(self, slash: SlashCommand, text: str, ack: Ack) -> None:
        person = await self.people.person(slash.user)
        said: list[Mapping[Locale, str]] = []

        async def reply(text: Mapping[Locale, str], *, error: bool = False) -> None:
            said.append(text)

        message = ChatInbound(
            person=person,
            where=ChannelRef(CHANNEL, slash.channel),
            text=text,
            key=InboundKey(CHANNEL, f"cmd:{slash.trigger_id}"),
            type_id=self.type_for(slash.channel),
        )
        done = await self.chat.take(message, reply)
        form = done.form
        if form is not None:
            ttype = self.gateway.ticket_types[form.type_id or self.type_for(slash.channel)]
            prefill = dict(form.prefill)
            await self._open_form(slash.trigger_id, ttype, prefill, slash.channel, slash.user)
        answer = "\n".join(t.get(person.locale) or t.get("en") or "" for t in said)
        if answer:
            await ack(text=answer)
        else:
            await ack()

    # ---- "Create ticket" on a message ---------------------------------------------------
    async def on_shortcut(self, body: dict[str, Any], ack: Ack) -> None:
        shortcut = parse_message_shortcut(body)
        if isinstance(shortcut, Ignored):
            await ack()
            return
        author = shortcut.message_user
        bot = self.bot_user_id()
        requester = await self.people.person(author if author and author != bot else shortcut.user)
        thread = shortcut.thread_ts or shortcut.message_ts
        where = ChannelRef(CHANNEL, shortcut.channel, thread=thread, message=shortcut.message_ts)
        command = OpenTicket(
            type_id=self.type_for(shortcut.channel),
            title=title_from(shortcut.message_text),
            description=shortcut.message_text,
            requester_id=requester.id,
            # the card goes to the message's thread; the link points at the message itself
            origin=self._linked(where, shortcut.message_ts, shortcut.thread_ts),
        )
        key = InboundKey(CHANNEL, f"msg:{shortcut.team}:{shortcut.channel}:{shortcut.message_ts}")
        done = await self._submit(command, key, where, shortcut.user)
        if done is not None:
            if done.duplicate:
                notice = say("already", key=str(done.response))
            else:
                notice = say("opened", key=remembered_key(done.value), title=command.title)
            await self.gateway.notify(where, notice, ephemeral_to=shortcut.user)
        await ack()

    # ---- helpers ------------------------------------------------------------------------
    def _linked(self, where: ChannelRef, ts: str, thread_ts: str | None) -> ChannelRef:
        """The ticket's origin: where, plus the permalink of the message the ticket came from."""
        link = permalink(self.workspace_url(), where.conversation, ts, thread_ts)
        return replace(where, link=link) if link else where


def say_form_hint(type_id: str | None) -> dict[Locale, str]:
    """/new typed as a message: Slack opens forms from the slash command only."""
    arg = f" {type_id}" if type_id else ""
    return {
        "en": f"To fill in a form, use /ticket{arg}. Or just describe the problem here.",
        "zh-CN": f"填写表单请使用 /ticket{arg}；也可以直接在这里描述问题。",
    }
