"""Use-case handlers: load, decide, record. Pure apart from the ports they are given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from core import timekeeping
from core.assignment import Decision, TicketFacts, Workload, assign, choose_assignee
from core.commands import ActOnTicket, AddComment, OpenTicket
from core.errors import Conflict, FieldError, FormInvalid, NotFound, PermissionDenied
from core.escalation import NotifyKind
from core.events import EVENT_FOR_ACTION, Event, EventKind
from core.forms import TicketType, clean_text, validate_fields, validate_title
from core.i18n import Locale, as_locale, t
from core.people import Person, display_name
from core.permissions import may
from core.ports import Context, UnitOfWork
from core.text import clean_text as replace_unstorable
from core.text import field_problem
from core.ticket import Comment, Priority, Status, Ticket, ticket_key
from core.timekeeping import Notice
from core.workflow import TRANSITIONS, Action, allowed

_NOT_IDEMPOTENT = frozenset({Action.ASSIGN, Action.REOPEN})


@dataclass(frozen=True)
class ActResult:
    ticket: Ticket
    changed: bool
    message: str = ""


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
    priority = _priority(cmd.priority or ttype.default_priority)
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
        Event(
            EventKind.TICKET_OPENED,
            ticket.key,
            now,
            cmd.requester_id,
            channel,
            {
                "type": ttype.id,
                "title": title,
                "priority": priority.value,
                "origin": cmd.origin.to_json(),
            },
        )
    )
    decision = await _decide(ticket, ctx)
    if decision.assignee_id:
        ticket.assignee_id = decision.assignee_id
        ticket.status = Status.ASSIGNED
    # the reason matters most when nobody qualified: the log says who was skipped and why
    if decision.assignee_id or ticket.team_id in ctx.schedule.assignment:
        uow.record(
            Event(
                EventKind.TICKET_ASSIGNED,
                ticket.key,
                now,
                None,
                channel,
                {"assignee": decision.assignee_id, "reason": decision.reason},
            )
        )
    timekeeping.start(ticket, ctx, now)
    if cmd.post_card and cmd.origin.conversation:
        uow.post_card(ticket, cmd.origin)
    return ticket


def _form(cmd: OpenTicket, ttype: TicketType, ctx: Context) -> tuple[str, dict[str, Any]]:
    """The title and field values as stored, or FormInvalid naming every broken field at once."""
    texts = [("title", cmd.title), ("description", cmd.description), *cmd.fields.items()]
    errors = _unstorable(texts)
    # a field whose text cannot be stored says so, not also "required" once the NUL is gone
    said = {e.field for e in errors}
    title, fields = "", {}
    try:
        title = validate_title(cmd.title)
    except FormInvalid as exc:
        errors += [e for e in exc.errors if e.field not in said]
    try:
        fields = validate_fields(ttype, cmd.fields, ctx.directory)
    except FormInvalid as exc:
        errors += [e for e in exc.errors if e.field not in said]
    if errors:
        raise FormInvalid(errors)
    return title, fields


def _unstorable(values: Iterable[tuple[str, object]]) -> list[FieldError]:
    """A FieldError for each named value (a text, or a list of texts) no database can store."""
    problems: list[FieldError] = []
    for name, value in values:
        texts = value if isinstance(value, list | tuple) else [value]
        found = (field_problem(name, text) for text in texts if isinstance(text, str))
        problem = next((p for p in found if p is not None), None)
        if problem is not None:
            problems.append(problem)
    return problems


async def _decide(ticket: Ticket, ctx: Context) -> Decision:
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


async def fire_timer(key: str, generation: int, uow: UnitOfWork, ctx: Context) -> list[Notice]:
    """A ticket's timer went off: what to send now. A stale generation sends nothing."""
    ticket = await uow.tickets.get(key)
    if ticket is None or generation != ticket.timer_generation:
        return []
    now = ctx.clock.now()
    notices = timekeeping.due_notices(ticket, ctx, now, generation)
    uow.tickets.update(ticket)
    for notice in notices:
        reminder = notice.kind is NotifyKind.REMINDER
        kind = EventKind.REMINDER_SENT if reminder else EventKind.TICKET_ESCALATED
        uow.record(
            Event(
                kind,
                ticket.key,
                now,
                None,
                "timer",
                {
                    "to": notice.person_id or "team_channel",
                    "step": notice.key,
                    "route": notice.route.value,
                    "deliver_at": notice.deliver_at.isoformat(),
                },
            )
        )
    return notices


