"""What each frame of a web chat socket does: hello, a message, a form, a click, an edit.

Every message goes through the chat kit; every answer to the browser is a frame on its socket
(an ack, a form, form errors or a notice carrying the frame's client id).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from aiohttp import WSMessage, WSMsgType

from adapters.kit.buttons import action_params
from adapters.kit.conversation import ChatInbound, ChatIntake
from adapters.kit.intake import committed_key, remembered_key
from adapters.ports import Cards, Commands, Conversations, InboundKey, People, Submitted
from adapters.webchat.editing import Editor, forms_in_both
from adapters.webchat.frames import (
    Act,
    EditForm,
    FrameError,
    Hello,
    Say,
    SubmitEdit,
    SubmitForm,
    parse,
)
from adapters.webchat.pump import queued
from adapters.webchat.rooms import CHANNEL, DM_PREFIX, Client, RoomHub, WebchatSettings, now_iso
from adapters.webchat.texts import (
    BINARY,
    EMPTY_TEXT,
    FAILED,
    HELLO_FIRST,
    UNKNOWN_PERSON_OR_ROOM,
    UNKNOWN_TYPE,
    comment_added,
)
from core.clock import Clock
from core.commands import ActionParams, ActOnTicket, Command, OpenTicket, WriteComment
from core.conversation import parse_command
from core.errors import DomainError, FieldError, FormInvalid
from core.forms import TicketType
from core.handlers.actions import ActResult
from core.i18n import LOCALES, Locale
from core.ticket import ChannelRef
from core.workflow import Action

log = logging.getLogger("gongdan.webchat")


class FramePorts(Commands, People, Cards, Conversations, Protocol):
    """What answering a socket's frames asks of the bot."""


