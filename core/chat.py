"""What the read-only chat commands answer (/help, /mine, /queue, /status), in the asker's
language. The texts are built here once; every channel renders the same answer.

/new opens the channel's form, /close and /note are commands (core.commands.CloseTicket,
AddComment with public=False): they change tickets, so they go through the bus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.conversation import ChatCommand, CommandName
from core.errors import NotFound
from core.i18n import LOCALES, Locale, as_locale, t
from core.people import Person, Team
from core.ports import TicketReader
from core.ticket import Status, Ticket

LIST_LIMIT = 10
HELP_ORDER = (
    CommandName.NEW,
    CommandName.MINE,
    CommandName.QUEUE,
    CommandName.STATUS,
    CommandName.CLOSE,
    CommandName.NOTE,
    CommandName.HELP,
)


@dataclass(frozen=True)
class Answer:
    text: str  # in the asker's language; lines separated by "\n"
    tickets: tuple[Ticket, ...] = ()  # what the text lists, for channels that show more
    card: Ticket | None = None  # /status: post this ticket's card here, fresh


def help_text(locale: Locale, *, unknown: str = "", usage_of: CommandName | None = None) -> str:
    """Every command, one a line; led by why help was shown when it was not asked for."""
    if usage_of is not None:
        return "\n".join([t("chat.help_usage", locale), t(f"chat.help.{usage_of.value}", locale)])
    lines = [t("chat.help_unknown", locale, command=unknown)] if unknown else []
    lines.append(t("chat.help_title", locale))
    lines += [t(f"chat.help.{name.value}", locale) for name in HELP_ORDER]
    return "\n".join(lines)


def ticket_line(ticket: Ticket, locale: Locale) -> str:
    status = t(f"status.{ticket.status.value}", locale)
    return t("chat.line", locale, key=ticket.key, status=status, title=ticket.title)


def unchanged_line(ticket: Ticket, locale: Locale) -> str:
    """A change asked for that had already happened ("IT-12 “Printer broken” is already closed.")."""
    status = t(f"status.{ticket.status.value}", locale)
    status = status.lower() if locale == "en" else status
    return t("chat.already", locale, key=ticket.key, status=status, title=ticket.title)


def closed_line(ticket: Ticket, locale: Locale) -> str:
    """What /close did, in a sentence: "Closed IT-12 “Printer broken”.", or for a ticket that
    was still open, that closing it cancelled it (withdrew the request)."""
    text_id = "chat.cancelled" if ticket.status is Status.CANCELLED else "chat.closed"
    return t(text_id, locale, key=ticket.key, title=ticket.title)


async def answer(
    command: ChatCommand, person: Person, reader: TicketReader, teams: Iterable[Team]
) -> Answer:
    """The answer to /help, /mine, /queue or /status (raises NotFound for an unknown key)."""
    locale = as_locale(person.locale)
    if command.name is CommandName.MINE:
        return await mine(reader, person, locale)
    if command.name is CommandName.QUEUE:
        return await queue(reader, person, teams, locale)
    if command.name is CommandName.STATUS and command.key:
        return await status(reader, command.key, locale)
    return Answer(help_text(locale, unknown=command.unknown, usage_of=command.usage_of))


async def mine(reader: TicketReader, person: Person, locale: Locale) -> Answer:
    found = await reader.open_requested_by(person.id, LIST_LIMIT + 1)
    if not found:
        return Answer(t("chat.mine_none", locale))
    shown = found[:LIST_LIMIT]
    lines = [
        t("chat.mine_title", locale, n=len(shown) if len(found) <= LIST_LIMIT else f"{LIST_LIMIT}+")
    ]
    lines += [ticket_line(x, locale) for x in shown]
    if len(found) > LIST_LIMIT:
        lines.append(t("chat.more", locale))
    return Answer("\n".join(lines), tuple(shown))


async def queue(
    reader: TicketReader, person: Person, teams: Iterable[Team], locale: Locale
) -> Answer:
    team_ids = sorted(team.id for team in teams if team.is_member(person.id))
    if not team_ids and not person.is_admin:
        return Answer(t("chat.queue_not_agent", locale))
    held = await reader.open_assigned_to(person.id, LIST_LIMIT)
    waiting = await reader.open_unassigned(team_ids, LIST_LIMIT) if team_ids else []
    if not held and not waiting:
        return Answer(t("chat.queue_none", locale))
    lines = [t("chat.queue_title", locale, mine=len(held), unassigned=len(waiting))]
    lines += [ticket_line(x, locale) for x in (*held, *waiting)]
    return Answer("\n".join(lines), (*held, *waiting))


async def status(reader: TicketReader, key: str, locale: Locale) -> Answer:
    ticket = await reader.get(key)
    if ticket is None:
        raise NotFound(
            t("err.not_found", locale, key=key),
            {loc: t("err.not_found", loc, key=key) for loc in LOCALES},
        )
    return Answer(ticket_line(ticket, locale), (ticket,), card=ticket)