async def act(cmd: ActOnTicket, uow: UnitOfWork, ctx: Context) -> ActResult:
    problems = _unstorable(cmd.params.items())
    if problems:
        raise FormInvalid(problems)
    if cmd.action == Action.COMMENT:
        body = str(cmd.params.get("body", ""))
        await add_comment(AddComment(cmd.key, cmd.actor_id, body, cmd.origin), uow, ctx)
        ticket = await _load(uow, cmd.key, _actor_locale(ctx, cmd.actor_id))
        return ActResult(ticket, True)
    actor = _actor(ctx, cmd.actor_id)
    locale = as_locale(actor.locale)
    ticket = await _load(uow, cmd.key, locale)
    _check_allowed(actor, cmd.action, ticket, ctx, locale)
    action_label = t(f"action.{cmd.action.value}", locale)
    noop = _already_done(cmd, ticket, actor, ctx, locale)
    if noop is not None:
        return noop
    if not allowed(cmd.action, ticket.status):
        status = t(f"status.{ticket.status.value}", locale)
        raise Conflict(t("err.not_allowed_in_state", locale, action=action_label, status=status))
    data = _apply(cmd, ticket, actor, ctx)
    now = ctx.clock.now()
    timekeeping.on_action(ticket, cmd.action, ctx, now)
    ticket.updated_at = now
    uow.tickets.update(ticket)
    uow.record(
        Event(EVENT_FOR_ACTION[cmd.action], ticket.key, now, actor.id, cmd.origin.channel, data)
    )
    uow.refresh_cards(ticket)
    return ActResult(ticket, True)


async def add_comment(cmd: AddComment, uow: UnitOfWork, ctx: Context) -> Comment:
    author = _actor(ctx, cmd.author_id)
    locale = as_locale(author.locale)
    ticket = await _load(uow, cmd.key, locale)
    _check_allowed(author, Action.COMMENT, ticket, ctx, locale)
    problems = _unstorable([("body", cmd.body)])
    if problems:
        raise FormInvalid(problems)
    body = clean_text(cmd.body)
    if not body:
        raise FormInvalid(
            [FieldError("body", "required", "a comment needs some text", "评论不能为空")]
        )
    if len(body) > 10_000:
        raise FormInvalid(
            [FieldError("body", "max", "at most 10000 characters", "最多 10000 个字符")]
        )
    now = ctx.clock.now()
    comment = Comment(ticket.key, author.id, body, now, cmd.origin, cmd.public)
    uow.add_comment(comment)
    if cmd.public and _is_responder(author, ticket, ctx):
        ticket.first_response_at = ticket.first_response_at or now
        timekeeping.on_public_reply(ticket, ctx, now)
    ticket.updated_at = now
    uow.tickets.update(ticket)
    uow.record(
        Event(
            EventKind.COMMENT_ADDED,
            ticket.key,
            now,
            author.id,
            cmd.origin.channel,
            {"body": body, "public": cmd.public},
        )
    )
    uow.relay_comment(comment)
    uow.refresh_cards(ticket)
    return comment


def _already_done(
    cmd: ActOnTicket, ticket: Ticket, actor: Person, ctx: Context, locale: Locale
) -> ActResult | None:
    """Pressing a button whose effect already happened: a no-op for the same person, else explain."""
    target = TRANSITIONS[cmd.action].target
    if cmd.action in (Action.ACCEPT, Action.CLAIM):
        taken = ticket.status not in (Status.NEW, Status.ASSIGNED) and ticket.status.is_open
        if not taken:
            return None
        if ticket.assignee_id == actor.id:
            return ActResult(
                ticket,
                False,
                t(
                    "err.already_in_state",
                    locale,
                    status=t(f"status.{ticket.status.value}", locale),
                ),
            )
        who = display_name(ctx.directory, ticket.assignee_id, locale) or "?"
        raise Conflict(t("err.already_accepted", locale, who=who))
    if target is not None and ticket.status == target and cmd.action not in _NOT_IDEMPOTENT:
        status = t(f"status.{target.value}", locale)
        return ActResult(ticket, False, t("err.already_in_state", locale, status=status))
    return _same_value(cmd, ticket, ctx, locale)