class FrameHandlers:
    """One per web chat: takes a socket's frames in order and answers on that socket."""

    def __init__(
        self, settings: WebchatSettings, gateway: FramePorts, clock: Clock, hub: RoomHub
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.hub = hub
        # every message goes through the kit; the socket's next frame may start once this
        # one's command is queued
        self.chat = ChatIntake(CHANNEL, gateway, clock, before_submit=queued)
        self.editor = Editor(gateway, settings.people, self.submit)

    async def submit(
        self, command: Command, key: InboundKey, respond: Callable[[Any], Any] | None = None
    ) -> Submitted:
        """Hand a command to the bot. The socket's next frame may start as soon as this one's
        command is queued (nothing awaits before the writer's queue takes it), so frames of one
        socket commit in the order they came."""
        queued()
        return await self.gateway.submit(command, inbound=key, respond=respond)

    def rate_notice(self, client: Client) -> None:
        self._notice(client, self.hub.limits.rate_notice(), "error")

    async def receive(self, client: Client, msg: WSMessage) -> None:
        if msg.type == WSMsgType.BINARY:
            self._notice(client, BINARY, "error")
            return
        try:
            frame = parse(msg.data, self.hub.limits.max_text_chars)
        except FrameError as exc:
            self._notice(client, exc.text(), "error", exc.client_id)
            return
        client_id = None if isinstance(frame, Hello) else frame.client_id
        try:
            if isinstance(frame, Hello):
                self._hello(client, frame)
            elif client.person is None or client.room is None:
                self._notice(client, HELLO_FIRST, "error", client_id)
            elif isinstance(frame, Say):
                await self._say(client, frame)
            elif isinstance(frame, Act):
                await self._action(client, frame)
            elif isinstance(frame, SubmitForm):
                await self._submit_form(client, frame)
            else:
                await self._edit(client, frame)
        except DomainError as exc:
            # in every language core gave: the page shows the one it is switched to
            self._notice(client, {loc: exc.text(loc) for loc in LOCALES}, "error", client_id)
        except Exception:
            log.exception("web chat frame failed")
            self._notice(client, FAILED, "error", client_id)

    def _hello(self, client: Client, frame: Hello) -> None:
        person = self.gateway.directory.person(frame.person)
        room = self.hub.rooms.get(frame.room)
        if person is not None and frame.room == DM_PREFIX + person.id:
            room = self.hub.direct_room(frame.room)
        if person is None or room is None:
            self._notice(client, UNKNOWN_PERSON_OR_ROOM, "error")
            return
        if client.room in self.hub.state:
            self.hub.state[client.room].clients.discard(id(client))
        client.person, client.room = person, room.id
        client.gate.person = self.hub.person_bucket(person.id)
        self.hub.state[room.id].clients.add(id(client))
        client.send(
            {"type": "history", "room": room.id, "messages": self.hub.history_for(room.id, person)}
        )

    async def _say(self, client: Client, frame: Say) -> None:
        assert client.person is not None and client.room is not None
        text = frame.text.strip()
        client_id = frame.client_id or uuid.uuid4().hex
        if not text:
            self._notice(client, EMPTY_TEXT, "error", client_id)
            return
        room = self.hub.rooms[client.room]
        person = client.person
        msg_id = f"m-{client_id}"
        mentioned, body = self._strip_mention(text)
        line = {
            "type": "message",
            "room": room.id,
            "id": msg_id,
            "author": {"id": person.id, "name": person.name.to_json()},
            "text": text,
            "at": now_iso(),
            "bot": False,
        }
        if parse_command(body or text) is not None:
            # a command is between the sender and the bot (a /note is for the team only):
            # its line is shown to the sender, never to the room
            client.send(line)
        elif not any(m.get("id") == msg_id for m in self.hub.state[room.id].history):
            self.hub.broadcast(room.id, line, keep=True)
        inbound = ChatInbound(
            person=person,
            where=ChannelRef(CHANNEL, room.id, message=msg_id),
            text=body or text,
            key=InboundKey(CHANNEL, f"say:{client_id}"),
            type_id=room.ticket_type,
            mentions_bot=mentioned,
            direct=room.id.startswith(DM_PREFIX),
            help_desk=room.help_desk,
            card_key=frame.ticket,
            title_marker="",  # the web chat cuts a long first line without a mark
        )

        async def reply(text: Mapping[Locale, str], *, error: bool = False) -> None:
            self._notice(client, dict(text), "error" if error else "info", client_id)

        done = await self.chat.take(inbound, reply)
        if done.refused:
            return  # the error notice carries the client id: that is the answer
        if done.form is not None:
            self._open_form(client, done.form.type_id, client_id, dict(done.form.prefill))
            return
        if done.comment and done.ticket and not done.duplicate:
            # a follow-up, a key mention or a reply from the card: shown in the card's thread
            # (a relay skips the conversation a comment was written in)
            author = {"id": person.id, "name": person.name.to_json()}
            self.hub.add_comment(
                done.ticket, author, done.comment, channel=CHANNEL, comment_id=f"w-{client_id}"
            )
        ack: dict[str, Any] = {"type": "ack", "client_id": client_id, "kind": done.kind.value}
        if done.ticket is not None:
            ack["ticket"] = done.ticket
        client.send(ack)

    def _strip_mention(self, text: str) -> tuple[bool, str]:
        names = {n for n in (self.settings.bot_name.en, self.settings.bot_name.zh) if n}
        pattern = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        if not pattern:
            return False, text
        stripped, count = re.subn(rf"@(?:{pattern})\s*", "", text, flags=re.IGNORECASE)
        return count > 0, stripped.strip()

    def _open_form(
        self,
        client: Client,
        type_id: str | None,
        client_id: str,
        prefill: dict[str, str],
    ) -> None:
        ttype = self.gateway.ticket_types.get(type_id or "")
        if ttype is None:  # the kit answered `/new nosuch` already; a room's type is checked
            self._notice(client, UNKNOWN_TYPE, "error", client_id)
            return
        client.send(
            {
                "type": "form",
                "room": client.room,
                "client_id": client_id,
                "ticket_type": ttype.id,
                "html": self._forms(ttype, prefill),
            }
        )

    def _forms(
        self, ttype: TicketType, prefill: dict[str, str], errors: Sequence[FieldError] = ()
    ) -> dict[str, str]:
        return forms_in_both(ttype, prefill, errors, self.settings.people)

    async def _submit_form(self, client: Client, frame: SubmitForm) -> None:
        assert client.person is not None and client.room is not None
        client_id = frame.client_id or uuid.uuid4().hex
        ttype = self.gateway.ticket_types.get(frame.ticket_type)
        if ttype is None:
            self._notice(client, UNKNOWN_TYPE, "error", client_id)
            return
        command = OpenTicket(
            type_id=ttype.id,
            title=frame.title,
            description=frame.description,
            requester_id=client.person.id,
            fields=frame.fields,
            origin=ChannelRef(CHANNEL, client.room, message=f"f-{client_id}"),
        )
        try:
            done = await self.submit(
                command, InboundKey(CHANNEL, f"form:{client_id}"), remembered_key
            )
        except FormInvalid as exc:
            prefill = {
                "title": frame.title,
                "description": frame.description,
                **{k: v for k, v in frame.fields.items() if isinstance(v, str)},
            }
            client.send(
                {
                    "type": "form_errors",
                    "client_id": client_id,
                    "html": self._forms(ttype, prefill, exc.errors),
                }
            )
            return
        key = committed_key(done)
        client.send({"type": "ack", "client_id": client_id, "ticket": key})

    async def _action(self, client: Client, frame: Act) -> None:
        assert client.person is not None and client.room is not None
        client_id = frame.client_id or uuid.uuid4().hex
        command = ActOnTicket(
            key=frame.ticket,
            action=frame.action,
            actor_id=client.person.id,
            origin=ChannelRef(CHANNEL, client.room),
            params=_params(frame),
            seen_version=frame.version,
        )
        done = await self.submit(command, InboundKey(CHANNEL, f"act:{client_id}"))
        result = done.value
        if isinstance(result, ActResult) and not result.changed and result.message:
            self._notice(client, {loc: result.text(loc) for loc in LOCALES}, "info", client_id)
        if frame.action == Action.COMMENT and isinstance(command.params, WriteComment):
            self._commented(client, command.key, command.params, client_id)
        client.send({"type": "ack", "client_id": client_id, "ticket": command.key})

    async def _edit(self, client: Client, frame: EditForm | SubmitEdit) -> None:
        """The edit form of a ticket, or the edit it sends (adapters/webchat/editing.py)."""
        assert client.person is not None and client.room is not None
        if isinstance(frame, EditForm):
            client.send(await self.editor.form(client.person, client.room, frame))
        else:
            client.send(await self.editor.save(client.person, client.room, frame))

    def _commented(self, client: Client, key: str, params: WriteComment, client_id: str) -> None:
        """A comment from a card: into the card's thread everywhere here, and confirmed."""
        person = client.person
        assert person is not None
        author = {"id": person.id, "name": person.name.to_json()}
        self.hub.add_comment(
            key,
            author,
            params.body.strip(),
            channel=CHANNEL,
            internal=not params.public,
            comment_id=f"w-{client_id}",
        )
        self._notice(client, comment_added(key), "info", client_id)

    def _notice(
        self, client: Client, text: dict[Locale, str], level: str, client_id: str | None = None
    ) -> None:
        frame: dict[str, Any] = {"type": "notice", "text": text, "level": level}
        if client_id is not None:
            frame["client_id"] = client_id
        client.send(frame)


def _params(frame: Act) -> ActionParams:
    """The click's parameters; a comment ticked "internal" is a note for the team."""
    params = action_params(frame.action, frame.value or "")
    if frame.internal and isinstance(params, WriteComment):
        return WriteComment(params.body, public=False)
    return params
