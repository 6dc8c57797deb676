"""Slack user id -> Person: configured identity, else the same e-mail, else a new requester.

Anyone in the workspace may raise a ticket, so an unknown user is never refused: they become a
requester named from their Slack profile. Answers are cached for the life of the process.

The other way round, link_by_email finds configured people who have an e-mail but no Slack
identity with users.lookupByEmail, so reminders and escalations can reach them on Slack before
they ever write to the bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from adapters.contract import DeliveryError
from adapters.ports import People
from adapters.slack.client import SlackClient
from core.i18n import Locale, Text
from core.people import Person, Role
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.slack")

CHANNEL = "slack"
# users.lookupByEmail is Tier 3 (about 50 a minute): one lookup a second stays well inside it
LOOKUP_INTERVAL_S = 1.0
LOOKUP_ATTEMPTS = 5  # 429s in a row for one address before it is left for the next start

Sleep = Callable[[float], Awaitable[None]]


class SlackPeople:
    def __init__(
        self,
        client: SlackClient,
        gateway: People,
        people: Iterable[Person],
        locale: Locale,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.client = client
        self.gateway = gateway
        self.locale = locale
        self.sleep = sleep  # paces link_by_email and waits out its 429s; tests record it
        # e-mail -> person id, from the configured people (the only ones with trusted e-mails)
        self._by_email = {p.email.lower(): p.id for p in people if p.email}
        self._cache: dict[str, Person] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def person(self, user_id: str) -> Person:
        """The Person behind a Slack user, learning (and persisting) them on first sight."""
        cached = self._cache.get(user_id)
        if cached is not None:
            return cached
        # one lookup per user even when their first messages arrive together
        async with self._locks.setdefault(user_id, asyncio.Lock()):
            cached = self._cache.get(user_id)
            if cached is None:
                cached = self._cache[user_id] = await self._resolve(user_id)
            return cached

    def slack_user_of(self, person_id: str) -> str | None:
        """The Slack user id of a person, if known (to address an ephemeral notice)."""
        person = self.gateway.directory.person(person_id)
        return person.identities.get(CHANNEL) if person is not None else None

    async def link_by_email(self, configured: Iterable[Person]) -> list[Person]:
        """Give each configured person with an e-mail and no Slack identity their Slack user.

        One users.lookupByEmail a second; a 429 is retried after its Retry-After. Nobody with
        that address, a deactivated account or a bot links nothing. A passing failure skips the
        person (they are linked when they first write, or at the next start); a refusal no
        retry can fix (missing scope, revoked token) ends the pass. Returns who was linked.
        """
        people = list(configured)
        owners = {p.id for p in people}
        linked: list[Person] = []
        asked = False
        for candidate in people:
            current = self.gateway.directory.person(candidate.id) or candidate
            if not current.email or CHANNEL in current.identities:
                continue
            if asked:
                await self.sleep(LOOKUP_INTERVAL_S)
            asked = True
            try:
                user = await self._lookup(current.email)
            except DeliveryError as exc:
                if exc.permanent:
                    log.error(
                        "users.lookupByEmail refused; people are not linked by e-mail",
                        extra={"error": str(exc)},
                    )
                    break
                log.warning(
                    "users.lookupByEmail failed; skipped",
                    extra={"person": candidate.id, "error": str(exc)},
                )
                continue
            user_id = _str(user, "id")
            if user is None or user_id is None:
                log.debug("no Slack user has this e-mail", extra={"person": candidate.id})
                continue
            if user.get("deleted") or user.get("is_bot"):
                log.info(
                    "Slack user with this e-mail is deactivated or a bot; not linked",
                    extra={"person": candidate.id, "slack_user": user_id},
                )
                continue
            person = await self._link(candidate.id, user_id, owners)
            if person is not None:
                linked.append(person)
        if linked:
            log.info("people linked to Slack by e-mail", extra={"linked": len(linked)})
        return linked

    async def _lookup(self, email: str) -> dict[str, Any] | None:
        attempt = 1
        while True:
            try:
                return await self.client.lookup_by_email(email)
            except DeliveryError as exc:
                if exc.retry_after is None or attempt >= LOOKUP_ATTEMPTS:
                    raise
                await self.sleep(exc.retry_after)
                attempt += 1

    async def _link(self, person_id: str, user_id: str, configured: set[str]) -> Person | None:
        """Add the Slack identity, as _resolve does for an e-mail match (same lock, same cache)."""
        async with self._locks.setdefault(user_id, asyncio.Lock()):
            directory = self.gateway.directory
            current = directory.person(person_id)
            if current is None or CHANNEL in current.identities:
                return None  # they wrote to the bot meanwhile and were linked then
            owner = directory.by_identity(CHANNEL, user_id)
            if owner is not None and owner.id != person_id and owner.id in configured:
                log.warning(
                    "Slack user already belongs to another configured person; not linked",
                    extra={"person": person_id, "slack_user": user_id, "owner": owner.id},
                )
                return None
            person = replace(current, identities={**current.identities, CHANNEL: user_id})
            await self.gateway.register_person(person)
            self._cache[user_id] = person
            return person

    async def _resolve(self, user_id: str) -> Person:
        directory = self.gateway.directory
        known = directory.by_identity(CHANNEL, user_id)
        if known is not None:
            return known
        try:
            profile = await self.client.user_info(user_id)
        except DeliveryError as exc:
            # still let them raise the ticket; they are named by their id until Slack answers
            log.warning("users.info failed; using the bare user id", extra={"error": str(exc)})
            profile = None
        email = _email(profile)
        match = self._by_email.get(email.lower()) if email else None
        existing = directory.person(match) if match else None
        if existing is not None:
            person = replace(existing, identities={**existing.identities, CHANNEL: user_id})
        else:
            name = _name(profile) or user_id
            person = Person(
                id=f"{CHANNEL}:{user_id}",
                name=Text(name, name),
                email=email,
                locale=self.locale,
                roles=frozenset({Role.REQUESTER}),
                identities={CHANNEL: user_id},
                timezone=_str(profile, "tz"),
            )
        await self.gateway.register_person(person)
        return person


def _profile(user: Mapping[str, Any] | None) -> Mapping[str, Any]:
    profile = user.get("profile") if user else None
    return profile if isinstance(profile, Mapping) else {}


def _email(user: Mapping[str, Any] | None) -> str | None:
    return _str(_profile(user), "email")


def _name(user: Mapping[str, Any] | None) -> str | None:
    profile = _profile(user)
    return (
        _str(profile, "real_name")
        or _str(profile, "display_name")
        or _str(user, "real_name")
        or _str(user, "name")
    )


def _str(data: Mapping[str, Any] | None, key: str) -> str | None:
    value = data.get(key) if data else None
    return value if isinstance(value, str) and value else None


class SlackReach:
    """How notices find people on Slack: a DM to their Slack user id. Team notices go to the
    conversation the ticket came from; Slack names no fallback room."""

    name = CHANNEL

    def direct_ref(self, person: Person) -> ChannelRef | None:
        user = person.identities.get(CHANNEL)
        return ChannelRef(CHANNEL, user) if user else None

    def is_direct(self, where: ChannelRef) -> bool:
        return False

    def team_room(self, team_id: str) -> ChannelRef | None:
        return None
