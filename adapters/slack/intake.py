"""What Gongdan does with each Slack delivery: intakes -> core commands, committed before the ack.

Every listener runs to its end before bolt answers Slack (process_before_response), so an ack
means the ticket, comment or action is in the database. Dedupe keys: "msg:team:channel:ts" for
anything that is a message (a retry with the same event_id and a resend with a new one both hit
it), "act:..." for clicks and "view:<id>" for submitted modals.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from adapters.contract import DeliveryError
from adapters.kit.buttons import action_params
from adapters.kit.conversation import ChatInbound, ChatIntake
from adapters.kit.intake import committed_key, form_prefill, remembered_key, title_from
from adapters.kit.texts import both
from adapters.ports import Cards, Commands, Conversations, InboundKey
from adapters.slack.client import SlackClient
from adapters.slack.config import WorkspaceRouting
from adapters.slack.inbound import (
    ButtonClick,
    Ignored,
    SlackPayloadError,
    SlashCommand,
    classify_event,
    emoji_only,
    parse_block_actions,
    parse_message_shortcut,
    parse_slash_command,
    parse_view_submission,
    split_quick_create,
)
from adapters.slack.links import permalink
from adapters.slack.modals import (
    BODY_BLOCK,
    TYPE_BLOCK,
    comment_modal,
    metadata,
    read_metadata,
    say,
    type_picker,
)
from adapters.slack.people import CHANNEL, SlackPeople
from adapters.slack.render import form_errors, form_values, render_form
from core.commands import (
    ActOnTicket,
    AddComment,
    Command,
    OpenTicket,
)
from core.conversation import CommandName, parse_command
from core.errors import DomainError, FieldError, FormInvalid
from core.forms import FieldKind, TicketType
from core.handlers.actions import ActResult
from core.i18n import LOCALES, Locale
from core.ticket import ChannelRef
from core.workflow import Action

log = logging.getLogger("gongdan.slack")

Ack = Callable[..., Awaitable[Any]]


class ListenerPorts(Commands, Cards, Conversations, Protocol):
    """What Slack's listeners ask of the bot."""


