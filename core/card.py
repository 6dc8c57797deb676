"""The channel-neutral Card: what a ticket looks like to one audience in one language.

Adapters only render it; they never decide which buttons exist. Values are plain text:
every renderer escapes them for its own markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from core.assignment import assignable
from core.forms import FieldKind, FieldSpec
from core.i18n import Locale, t
from core.people import Directory, Person, display_name
from core.permissions import may, may_edit, may_write_internal
from core.ports import Context
from core.ticket import Priority, Status, Ticket
from core.workflow import Action, available_actions


class Colour(StrEnum):
    GREY = "grey"
    BLUE = "blue"
    INDIGO = "indigo"
    ORANGE = "orange"
    YELLOW = "yellow"
    GREEN = "green"
    RED = "red"


STATUS_COLOUR: dict[Status, Colour] = {
    Status.NEW: Colour.GREY,
    Status.ASSIGNED: Colour.BLUE,
    Status.ACCEPTED: Colour.INDIGO,
    Status.IN_PROGRESS: Colour.ORANGE,
    Status.WAITING: Colour.YELLOW,
    Status.RESOLVED: Colour.GREEN,
    Status.CLOSED: Colour.GREY,
    Status.CANCELLED: Colour.RED,
}


class CardKind(StrEnum):
    TICKET = "ticket"
    REMINDER = "reminder"
    ESCALATION = "escalation"


class ActionKind(StrEnum):
    BUTTON = "button"
    PERSON_SELECT = "person_select"
    SELECT = "select"
    INPUT = "input"


class Style(StrEnum):
    PRIMARY = "primary"
    DANGER = "danger"
    DEFAULT = "default"


@dataclass(frozen=True)
class CardField:
    label: str
    value: str
    at: datetime | None = None  # the instant `value` shows, so a renderer can show it per viewer


@dataclass(frozen=True)
class CardAction:
    id: Action
    label: str
    kind: ActionKind = ActionKind.BUTTON
    style: Style = Style.DEFAULT
    confirm: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for selects


@dataclass(frozen=True)
class CardLink:
    """A small line with one link, shown as `{before}{text}{after}` ("Source: original message").

    Every word is ours, never user text. Only `_source` builds one, after is_safe_link; renderers
    escape url and words for their markup, they do not check the URL again.
    """

    url: str
    text: str
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Card:
    ticket_key: str
    version: int
    title: str
    status: Status
    status_label: str
    colour: Colour
    fields: tuple[CardField, ...]
    actions: tuple[CardAction, ...]
    locale: Locale
    body: str = ""
    kind: CardKind = CardKind.TICKET
    source: CardLink | None = None  # back to the message the ticket was made from
    # the viewer may change what was filed (title, description, priority, type, fields)
    editable: bool = False
    # the viewer may write internal notes (the support side): the comment box offers it
    notes: bool = False
    # a reminder's or escalation's own identity (Notice.key), the same on every retry of its
    # delivery: a platform that keys card instances gives each notice its own
    notice_key: str = ""
    # what the card was drawn from, for `for_viewer`; renderers show only the fields above
    ticket: Ticket | None = field(default=None, compare=False, repr=False)

    @property
    def heading(self) -> str:
        return f"{self.ticket_key} {self.title}"


_BODY_MAX = 500
_STYLE = {
    Action.ACCEPT: Style.PRIMARY,
    Action.CLAIM: Style.PRIMARY,
    Action.RESOLVE: Style.PRIMARY,
    Action.CANCEL: Style.DANGER,
}
_CONFIRM = {Action.CANCEL: "confirm.cancel"}


def build_card(ticket: Ticket, ctx: Context, locale: Locale) -> Card:
    fields = [
        CardField(t("field.status", locale), t(f"status.{ticket.status.value}", locale)),
        CardField(t("field.priority", locale), t(f"priority.{ticket.priority.value}", locale)),
        CardField(
            t("field.requester", locale),
            display_name(ctx.directory, ticket.requester_id, locale) or "",
        ),
        CardField(t("field.assignee", locale), assignee_text(ticket, ctx, locale)),
    ]
    due = next_due(ticket) if ticket.is_open else None
    if due is not None:
        metric, at = due
        fields.append(
            CardField(sla_label(metric, locale), local_time(at, ctx.schedule.timezone), at=at)
        )
    ttype = ctx.types.get(ticket.type_id)
    if ttype is not None:
        fields.insert(0, CardField(t("field.type", locale), ttype.name.get(locale)))
        for spec in ttype.fields:
            value = ticket.fields.get(spec.id)
            if value not in (None, "", []):
                fields.append(
                    CardField(spec.label.get(locale), _field_text(spec, value, ctx, locale))
                )
    body = ticket.description if ticket.description != ticket.title else ""
    if len(body) > _BODY_MAX:
        body = body[: _BODY_MAX - 1] + "…"
    return ticket_card(
        ticket,
        locale,
        colour=STATUS_COLOUR[ticket.status],
        fields=tuple(fields),
        actions=tuple(_actions(ticket, ctx, locale)),
        body=body,
    )


def ticket_card(
    ticket: Ticket,
    locale: Locale,
    *,
    colour: Colour,
    fields: tuple[CardField, ...],
    actions: tuple[CardAction, ...],
    body: str,
    kind: CardKind = CardKind.TICKET,
    notice_key: str = "",
) -> Card:
    """A card about `ticket`: what every card says of it (key, title, status, source link), with
    the colour, fields, actions and body of its kind."""
    return Card(
        ticket_key=ticket.key,
        version=ticket.version,
        title=ticket.title,
        status=ticket.status,
        status_label=t(f"status.{ticket.status.value}", locale),
        colour=colour,
        fields=fields,
        actions=actions,
        locale=locale,
        body=body,
        kind=kind,
        source=_source(ticket, locale),
        notice_key=notice_key,
        ticket=ticket,
    )


def next_due(ticket: Ticket) -> tuple[str, datetime] | None:
    """The running SLA target due first, and when (the card names which one it shows)."""
    due = dict(ticket.sla.get("due") or {}) if ticket.sla else {}
    found = [(datetime.fromisoformat(d), str(m)) for m, d in due.items() if d]
    if not found:
        return None
    at, metric = min(found)
    return metric, at


def sla_label(metric: str, locale: Locale) -> str:
    """ "SLA due (first response)": which target the time belongs to."""
    if metric not in ("first_response", "next_update", "resolution"):
        return t("field.sla_due", locale)
    return t("field.sla_due_for", locale, target=t(f"metric.{metric}", locale))


def for_viewer(card: Card, viewer: Person | None, directory: Directory) -> Card:
    """The card as `viewer` may use it: only the buttons core would let them press, and
    whether they may edit the ticket.

    Permissions are still checked on every click; this only stops offering what would be
    refused (a requester sees Comment, Close or Cancel, never Accept or Resolve).
    """
    if viewer is None or card.ticket is None:
        return card
    ticket = card.ticket
    kept = tuple(a for a in card.actions if may(viewer, a.id, ticket, directory).allowed)
    editable = (
        card.kind is CardKind.TICKET
        and ticket.is_open
        and may_edit(viewer, ticket, directory).allowed
    )
    notes = may_write_internal(viewer, ticket, directory).allowed
    return replace(card, actions=kept, editable=editable, notes=notes)


def _source(ticket: Ticket, locale: Locale) -> CardLink | None:
    url = ticket.origin.link if ticket.origin is not None else None
    if url is None or not is_safe_link(url):
        return None
    before, _, after = t("card.source", locale).partition("{link}")
    return CardLink(url, t("card.source_link", locale), before, after)


# An absolute http(s) URL, allowlisted character by character (RFC 3986 unreserved, sub-delims
# and the delimiters of path, query and fragment — less the quote): no whitespace, no markup
# (< > | " ' ` { } \\ ^), no user-info before the host, nothing outside ASCII.
_SAFE_LINK = re.compile(
    r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?"
    r"(?:[/?#][A-Za-z0-9\-._~!$&()*+,;=:@/?#%\[\]]*)?"
)


def is_safe_link(url: str) -> bool:
    """An absolute http(s) URL with a host and nothing a markup could be broken out with."""
    return len(url) <= 2000 and _SAFE_LINK.fullmatch(url) is not None


def assignee_text(ticket: Ticket, ctx: Context, locale: Locale) -> str:
    if ticket.assignee_id:
        return display_name(ctx.directory, ticket.assignee_id, locale) or ticket.assignee_id
    return t("queue", locale) if ticket.team_id else t("nobody", locale)


def _field_text(spec: FieldSpec, value: Any, ctx: Context, locale: Locale) -> str:
    if spec.kind == FieldKind.SELECT:
        label = spec.option_label(str(value))
        return label.get(locale) if label else str(value)
    if spec.kind == FieldKind.MULTI_SELECT:
        labels = [spec.option_label(str(v)) for v in value]
        return ", ".join(
            lab.get(locale) if lab else str(v) for lab, v in zip(labels, value, strict=True)
        )
    if spec.kind == FieldKind.PERSON:
        return display_name(ctx.directory, str(value), locale) or str(value)
    if spec.kind == FieldKind.ATTACHMENT:
        return f"{len(value)} 📎"
    return str(value)


def _actions(ticket: Ticket, ctx: Context, locale: Locale) -> list[CardAction]:
    out: list[CardAction] = []
    for action in available_actions(ticket.status, ticket.assignee_id is not None):
        label = t(f"action.{action.value}", locale)
        if action == Action.ASSIGN:
            out.append(
                CardAction(
                    action,
                    label,
                    ActionKind.PERSON_SELECT,
                    options=team_options(ticket, ctx, locale),
                )
            )
        elif action == Action.SET_PRIORITY:
            options = tuple((p.value, t(f"priority.{p.value}", locale)) for p in Priority)
            out.append(CardAction(action, label, ActionKind.SELECT, options=options))
        else:
            confirm = _CONFIRM.get(action)
            out.append(
                CardAction(
                    action,
                    label,
                    style=_STYLE.get(action, Style.DEFAULT),
                    confirm=t(confirm, locale) if confirm else None,
                )
            )
    out.append(CardAction(Action.COMMENT, t("action.comment", locale), ActionKind.INPUT))
    return out


def team_options(ticket: Ticket, ctx: Context, locale: Locale) -> tuple[tuple[str, str], ...]:
    """Whom Reassign offers: who the ticket's team may assign it to (`assignable`: members,
    the lead last, the manager only if they work tickets), less whoever holds it now."""
    team = ctx.directory.team(ticket.team_id) if ticket.team_id else None
    if team is None:
        return ()
    ids = [pid for pid in assignable(team, ctx.directory) if pid != ticket.assignee_id]
    return tuple((pid, display_name(ctx.directory, pid, locale) or pid) for pid in ids)


def local_time(instant: datetime, zone: str) -> str:
    """An instant as the reader's wall clock, with the zone named so nobody guesses."""
    wall = instant.astimezone(ZoneInfo(zone)).isoformat(" ", "minutes")[:16]  # 2026-11-22 10:05
    return f"{wall} ({zone})"


def duration_text(delta: timedelta, locale: Locale) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("duration.days", locale, d=days, h=hours)
    if hours:
        return t("duration.hours", locale, h=hours, m=mins)
    return t("duration.minutes", locale, m=mins)
