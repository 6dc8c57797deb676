"""Slack users as people: users.info and users.lookupByEmail behind the kit's resolver.

Who a Slack user is (configured identity, same e-mail, or a new requester), the cache and the
pacing of e-mail lookups are `adapters.kit.people`; this module only reads Slack's user objects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

from adapters.contract import DeliveryError
from adapters.kit.people import (
    LINK_INTERVAL_S,
    LookupFailed,
    Now,
    PeopleResolver,
    Profile,
    Sleep,
    text_field,
)
from adapters.ports import People
from adapters.slack.client import SlackClient
from core.i18n import Locale
from core.people import Person
from core.ticket import ChannelRef

CHANNEL = "slack"
LOOKUP_INTERVAL_S = LINK_INTERVAL_S


class SlackDirectory:
    """The workspace's users, read through users.info and users.lookupByEmail."""

    def __init__(self, client: SlackClient) -> None:
        self.client = client

    async def lookup(self, user_id: str) -> Profile | None:
        return _profile(await _asking(self.client.user_info(user_id)), user_id)

    async def lookup_by_email(self, email: str) -> Profile | None:
        return _profile(await _asking(self.client.lookup_by_email(email)), None)


class SlackPeople(PeopleResolver):
    """Slack user id -> Person; link_by_email finds configured people on Slack at start."""

    def __init__(
        self,
        client: SlackClient,
        gateway: People,
        people: Iterable[Person],
        locale: Locale,
        sleep: Sleep = asyncio.sleep,
        now: Now = time.monotonic,
    ) -> None:
        users = SlackDirectory(client)
        super().__init__(
            CHANNEL, gateway, people, locale, users, finder=users, now=now, sleep=sleep
        )

    def slack_user_of(self, person_id: str) -> str | None:
        """The Slack user id of a person, if known (to address an ephemeral notice)."""
        return self.user_of(person_id)


async def _asking(call: Awaitable[dict[str, Any] | None]) -> dict[str, Any] | None:
    try:
        return await call
    except DeliveryError as exc:
        raise LookupFailed.of(exc) from exc


def _profile(user: Mapping[str, Any] | None, user_id: str | None) -> Profile | None:
    if user is None:
        return None
    uid = user_id or text_field(user, "id")
    if uid is None:
        return None
    profile = user.get("profile")
    details: Mapping[str, Any] = profile if isinstance(profile, Mapping) else {}
    return Profile(
        user_id=uid,
        name=(
            text_field(details, "real_name")
            or text_field(details, "display_name")
            or text_field(user, "real_name")
            or text_field(user, "name")
        ),
        email=text_field(details, "email"),
        timezone=text_field(user, "tz"),
        is_bot=bool(user.get("is_bot")),
        deactivated=bool(user.get("deleted")),
    )


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
