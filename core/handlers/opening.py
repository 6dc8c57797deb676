"""Opening a ticket: validate the form, number it, assign it, start its clocks, post its card."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core import timekeeping
from core.assignment import Decision, TicketFacts, Workload, assign, choose_assignee
from core.commands import OpenTicket
from core.errors import FieldError, FormInvalid
from core.events import TicketAssigned, TicketOpened
from core.forms import TicketType, clean_text, labelled, validate_fields, validate_title
from core.handlers.checks import parse_priority, unstorable
from core.ports import Context, UnitOfWork
from core.ticket import Status, Ticket, ticket_key


async def open_ticket(cmd: OpenTicket, uow: UnitOfWork, ctx: Context) -> Ticket:
    ttype = ctx.types.get(cmd.type_id)
    if ttype is None:
        known = ", ".join(sorted(ctx.types))
        raise FormInvalid(
            [
                FieldError(
                    "type",
                    "unknown",
                    f"unknown ticket type; known: {known}",
                    f"未知工单类型；可用：{known}",
                )
            ]
        )
    title, fields = _form(cmd, ttype, ctx)
    priority = parse_priority(cmd.priority or ttype.default_priority)
    requester = ctx.directory.person(cmd.requester_id)
    now = ctx.clock.now()
    number = await uow.tickets.next_number(ttype.prefix)
    ticket = Ticket(
        key=ticket_key(ttype.prefix, number),
        type_id=ttype.id,
        number=number,
        title=title,
        description=clean_text(cmd.description) or title,
        fields=fields,
        priority=priority,
        requester_id=cmd.requester_id,
        team_id=ttype.default_team,
        origin=cmd.origin,
        locale=requester.locale if requester else "zh-CN",
        created_at=now,
        updated_at=now,
    )
    uow.tickets.add(ticket)
    channel = cmd.origin.channel
    uow.record(
        TicketOpened(
            ticket_key=ticket.key,
            at=now,
            actor_id=cmd.requester_id,
            channel=channel,
            type_id=ttype.id,
            title=title,
            priority=priority,
            origin=cmd.origin.to_json(),
        )
    )
    await route(ticket, ctx, uow, now, channel)
    timekeeping.start(ticket, ctx, now)
    if cmd.post_card and cmd.origin.conversation:
        uow.post_card(ticket, cmd.origin)
    return ticket


def _form(cmd: OpenTicket, ttype: TicketType, ctx: Context) -> tuple[str, dict[str, Any]]:
    """The title and field values as stored, or FormInvalid naming every broken field at once."""
    return checked_form(ttype, cmd.title, cmd.description, cmd.fields, ctx)


def checked_form(
    ttype: TicketType, title: object, description: object, fields: Mapping[str, Any], ctx: Context
) -> tuple[str, dict[str, Any]]:
    """Title and form answers as stored, or FormInvalid naming every broken field at once
    (opening and editing share it, so an edit is held to the same rules)."""
    errors = labelled(
        ttype, unstorable([("title", title), ("description", description), *fields.items()])
    )
    # a field whose text cannot be stored says so, not also "required" once the NUL is gone
    said = {e.field for e in errors}
    clean_title, clean_fields = "", {}
    try:
        clean_title = validate_title(title)
    except FormInvalid as exc:
        errors += [e for e in exc.errors if e.field not in said]
    try:
        clean_fields = validate_fields(ttype, fields, ctx.directory)
    except FormInvalid as exc:
        errors += [e for e in exc.errors if e.field not in said]
    if errors:
        raise FormInvalid(errors)
    return clean_title, clean_fields


def form_errors(cmd: OpenTicket, ctx: Context) -> list[FieldError]:
    """Every problem opening would report, without opening anything (REST merges its own)."""
    ttype = ctx.types.get(cmd.type_id)
    errors: list[FieldError] = []
    if ttype is None:
        return errors
    try:
        _form(cmd, ttype, ctx)
    except FormInvalid as exc:
        errors = exc.errors
    return errors


async def route(
    ticket: Ticket, ctx: Context, uow: UnitOfWork, now: datetime, channel: str, why: str = ""
) -> None:
    """Assign the ticket by its team's rules and record why (`why` prefixes the reason)."""
    decision = await decide(ticket, ctx)
    if decision.assignee_id:
        ticket.assignee_id = decision.assignee_id
        ticket.status = Status.ASSIGNED
    # the reason matters most when nobody qualified: the log says who was skipped and why
    if decision.assignee_id or ticket.team_id in ctx.schedule.assignment:
        uow.record(
            TicketAssigned(
                ticket_key=ticket.key,
                at=now,
                actor_id=None,
                channel=channel,
                assignee_id=decision.assignee_id,
                reason=why + decision.reason,
            )
        )


async def decide(ticket: Ticket, ctx: Context) -> Decision:
    """The team's assignment policy when it has one, else the lead-or-queue rule."""
    schedule = ctx.schedule
    policy = schedule.assignment.get(ticket.team_id) if ticket.team_id else None
    team = ctx.directory.team(ticket.team_id) if ticket.team_id else None
    if policy is None or team is None:
        return choose_assignee(ticket.team_id, ctx.directory)
    loads = schedule.loads
    load = await loads.load(team.id) if loads is not None else None
    decision = assign(
        team,
        policy,
        TicketFacts.of(ticket),
        now=ticket.created_at,
        workload=load.workload if load is not None else Workload(),
        last_assignee=load.last_assignee if load is not None else None,
        availability=schedule.availability,
    )
    if loads is not None and decision.assignee_id is not None:
        loads.assigned(team.id, decision.assignee_id, ticket.priority)
    return decision
