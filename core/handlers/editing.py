"""Editing a ticket after opening: the same form rules, every broken field at once, a version
check instead of a silent overwrite, the change in the audit trail and on every card."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import timekeeping
from core.commands import EditTicket
from core.errors import Conflict, FieldError, FormInvalid
from core.events import TicketEdited
from core.forms import TicketType, clean_text
from core.handlers.checks import (
    actor_of,
    forbidden,
    load_ticket,
    not_in_state,
    parse_priority,
    refusal,
)
from core.handlers.opening import checked_form, route
from core.i18n import LOCALES, as_locale, t
from core.permissions import may_edit
from core.ports import Context, UnitOfWork
from core.ticket import Priority, Status, Ticket
from core.workflow import Action


@dataclass(frozen=True)
class EditResult:
    ticket: Ticket
    changed: bool
    message: str = ""  # why nothing changed, in the actor's language
    texts: Mapping[str, str] = field(default_factory=dict)  # the same in every language

    def text(self, locale: str) -> str:
        return self.texts.get(locale, self.message)


async def edit_ticket(cmd: EditTicket, uow: UnitOfWork, ctx: Context) -> EditResult:
    actor = actor_of(ctx, cmd.actor_id)
    locale = as_locale(actor.locale)
    ticket = await load_ticket(uow, cmd.key, locale)
    verdict = may_edit(actor, ticket, ctx.directory)
    if not verdict.allowed:
        raise forbidden("action.edit", ticket, verdict.reason_key, locale)
    seen = cmd.expected_version
    if seen is not None and seen != ticket.version:
        key, now_at = ticket.key, ticket.version
        raise refusal(
            Conflict,
            locale,
            lambda loc: t("err.version_conflict", loc, key=key, seen=seen, now=now_at),
        )
    if not ticket.is_open:
        raise not_in_state("action.edit", ticket, locale)
    ttype, title, description, fields, priority = _validated(cmd, ticket, ctx)
    changes = _changes(ticket, ttype.id, title, description, fields, priority)
    if not changes:
        return EditResult(
            ticket,
            False,
            t("err.nothing_to_edit", locale),
            {loc: t("err.nothing_to_edit", loc) for loc in LOCALES},
        )
    now = ctx.clock.now()
    type_changed = ttype.id != ticket.type_id
    priority_changed = priority != ticket.priority
    ticket.type_id, ticket.title, ticket.description = ttype.id, title, description
    ticket.fields, ticket.priority = fields, priority
    if priority_changed:
        timekeeping.on_action(ticket, Action.SET_PRIORITY, ctx, now)
    ticket.updated_at = now
    uow.tickets.update(ticket)
    uow.record(
        TicketEdited(
            ticket_key=ticket.key,
            at=now,
            actor_id=actor.id,
            channel=cmd.origin.channel,
            changes=changes,
        )
    )
    if type_changed:
        await _reroute(ticket, ttype, uow, ctx, cmd, now)
    uow.refresh_cards(ticket)
    return EditResult(ticket, True)


def _validated(
    cmd: EditTicket, ticket: Ticket, ctx: Context
) -> tuple[TicketType, str, str, dict[str, Any], Priority]:
    """The ticket as it would be after the edit, or FormInvalid naming every broken field."""
    errors: list[FieldError] = []
    type_id = cmd.type_id if cmd.type_id is not None else ticket.type_id
    ttype = ctx.types.get(type_id)
    if ttype is None:
        known = ", ".join(sorted(ctx.types))
        errors.append(
            FieldError(
                "type",
                "unknown",
                f"unknown ticket type; known: {known}",
                f"未知工单类型；可用：{known}",
            )
        )
        ttype = ctx.types.get(ticket.type_id)
    answers = dict(ticket.fields)
    if ttype is not None and type_id != ticket.type_id:
        # answers the new form has no field for are left behind with the old type
        answers = {k: v for k, v in answers.items() if ttype.field(k) is not None}
    answers.update(cmd.fields or {})
    title = cmd.title if cmd.title is not None else ticket.title
    description = cmd.description if cmd.description is not None else ticket.description
    clean_title, clean_fields = ticket.title, ticket.fields
    if ttype is not None:
        try:
            clean_title, clean_fields = checked_form(ttype, title, description, answers, ctx)
        except FormInvalid as exc:
            errors += exc.errors
    priority = ticket.priority
    if cmd.priority is not None:
        try:
            priority = parse_priority(cmd.priority)
        except FormInvalid as exc:
            errors += exc.errors
    if errors or ttype is None:
        raise FormInvalid(errors)
    return ttype, clean_title, clean_text(description) or clean_title, clean_fields, priority


def _changes(
    ticket: Ticket,
    type_id: str,
    title: str,
    description: str,
    fields: dict[str, Any],
    priority: Priority,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, old, new in (
        ("type", ticket.type_id, type_id),
        ("title", ticket.title, title),
        ("description", ticket.description, description),
        ("priority", ticket.priority.value, priority.value),
    ):
        if old != new:
            out[name] = {"from": old, "to": new}
    for field_id in sorted(set(ticket.fields) | set(fields)):
        before, after = ticket.fields.get(field_id), fields.get(field_id)
        if before != after:
            out[f"fields.{field_id}"] = {"from": before, "to": after}
    return out


async def _reroute(
    ticket: Ticket,
    ttype: TicketType,
    uow: UnitOfWork,
    ctx: Context,
    cmd: EditTicket,
    now: datetime,
) -> None:
    """A new type may belong to another team, with its skills: route an unheld ticket again."""
    if ticket.assignee_id is not None or ticket.status not in (Status.NEW, Status.ASSIGNED):
        return
    ticket.team_id = ttype.default_team or ticket.team_id
    await route(ticket, ctx, uow, now, cmd.origin.channel, f"type changed to {ttype.id}: ")
