"""Editing a ticket from its card: the form (title, description, priority, type, the type's
fields, filled with what the ticket holds now) and the edit it sends (core's EditTicket).

Core checks who may edit, every field at once, and the version the editor saw; the card then
changes in place everywhere through the outbox, like after any other change.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from adapters.ports import Cards, Commands, InboundKey, Submitted
from adapters.webchat.frames import EditForm, SubmitEdit
from adapters.webchat.render import EditTarget, render_form
from adapters.webchat.rooms import CHANNEL
from core.commands import Command, EditTicket
from core.errors import FieldError, FormInvalid, NotFound
from core.forms import TicketType
from core.handlers.editing import EditResult
from core.i18n import LOCALES, as_locale, t
from core.people import Person
from core.ticket import ChannelRef, Ticket

Submit = Callable[[Command, InboundKey], Awaitable[Submitted]]


class EditPorts(Commands, Cards, Protocol):
    """What editing asks of the bot."""


class Editor:
    def __init__(self, ports: EditPorts, people: Sequence[Person], submit: Submit) -> None:
        self.ports = ports
        self.people = people
        self.submit = submit

    async def form(self, person: Person, room: str, frame: EditForm) -> dict[str, Any]:
        """The `form` frame that edits the ticket (refused by core later if they may not)."""
        ticket = await self._ticket(frame.ticket, person)
        ttype = self._type(frame.ticket_type or ticket.type_id, person)
        return {
            "type": "form",
            "room": room,
            "client_id": frame.client_id,
            "ticket_type": ttype.id,
            "edit": ticket.key,
            "html": self._forms(ttype, ticket, _prefill(ticket)),
        }

    async def save(self, person: Person, room: str, frame: SubmitEdit) -> dict[str, Any]:
        """Send the edit; answers `ack`, `form_errors` (each broken field) or a `notice`."""
        ttype = self._type(frame.ticket_type, person)
        command = EditTicket(
            key=frame.ticket,
            actor_id=person.id,
            origin=ChannelRef(CHANNEL, room),
            title=frame.title,
            description=frame.description,
            priority=frame.priority,
            type_id=ttype.id,
            fields=frame.fields,
            expected_version=frame.version,
        )
        client_id = frame.client_id or uuid.uuid4().hex
        try:
            done = await self.submit(command, InboundKey(CHANNEL, f"edit:{client_id}"))
        except FormInvalid as exc:
            ticket = await self._ticket(frame.ticket, person)
            prefill = {
                "title": frame.title,
                "description": frame.description,
                **_texts(frame.fields),
            }
            return {
                "type": "form_errors",
                "client_id": frame.client_id,
                "html": self._forms(ttype, ticket, prefill, exc.errors, frame.priority),
            }
        result = done.value
        if isinstance(result, EditResult) and not result.changed:
            text = {loc: result.text(loc) for loc in LOCALES}
            return {"type": "notice", "text": text, "level": "info", "client_id": frame.client_id}
        return {"type": "ack", "client_id": frame.client_id, "ticket": frame.ticket}

    async def _ticket(self, key: str, person: Person) -> Ticket:
        card = await self.ports.card(key, "en")
        if card is None or card.ticket is None:
            locale = as_locale(person.locale)
            raise NotFound(
                t("err.not_found", locale, key=key),
                {loc: t("err.not_found", loc, key=key) for loc in LOCALES},
            )
        return card.ticket

    def _type(self, type_id: str, person: Person) -> TicketType:
        ttype = self.ports.ticket_types.get(type_id)
        if ttype is None:
            zh = f"未知的工单类型 {type_id!r}"
            en = f"unknown ticket type {type_id!r}"
            raise FormInvalid([FieldError("type", "unknown", en, zh)])
        return ttype

    def _forms(
        self,
        ttype: TicketType,
        ticket: Ticket,
        prefill: Mapping[str, str | Sequence[str]],
        errors: Sequence[FieldError] = (),
        priority: str | None = None,
    ) -> dict[str, str]:
        target = EditTarget(
            ticket.key,
            ticket.version,
            priority or ticket.priority.value,
            tuple((tt.id, tt.name) for tt in self.ports.ticket_types.values()),
        )
        return forms_in_both(ttype, prefill, errors, self.people, edit=target)


def _prefill(ticket: Ticket) -> dict[str, str | Sequence[str]]:
    return {"title": ticket.title, "description": ticket.description, **_texts(ticket.fields)}


def _texts(fields: Mapping[str, Any]) -> dict[str, str | Sequence[str]]:
    """Form answers as the form shows them: text, or a list of choices."""
    out: dict[str, str | Sequence[str]] = {}
    for key, value in fields.items():
        if isinstance(value, list):
            out[key] = [str(v) for v in value]
        elif value is not None and not isinstance(value, dict):
            out[key] = str(value)
    return out


def forms_in_both(
    ttype: TicketType,
    prefill: Mapping[str, str | Sequence[str]],
    errors: Sequence[FieldError],
    people: Iterable[Person],
    *,
    edit: EditTarget | None = None,
) -> dict[str, str]:
    """A ticket type's form in each language, errors inline, for opening a ticket or (with
    `edit`) changing one."""
    choices = list(people)
    return {
        loc: render_form(
            ttype,
            loc,
            prefill,
            {e.field: e.text(loc) for e in errors},
            [(p.id, p.display(loc)) for p in choices],
            edit=edit,
        )
        for loc in LOCALES
    }