def _same_value(cmd: ActOnTicket, ticket: Ticket, ctx: Context, locale: Locale) -> ActResult | None:
    """A resubmitted select (double click, retried request) must not notify or log twice."""
    if not ticket.is_open:
        return None
    assignee = ticket.assignee_id
    if cmd.action == Action.ASSIGN and assignee and cmd.params.get("assignee") == assignee:
        who = display_name(ctx.directory, assignee, locale)
        return ActResult(ticket, False, t("err.already_assigned", locale, who=who))
    if cmd.action == Action.SET_PRIORITY and cmd.params.get("priority") == ticket.priority.value:
        label = t(f"priority.{ticket.priority.value}", locale)
        return ActResult(ticket, False, t("err.already_priority", locale, priority=label))
    return None


def _is_responder(author: Person, ticket: Ticket, ctx: Context) -> bool:
    """Only the support side answers a ticket; the requester's or a watcher's words stop no SLA."""
    if author.id == ticket.requester_id:
        return False
    team = ctx.directory.team(ticket.team_id) if ticket.team_id else None
    in_team = team is not None and team.is_member(author.id)
    return in_team or author.id == ticket.assignee_id or author.is_admin


def _apply(cmd: ActOnTicket, ticket: Ticket, actor: Person, ctx: Context) -> dict[str, Any]:
    now = ctx.clock.now()
    before = ticket.status
    data: dict[str, Any] = {"from": before.value}
    action = cmd.action
    if action in (Action.ACCEPT, Action.CLAIM):
        ticket.assignee_id = actor.id
        ticket.first_response_at = ticket.first_response_at or now
    elif action == Action.ASSIGN:
        assignee = str(cmd.params.get("assignee", ""))
        if ctx.directory.person(assignee) is None:
            raise FormInvalid(
                [
                    FieldError(
                        "assignee",
                        "person",
                        f"unknown person {assignee!r}",
                        f"未知人员 {assignee!r}",
                    )
                ]
            )
        data["previous"] = ticket.assignee_id
        data["assignee"] = assignee
        data["reason"] = f"reassigned by {actor.id}"
        ticket.assignee_id = assignee
    elif action == Action.SET_PRIORITY:
        new = _priority(cmd.params.get("priority"))
        data["previous"] = ticket.priority.value
        data["priority"] = new.value
        ticket.priority = new
    elif action == Action.RESOLVE:
        ticket.resolved_at = now
        ticket.first_response_at = ticket.first_response_at or now
    elif action == Action.CLOSE:
        ticket.closed_at = now
    elif action == Action.REOPEN:
        ticket.resolved_at = None
        ticket.closed_at = None
    target = TRANSITIONS[action].target
    if action == Action.REOPEN:
        target = Status.ASSIGNED if ticket.assignee_id else Status.NEW
    if target is not None:
        ticket.status = target
        data["to"] = target.value
    return data


def _priority(value: object) -> Priority:
    try:
        return Priority(str(value))
    except ValueError:
        options = ", ".join(p.value for p in Priority)
        raise FormInvalid(
            [
                FieldError(
                    "priority", "options", f"must be one of {options}", f"必须是以下之一：{options}"
                )
            ]
        ) from None


def _check_allowed(
    actor: Person, action: Action, ticket: Ticket, ctx: Context, locale: Locale
) -> None:
    """Raise, in the actor's language, when they may not press this button on this ticket."""
    verdict = may(actor, action, ticket, ctx.directory)
    if not verdict.allowed:
        label = t(f"action.{action.value}", locale)
        reason = t(verdict.reason_key, locale)
        raise PermissionDenied(
            t("err.forbidden", locale, action=label, key=ticket.key, reason=reason)
        )


def _actor(ctx: Context, person_id: str) -> Person:
    person = ctx.directory.person(person_id)
    if person is None:
        raise PermissionDenied(f"unknown person {person_id!r}")
    return person


def _actor_locale(ctx: Context, person_id: str) -> Locale:
    person = ctx.directory.person(person_id)
    return as_locale(person.locale if person else None)


async def _load(uow: UnitOfWork, key: str, locale: Locale) -> Ticket:
    if field_problem("key", key) is not None:
        # no ticket can have it, and the database would not even take it as a query parameter
        raise NotFound(t("err.not_found", locale, key=replace_unstorable(key)))
    ticket = await uow.tickets.get(key)
    if ticket is None:
        raise NotFound(t("err.not_found", locale, key=key))
    return ticket


Handler = Callable[[Any, UnitOfWork, Context], Awaitable[Any]]

HANDLERS: dict[type, Handler] = {
    OpenTicket: open_ticket,
    ActOnTicket: act,
    AddComment: add_comment,
}
