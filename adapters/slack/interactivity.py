"""Slack's interactivity: a card's buttons, and the modals they and /ticket open and submit.

Every listener runs to its end before bolt answers Slack, so an ack means the action, ticket or
comment is in the database. A modal must be opened within 3 s of its trigger, before anything
slower. Dedupe keys: "act:..." for clicks and "view:<id>" for submitted modals.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from adapters.contract import DeliveryError
from adapters.kit.buttons import action_params
from adapters.kit.conversation import ChatIntake
from adapters.kit.intake import remembered_key
from adapters.kit.texts import both
from adapters.ports import Cards, Commands, Conversations, InboundKey
from adapters.slack.client import SlackClient
from adapters.slack.config import WorkspaceRouting
from adapters.slack.inbound import (
    ButtonClick,
    Ignored,
    SlackPayloadError,
    parse_block_actions,
    parse_view_submission,
)
from adapters.slack.modals import BODY_BLOCK, TYPE_BLOCK, comment_modal, metadata, read_metadata
from adapters.slack.people import CHANNEL, SlackPeople
from adapters.slack.render import form_errors, form_values, render_form
from core.commands import ActOnTicket, AddComment, Command, OpenTicket
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


class Interactivity:
    """Clicks and modals: what Slack delivers with a trigger or a view, answered before the ack."""

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
            modal = comment_modal(click.key, self.reader_locale(click.user), info)
            await self._open_view(click.trigger_id, modal)
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

    # ---- modals -------------------------------------------------------------------------
    async def on_pick(self, body: dict[str, Any], ack: Ack) -> None:
        view, values = _view(body)
        info = read_metadata(str(view.get("private_metadata", "")))
        ttype = self.gateway.ticket_types.get(str(values.get(TYPE_BLOCK)))
        if ttype is None:
            await ack(response_action="errors", errors={TYPE_BLOCK: "?"})
            return
        form = self._form(ttype, {}, info.get("channel"), self.reader_locale(_user(body)))
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
            await ack(**form_errors(exc, person.locale, _input_blocks(ttype)))
            return
        except DomainError as exc:
            refusal = FieldError("title", "error", exc.text("en"), exc.text("zh-CN"))
            await ack(**form_errors(FormInvalid([refusal]), person.locale))
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

    # ---- shared --------------------------------------------------------------------------
    @property
    def locale(self) -> Locale:
        """The workspace's language: for what everyone in a channel sees."""
        return self.intake.locale

    def reader_locale(self, user: str) -> Locale:
        """The language of what one user alone sees (a modal, its errors): theirs when they are
        known without asking Slack (a modal must open within 3 s of the click), else the
        workspace's."""
        known = self.people.named(user)
        return known.locale if known is not None else self.locale

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
        self,
        trigger_id: str,
        ttype: TicketType,
        prefill: dict[str, Any],
        channel: str | None,
        user: str,
    ) -> None:
        form = self._form(ttype, prefill, channel, self.reader_locale(user))
        await self._open_view(trigger_id, form)

    def _form(
        self, ttype: TicketType, prefill: dict[str, Any], channel: str | None, locale: Locale
    ) -> dict[str, Any]:
        info = metadata(type=ttype.id, channel=channel)
        return dict(render_form(ttype, locale, self.intake.people, prefill, info))

    async def _open_view(self, trigger_id: str, view: Mapping[str, Any]) -> None:
        try:
            await self.client.call("views.open", trigger_id=trigger_id, view=dict(view))
        except DeliveryError as exc:
            # an expired trigger cannot be retried; the user just runs the command again
            log.warning("views.open failed", extra={"error": str(exc)})


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


def _user(body: Mapping[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id", "")) if isinstance(user, Mapping) else ""


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
