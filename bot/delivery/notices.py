"""Where reminders and escalations go, and how the outbox delivers them.

A notice for a person becomes a card in their direct conversation on every running channel
that can reach them (each channel's `direct_ref`). A notice for the team becomes one line in
the team's group chat: the conversation the ticket came from (unless that is someone's direct
conversation), else the first channel that names a room for the team (`team_room`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from adapters.contract import CardRenderer, Channel, DeliveryError, Reach
from bot.delivery.dispatcher import Dispatcher, posted
from core.escalation import NoticeKind
from core.i18n import LOCALES, Text
from core.notice_card import build_notice_card, notice_cards, stored_notice_cards
from core.people import Person
from core.ports import Context, PersonNotice, UnitOfWork
from core.ticket import ChannelRef, Ticket
from core.timekeeping import Notice
from storage import outbox
from storage.settle import Settlement
from storage.unit_of_work import Send, StorageUnitOfWork

NOTICE_KINDS = frozenset({"remind", "escalate"})


@dataclass(frozen=True)
class NoticeRouter:
    ctx: Context
    # the running channels, in registry order
    channels: Sequence[Reach]

    def sends(self, ticket: Ticket, notice: Notice) -> list[Send]:
        payload: dict[str, Any] = {"notice": notice.to_json(), "key": notice.key}
        if notice.person_id is not None:
            kind = "remind" if notice.kind is NoticeKind.REMINDER else "escalate"
            return [
                Send(ticket.key, where, kind, payload, notice.deliver_at)
                for where in self.direct(notice.person_id)
            ]
        room = self.team_room(ticket)
        if room is None:
            return []
        text = {
            loc: "⏰ " + build_notice_card(ticket, self.ctx, loc, notice).body for loc in LOCALES
        }
        line = {"text": text, "key": notice.key}
        return [Send(ticket.key, room, "notice", line, notice.deliver_at)]

    def person_sends(self, notice: PersonNotice, hold: timedelta) -> list[Send]:
        """A line for a person (core.handlers.informing) to their direct rooms, held `hold` so
        the lines that follow within it go out as one message (storage.flush coalesces). The
        line is kept in every language: each channel shows the one its reader reads (the
        recipient's, or the web chat page's choice), as cards do."""
        texts = {loc: notice.texts.get(loc) or notice.text for loc in LOCALES}
        payload: dict[str, Any] = {
            "text": texts,
            "lines": [texts],  # storage.coalesce joins a person's lines per language
            "person": notice.person_id,
        }
        return [
            Send(notice.ticket_key, where, "notice", payload, notice.at + hold, coalesce=True)
            for where in self.direct(notice.person_id)
        ]

    def route_people(self, uow: UnitOfWork, hold: timedelta) -> None:
        """Turn the people notices a command queued into outbox sends, in the same transaction."""
        if not isinstance(uow, StorageUnitOfWork):
            return
        notices, uow.buffers.notices = uow.buffers.notices, []
        for notice in notices:
            for send in self.person_sends(notice, hold):
                uow.send(send)

    def direct(self, person_id: str) -> list[ChannelRef]:
        # someone the directory no longer knows still gets what needs no identity (a web chat
        # direct room, which then refuses the delivery for good), as before channels said it
        person = self.ctx.directory.person(person_id) or Person(
            person_id, Text(person_id, person_id)
        )
        return [ref for ch in self.channels if (ref := ch.direct_ref(person)) is not None]

    def team_room(self, ticket: Ticket) -> ChannelRef | None:
        origin = ticket.origin
        running = {ch.name: ch for ch in self.channels}
        came_from = running.get(origin.channel) if origin is not None else None
        if origin is not None and origin.conversation and came_from is not None:
            where = ChannelRef(origin.channel, origin.conversation, origin.thread)
            if not came_from.is_direct(where):
                return where
        team = ticket.team_id or ""
        return next((r for ch in self.channels if (r := ch.team_room(team)) is not None), None)


class NoticeDispatcher(Dispatcher):
    """The outbox dispatcher, also delivering reminder and escalation cards."""

    async def _send(self, channel: Channel, item: outbox.OutboxItem, done: Settlement) -> None:
        if item.kind not in NOTICE_KINDS:
            await super()._send(channel, item, done)
            return
        ticket = await self._ticket(item)
        if ticket is None:
            raise DeliveryError("ticket is gone", permanent=True)
        notice = Notice.from_json(item.payload["notice"])
        cards = notice_cards(ticket, self.ctx, notice)
        ref = await channel.post_card(ChannelRef.from_json(item.target), cards)
        if (
            notice.person_id is None
            or ticket.id is None
            or not channel.capabilities.update_in_place
        ):
            # a team's line, or a card its platform cannot change: it stays as it was sent
            done.sent.append(item.id)
            return
        # a person's reminder or escalation is kept up to date like the ticket's own card
        done.posted.append(posted(item, ticket, ref, notice=notice.to_json()))

    def _renderer(self, ticket: Ticket, item: outbox.OutboxItem) -> CardRenderer:
        notice = item.target.get("notice")
        if isinstance(notice, dict):  # a reminder's or escalation's card: shown as one
            return stored_notice_cards(ticket, self.ctx, notice)
        return super()._renderer(ticket, item)
