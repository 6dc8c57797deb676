"""Reminder and escalation cards: a late ticket as its assignee or their manager sees it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from core.card import (
    ActionKind,
    Card,
    CardAction,
    CardField,
    CardKind,
    Colour,
    Style,
    assignee_text,
    duration_text,
    local_time,
    sla_label,
    team_options,
    ticket_card,
)
from core.escalation import NoticeKind
from core.i18n import Locale, t
from core.ports import Context
from core.ticket import Status, Ticket
from core.timekeeping import Notice
from core.workflow import Action


def build_notice_card(
    ticket: Ticket, ctx: Context, locale: Locale, notice: Notice, *, at: datetime | None = None
) -> Card:
    """A reminder for the assignee (Accept, Snooze) or an escalation for a manager (Reassign,
    Take over): which ticket, how late, who holds it and what has happened so far.

    at: the instant its words speak of (how late, how long ago); by default now. A card updated
    after the ticket changed keeps the words of its notice's moment, and shows the ticket's
    status, holder and buttons as they are."""
    now = at or ctx.clock.now()
    person = ctx.directory.person(notice.person_id) if notice.person_id else None
    zone = (person.timezone if person else None) or ctx.schedule.timezone
    metric = t(f"metric.{notice.metric}", locale)
    base = {"key": ticket.key, "title": ticket.title, "metric": metric}
    fields = [
        CardField(t("field.priority", locale), t(f"priority.{ticket.priority.value}", locale)),
        CardField(t("field.held_by", locale), assignee_text(ticket, ctx, locale)),
    ]
    due = notice.due_at
    if due is not None:
        fields.append(CardField(sla_label(notice.metric, locale), local_time(due, zone), at=due))
    reminder = notice.kind is NoticeKind.REMINDER
    if reminder:
        if due is None:
            body = t("msg.reminder", locale, **base)
        elif due > now:
            left = duration_text(due - now, locale)
            body = t("msg.reminder_due", locale, due=local_time(due, zone), left=left, **base)
        else:
            late = duration_text(now - due, locale)
            body = t("msg.reminder_late", locale, due=local_time(due, zone), late=late, **base)
    else:
        late_by = now - due if due is not None and due < now else None
        if late_by is not None:
            fields.append(CardField(t("field.late_by", locale), duration_text(late_by, locale)))
            body = t("msg.escalation", locale, late=duration_text(late_by, locale), **base)
        else:
            body = t("msg.escalation_plain", locale, **base)
        fields.append(CardField(t("field.history", locale), _history(ticket, notice, now, locale)))
    return ticket_card(
        ticket,
        locale,
        colour=Colour.YELLOW if reminder else Colour.RED,
        fields=tuple(fields),
        actions=tuple(_notice_actions(ticket, ctx, locale, reminder)),
        body=body,
        kind=CardKind.REMINDER if reminder else CardKind.ESCALATION,
        notice_key=notice.key,
    )


def notice_cards(
    ticket: Ticket, ctx: Context, notice: Notice, *, at: datetime | None = None
) -> Callable[[Locale], Card]:
    """`build_notice_card` per language, each drawn once (a delivery asks per recipient)."""
    cache: dict[Locale, Card] = {}

    def cards(locale: Locale) -> Card:
        if locale not in cache:
            cache[locale] = build_notice_card(ticket, ctx, locale, notice, at=at)
        return cache[locale]

    return cards


def stored_notice_cards(
    ticket: Ticket, ctx: Context, stored: Mapping[str, Any]
) -> Callable[[Locale], Card]:
    """A reminder or escalation card drawn again from its stored notice (`Notice.to_json`): the
    words of its moment, the ticket's status, holder and buttons as they are."""
    notice = Notice.from_json(stored)
    return notice_cards(ticket, ctx, notice, at=notice.deliver_at)


def _history(ticket: Ticket, notice: Notice, now: datetime, locale: Locale) -> str:
    parts = [t("history.opened", locale, ago=duration_text(now - ticket.created_at, locale))]
    if ticket.status in (Status.NEW, Status.ASSIGNED):
        parts.append(t("history.not_accepted", locale))
    else:
        parts.append(t("history.status", locale, status=t(f"status.{ticket.status.value}", locale)))
    if notice.earlier:
        key = "history.notice_one" if notice.earlier == 1 else "history.notices"
        parts.append(t(key, locale, n=notice.earlier))
    return ("；" if locale == "zh-CN" else "; ").join(parts)


def _notice_actions(
    ticket: Ticket, ctx: Context, locale: Locale, reminder: bool
) -> list[CardAction]:
    if not ticket.is_open:
        return []
    waiting = ticket.status in (Status.NEW, Status.ASSIGNED)
    if reminder:
        out = []
        if waiting:
            out.append(CardAction(Action.ACCEPT, t("action.accept", locale), style=Style.PRIMARY))
        out.append(CardAction(Action.SNOOZE, t("action.snooze", locale)))
        return out
    out = [
        CardAction(
            Action.ASSIGN,
            t("action.assign", locale),
            ActionKind.PERSON_SELECT,
            options=team_options(ticket, ctx, locale),
        )
    ]
    if waiting:
        # a lead or manager claiming the ticket takes it over
        out.append(CardAction(Action.CLAIM, t("action.take_over", locale), style=Style.PRIMARY))
    return out