class SlackListeners:
    def __init__(
        self,
        intake: WorkspaceRouting,
        gateway: ListenerPorts,
        client: SlackClient,
        people: SlackPeople,
        bot_user_id: Callable[[], str],
        workspace_url: Callable[[], str | None] = lambda: None,
        *,
        chat: ChatIntake,
    ) -> None:
        self.intake = intake
        self.gateway = gateway
        self.client = client
        self.people = people
        self.bot_user_id = bot_user_id
        # auth.test's url ("https://acme.slack.com/"): tickets link back to their message
        self.workspace_url = workspace_url
        # messages (help desk, mentions, DMs, thread replies) go through the chat kit
        self.chat = chat

    def type_for(self, channel: str | None) -> str:
        chosen = self.intake.help_desk_channels.get(channel or "")
        return chosen or self.intake.default_ticket_type or next(iter(self.gateway.ticket_types))

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

    # ---- buttons and selects on a card -------------------------------------------------
    async def on_block_action(self, body: dict[str, Any], ack: Ack) -> None:
        click = parse_block_actions(body)
        if isinstance(click, Ignored):
            await ack()
            return
        message = body.get("message")
        thread = message.get("thread_ts") if isinstance(message, Mapping) else None
        where = ChannelRef(
            CHANNEL,
            click.channel,
            thread=thread if isinstance(thread, str) else None,
            message=click.message_ts,
        )
        if click.action == Action.COMMENT:
            # the trigger expires 3 s after the click: open the modal before anything slower
            info = metadata(
                key=click.key, channel=click.channel, thread=where.thread, message=click.message_ts
            )
            await self._open_view(click.trigger_id, comment_modal(click.key, self.locale, info))
            await ack()
            return
        person = await self.people.person(click.user)
        command = ActOnTicket(
            key=click.key,
            action=click.action,
            actor_id=person.id,
            origin=where,
            params=action_params(click.action, str(click.value)),
            seen_version=click.version,
        )
        done = await self._submit(command, _click_key(body, click), where, click.user)
        result = done.value if done is not None else None
        if isinstance(result, ActResult) and not result.changed and result.message:
            await self.gateway.notify(where, both(result.message), ephemeral_to=click.user)
        await ack()

    # ---- /ticket ------------------------------------------------------------------------
    async def on_slash(self, command: dict[str, Any], ack: Ack) -> None:
        slash = parse_slash_command(command)
        types = self.gateway.ticket_types
        type_id, text = split_quick_create(slash.text, types)
        chat = parse_command("/" + text) if type_id is None and text else None
        if chat is not None and not chat.unknown and chat.name is not CommandName.NEW:
            # `/ticket mine`, `/ticket status IT-1001`: the chat commands, answered privately
            await self._chat_command(slash, "/" + text, ack)
            return
        info = metadata(channel=slash.channel)
        if not text:
            ttype = types.get(type_id or "")
            if ttype is None and len(types) > 1:
                await self._open_view(
                    slash.trigger_id, type_picker(types.values(), self.locale, info)
                )
            else:
                ttype = ttype or next(iter(types.values()))
                await self._open_form(slash.trigger_id, ttype, {}, slash.channel)
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
            await self._open_form(slash.trigger_id, ttype, prefill, slash.channel)
            await ack()
            return
        except DomainError as exc:
            await ack(text=exc.message)
            return
        key = committed_key(done)
        await ack(text=say("opened", key=str(key), title=open_.title)[self.locale])

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
        await self.chat.take(message, reply)
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

    # ---- modals -------------------------------------------------------------------------
    async def on_pick(self, body: dict[str, Any], ack: Ack) -> None:
        view, values = _view(body)
        info = read_metadata(str(view.get("private_metadata", "")))
        ttype = self.gateway.ticket_types.get(str(values.get(TYPE_BLOCK)))
        if ttype is None:
            await ack(response_action="errors", errors={TYPE_BLOCK: "?"})
            return
        form = self._form(ttype, {}, info.get("channel"))
        await ack(response_action="update", view=form)

    async def on_form(self, body: dict[str, Any], ack: Ack) -> None:
        submission = parse_view_submission(body)
        if isinstance(submission, Ignored):
            await ack()
            return
        info = read_metadata(submission.private_metadata)
        ttype = self.gateway.ticket_types.get(info.get("type", ""))
        values = dict(submission.values)
        title = str(values.pop("title", None) or "")
        description = str(values.pop("description", None) or "")
        person = await self.people.person(submission.user)
        channel = info.get("channel")
        command = OpenTicket(
            type_id=ttype.id if ttype else info.get("type", ""),
            title=title,
            description=description,
            requester_id=person.id,
            fields={k: v for k, v in values.items() if v not in (None, "", [])},
            origin=ChannelRef(CHANNEL, channel, message=f"view:{submission.view_id}"),
        )
        try:
            await self.gateway.submit(
                command,
                inbound=InboundKey(CHANNEL, f"view:{submission.view_id}"),
                respond=remembered_key,
            )
        except FormInvalid as exc:
            await ack(**form_errors(exc, _input_blocks(ttype)))
            return
        except DomainError as exc:
            await ack(**form_errors(FormInvalid([FieldError("title", "error", exc.message)])))
            return
        await ack()

    async def on_comment(self, body: dict[str, Any], ack: Ack) -> None:
        view, values = _view(body)
        info = read_metadata(str(view.get("private_metadata", "")))
        user = str((body.get("user") or {}).get("id", ""))
        person = await self.people.person(user)
        where = ChannelRef(
            CHANNEL, info.get("channel"), thread=info.get("thread"), message=info.get("message")
        )
        text = str(values.get(BODY_BLOCK) or "")
        command = AddComment(info.get("key", ""), person.id, text, where)
        try:
            done = await self.gateway.submit(
                command,
                inbound=InboundKey(CHANNEL, f"view:{view.get('id', '')}"),
                respond=remembered_key,
            )
        except DomainError as exc:
            await ack(response_action="errors", errors={BODY_BLOCK: exc.message[:150]})
            return
        if not done.duplicate and where.conversation:
            # comments are relayed to the other channels only; this one shows it in the thread
            shown = {
                loc: f"[{command.key}] {person.display(loc)}: {text.strip()}" for loc in LOCALES
            }
            await self.gateway.notify(where, shown)
        await ack()

    # ---- helpers ------------------------------------------------------------------------
    @property
    def locale(self) -> Locale:
        return self.intake.locale

    def _linked(self, where: ChannelRef, ts: str, thread_ts: str | None) -> ChannelRef:
        """The ticket's origin: where, plus the permalink of the message the ticket came from."""
        link = permalink(self.workspace_url(), where.conversation, ts, thread_ts)
        return replace(where, link=link) if link else where

    async def _submit(
        self,
        command: Command,
        key: InboundKey | None,
        where: ChannelRef,
        user: str,
        respond: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Commit the command; a refusal is explained to the user alone and changes nothing."""
        try:
            return await self.gateway.submit(
                command, inbound=key, respond=respond or remembered_key
            )
        except DomainError as exc:
            await self.gateway.notify(where, both(exc.message), ephemeral_to=user)
            return None

    async def _open_form(
        self, trigger_id: str, ttype: TicketType, prefill: dict[str, Any], channel: str | None
    ) -> None:
        await self._open_view(trigger_id, self._form(ttype, prefill, channel))

    def _form(
        self, ttype: TicketType, prefill: dict[str, Any], channel: str | None
    ) -> dict[str, Any]:
        info = metadata(type=ttype.id, channel=channel)
        return dict(render_form(ttype, self.locale, self.intake.people, prefill, info))

    async def _open_view(self, trigger_id: str, view: Mapping[str, Any]) -> None:
        try:
            await self.client.call("views.open", trigger_id=trigger_id, view=dict(view))
        except DeliveryError as exc:
            # an expired trigger cannot be retried; the user just runs the command again
            log.warning("views.open failed", extra={"error": str(exc)})


def say_form_hint(type_id: str | None) -> dict[Locale, str]:
    """/new typed as a message: Slack opens forms from the slash command only."""
    arg = f" {type_id}" if type_id else ""
    return {
        "en": f"To fill in a form, use /ticket{arg}. Or just describe the problem here.",
        "zh-CN": f"填写表单请使用 /ticket{arg}；也可以直接在这里描述问题。",
    }


def _view(body: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """A submitted view and its values by block id; SlackPayloadError when unreadable."""
    view = body.get("view")
    state = view.get("state") if isinstance(view, Mapping) else None
    values = state.get("values") if isinstance(state, Mapping) else None
    if not isinstance(view, Mapping) or not isinstance(values, Mapping):
        raise SlackPayloadError("view_submission payload has no view state")
    try:
        return view, form_values(values)
    except (AttributeError, TypeError, KeyError) as exc:
        raise SlackPayloadError(f"cannot read the view state: {exc}") from exc


def _click_key(body: Mapping[str, Any], click: ButtonClick) -> InboundKey | None:
    """A click is delivered once, but a resent payload carries the same action_ts."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else {}
    action_ts = first.get("action_ts") if isinstance(first, Mapping) else None
    if not isinstance(action_ts, str) or not action_ts:
        return None
    return InboundKey(CHANNEL, f"act:{click.team}:{click.user}:{click.message_ts}:{action_ts}")


def _input_blocks(ttype: TicketType | None) -> set[str]:
    fields = ttype.fields if ttype else ()
    return {"title", "description"} | {f.id for f in fields if f.kind != FieldKind.ATTACHMENT}
