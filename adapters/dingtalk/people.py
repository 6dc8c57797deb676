"""DingTalk staffId → Person: configured identity (identities.dingtalk), else one directory
lookup (name, e-mail, mobile) linked to a configured person with the same e-mail, else a new
requester. Registered people are persisted by the bot, so a restart looks nobody up again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from adapters.contract import DeliveryError
from adapters.dingtalk.client import DingTalkClient
from adapters.ports import People
from core.i18n import Locale, Text
from core.people import Person, Role
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.dingtalk")

CHANNEL = "dingtalk"
GROUP_PREFIX = "cid"  # openConversationIds start with "cid"; staffIds never do


class DingTalkPeople:
    def __init__(
        self, client: DingTalkClient, ports: People, people: Iterable[Person], locale: Locale
    ) -> None:
        self.client = client
        self.ports = ports
        self.locale = locale
        self._by_email = {p.email.lower(): p.id for p in people if p.email}
        self._cache: dict[str, Person] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def person(self, staff_id: str, nick: str = "") -> Person:
        """The Person behind a staffId, looked up and registered on first sight."""
        cached = self._cache.get(staff_id)
        if cached is not None:
            return cached
        known = self.ports.directory.by_identity(CHANNEL, staff_id)
        if known is not None:
            self._cache[staff_id] = known
            return known
        async with self._locks.setdefault(staff_id, asyncio.Lock()):
            cached = self._cache.get(staff_id)
            if cached is None:
                cached = self._cache[staff_id] = await self._resolve(staff_id, nick)
            return cached

    def staff_id_of(self, person_id: str) -> str | None:
        person = self.ports.directory.person(person_id)
        return person.identities.get(CHANNEL) if person is not None else None

    async def _resolve(self, staff_id: str, nick: str) -> Person:
        try:
            user: dict[str, Any] | None = await self.client.user(staff_id)
        except DeliveryError as exc:
            log.warning("dingtalk directory lookup failed", extra={"error": str(exc)})
            user = None
        email = _str(user, "email") or _str(user, "org_email")
        match = self._by_email.get(email.lower()) if email else None
        existing = self.ports.directory.person(match) if match else None
        if existing is not None:
            person = replace(existing, identities={**existing.identities, CHANNEL: staff_id})
        else:
            name = _str(user, "name") or nick or staff_id
            person = Person(
                id=f"{CHANNEL}:{staff_id}",
                name=Text(name, name),
                email=email,
                locale=self.locale,
                roles=frozenset({Role.REQUESTER}),
                identities={CHANNEL: staff_id},
            )
        await self.ports.register_person(person)
        return person


def _str(data: dict[str, Any] | None, key: str) -> str | None:
    value = data.get(key) if data else None
    return value if isinstance(value, str) and value else None


class DingTalkReach:
    """Notices reach a person in their 1:1 chat with the robot (by staffId); team notices go
    to the group the ticket came from, so there is no fallback room."""

    name = CHANNEL

    def direct_ref(self, person: Person) -> ChannelRef | None:
        staff = person.identities.get(CHANNEL)
        return ChannelRef(CHANNEL, staff) if staff else None

    def is_direct(self, where: ChannelRef) -> bool:
        return where.channel == CHANNEL and not (where.conversation or "").startswith(GROUP_PREFIX)

    def team_room(self, team_id: str) -> ChannelRef | None:
        return None
