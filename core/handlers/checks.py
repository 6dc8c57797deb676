"""What every handler checks first: who is acting, whether the ticket exists, whether they may."""

from __future__ import annotations

from core.errors import FieldError, FormInvalid, NotFound, PermissionDenied
from core.i18n import Locale, as_locale, t
from core.people import Person
from core.permissions import may
from core.ports import Context, UnitOfWork
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
        label = t(f"action.{action.value}", locale)
        reason = t(verdict.reason_key, locale)
        raise PermissionDenied(
            t("err.forbidden", locale, action=label, key=ticket.key, reason=reason)
        )


def actor_of(ctx: Context, person_id: str) -> Person:
    person = ctx.directory.person(person_id)
    if person is None:
        raise PermissionDenied(f"unknown person {person_id!r}")
    return person


def actor_locale(ctx: Context, person_id: str) -> Locale:
    person = ctx.directory.person(person_id)
    return as_locale(person.locale if person else None)


async def load_ticket(uow: UnitOfWork, key: str, locale: Locale) -> Ticket:
    ticket = await uow.tickets.get(key)
    if ticket is None:
        raise NotFound(t("err.not_found", locale, key=key))
    return ticket
