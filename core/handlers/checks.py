"""What every handler checks first: who is acting, whether the ticket exists, whether they may."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from core.commands import ActionParams, Assign, SetPriority, WriteComment
from core.errors import Conflict, DomainError, FieldError, FormInvalid, NotFound, PermissionDenied
from core.i18n import LOCALES, Locale, as_locale, t
from core.people import Person
from core.permissions import may
from core.ports import Context, UnitOfWork
from core.text import clean_text as replace_unstorable
from core.text import field_problem
from core.ticket import Priority, Ticket
from core.workflow import Action


def parse_priority(value: object) -> Priority:
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


def check_allowed(
    actor: Person, action: Action, ticket: Ticket, ctx: Context, locale: Locale
) -> None:
    """Raise, in the actor's language, when they may not press this button on this ticket."""
    verdict = may(actor, action, ticket, ctx.directory)
    if not verdict.allowed:
        raise forbidden(f"action.{action.value}", ticket, verdict.reason_key, locale)


E = TypeVar("E", bound=DomainError)


def refusal(cls: type[E], locale: Locale, render: Callable[[Locale], str]) -> E:
    """An error in the actor's language that also carries every other language."""
    return cls(render(locale), {loc: render(loc) for loc in LOCALES})


def forbidden(action_key: str, ticket: Ticket, reason_key: str, locale: Locale) -> PermissionDenied:
    def render(loc: Locale) -> str:
        label, reason = t(action_key, loc), t(reason_key, loc)
        return t("err.forbidden", loc, action=label, key=ticket.key, reason=reason)

    return refusal(PermissionDenied, locale, render)


def not_in_state(action_key: str, ticket: Ticket, locale: Locale) -> Conflict:
    def render(loc: Locale) -> str:
        status = t(f"status.{ticket.status.value}", loc)
        return t("err.not_allowed_in_state", loc, action=t(action_key, loc), status=status)

    return refusal(Conflict, locale, render)


def actor_of(ctx: Context, person_id: str) -> Person:
    person = ctx.directory.person(person_id)
    if person is None:
        raise PermissionDenied(f"unknown person {person_id!r}")
    return person


def actor_locale(ctx: Context, person_id: str) -> Locale:
    person = ctx.directory.person(person_id)
    return as_locale(person.locale if person else None)


def unstorable(values: Iterable[tuple[str, object]]) -> list[FieldError]:
    """A FieldError for each named value (a text, or a list of texts) no database can store."""
    problems: list[FieldError] = []
    for name, value in values:
        texts = value if isinstance(value, list | tuple) else [value]
        found = (field_problem(name, text) for text in texts if isinstance(text, str))
        problem = next((p for p in found if p is not None), None)
        if problem is not None:
            problems.append(problem)
    return problems


def refuse_unstorable(values: Iterable[tuple[str, object]]) -> None:
    """Raise FormInvalid naming every value no database can store."""
    problems = unstorable(values)
    if problems:
        raise FormInvalid(problems)


def param_values(params: ActionParams) -> list[tuple[str, object]]:
    """A button's parameters by the names channels and REST give them."""
    match params:
        case Assign(assignee_id=assignee):
            return [("assignee", assignee)]
        case SetPriority(priority=priority):
            return [("priority", priority)]
        case WriteComment(body=body):
            return [("body", body)]
    return []


async def load_ticket(uow: UnitOfWork, key: str, locale: Locale) -> Ticket:
    if field_problem("key", key) is not None:
        # no ticket can have it, and the database would not even take it as a query parameter
        shown = replace_unstorable(key)
        raise refusal(NotFound, locale, lambda loc: t("err.not_found", loc, key=shown))
    ticket = await uow.tickets.get(key)
    if ticket is None:
        raise refusal(NotFound, locale, lambda loc: t("err.not_found", loc, key=key))
    return ticket
