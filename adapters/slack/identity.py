"""Slack user id -> Person: configured identity, else the same e-mail, else a new requester.

Anyone in the workspace may raise a ticket, so an unknown user is never refused: they become a
requester named from their Slack profile. Answers are cached for the life of the process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from adapters.base import DeliveryError, Gateway
from adapters.slack.client import SlackClient
from core.i18n import Locale, Text
from core.people import Person, Role

log = logging.getLogger("gongdan.slack")

CHANNEL = "slack"


class SlackPeople:
    def __init__(
        self,
        client: SlackClient,
        gateway: Gateway,
        people: Iterable[Person],
        locale: Locale,
    ) -> None:
        self.client = client
        self.gateway = gateway
        self.locale = locale
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
