"""Where reminders and escalations go, and how the outbox delivers them.

A notice for a person becomes a card in their direct conversation on every channel that can
reach them (web chat: the room "dm:<person id>"; Slack: their user id). A notice for the team
becomes one line in the team's group chat: the conversation the ticket came from, else the web
chat help desk room that files tickets for that team.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from adapters.base import Channel, DeliveryError
from bot.delivery.dispatcher import Dispatcher
from core.card import Card, build_notice_card
from core.escalation import NotifyKind
from core.i18n import LOCALES, Locale
from core.ports import Context, PersonNotice, UnitOfWork
from core.ticket import ChannelRef, Ticket
from core.timekeeping import Notice
from storage import outbox
from storage.settle import Settlement
from storage.unit_of_work import Send, StorageUnitOfWork

NOTICE_KINDS = frozenset({"remind", "escalate"})
DM_PREFIX = "dm:"


@dataclass(frozen=True)
class NoticeRouter:
    ctx: Context
    # channel names that are running
    channels: frozenset[str]
    # web chat help desk rooms by the team their ticket type files into
    team_rooms: Mapping[str, str]

    def sends(self, ticket: Ticket, notice: Notice) -> list[Send]:
        payload: dict[str, Any] = {"notice": notice.to_json(), "key": notice.key}
        if notice.person_id is not None:
            kind = "remind" if notice.kind is NotifyKind.REMINDER else "escalate"
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
        the lines that follow within it go out as one message (storage.flush coalesces)."""
        payload: dict[str, Any] = {
            "text": dict.fromkeys(LOCALES, notice.text),  # already in the person's language
            "lines": [notice.text],
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
        found = []
        if "webchat" in self.channels:
            found.append(ChannelRef("webchat", DM_PREFIX + person_id))
        person = self.ctx.directory.person(person_id)
        slack_id = person.identities.get("slack") if person else None
        if "slack" in self.channels and slack_id:
            found.append(ChannelRef("slack", slack_id))
        return found

    def team_room(self, ticket: Ticket) -> ChannelRef | None:
        origin = ticket.origin
        if (
            origin is not None
            and origin.conversation
            and origin.channel in self.channels
            and not origin.conversation.startswith(DM_PREFIX)
        ):
            return ChannelRef(origin.channel, origin.conversation, origin.thread)
        room = self.team_rooms.get(ticket.team_id or "")
        if room is not None and "webchat" in self.channels:
            return ChannelRef("webchat", room)
        return None


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
        cache: dict[Locale, Card] = {}

        def cards(locale: Locale) -> Card:
            if locale not in cache:
                cache[locale] = build_notice_card(ticket, self.ctx, locale, notice)
            return cache[locale]

        await channel.post_card(ChannelRef.from_json(item.target), cards)
        done.sent.append(item.id)
