"""DingTalk staff as people: the directory API (/topapi/v2/user/get) behind the kit's resolver.

Who a staffId is (configured identity, same e-mail, or a new requester), the cache, the one
lookup per person and the retry after a failure are `adapters.kit.people`; this module only
reads DingTalk's user objects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from adapters.contract import DeliveryError
from adapters.dingtalk.client import DingTalkClient
from adapters.kit.people import LookupFailed, Now, PeopleResolver, Profile, Sleep, text_field
from adapters.ports import People
from core.i18n import Locale
from core.people import Person
from core.ticket import ChannelRef

CHANNEL = "dingtalk"
GROUP_PREFIX = "cid"  # openConversationIds start with "cid"; staffIds never do


class DingTalkDirectory:
    """The organisation's staff, read by staffId (name, e-mail, whether still active)."""

    def __init__(self, client: DingTalkClient) -> None:
        self.client = client
        # staffId -> the senderNick their messages carry: the name of someone the directory
        # does not hold (a guest from another organisation in a shared group)
        self.nicks: dict[str, str] = {}

    async def lookup(self, user_id: str) -> Profile | None:
        try:
            user = await self.client.user(user_id)
        except DeliveryError as exc:
            raise LookupFailed.of(exc) from exc
        if user is None:
            nick = self.nicks.get(user_id)
            return Profile(user_id, name=nick) if nick else None
        return Profile(
            user_id=user_id,
            name=text_field(user, "name"),
            email=text_field(user, "email") or text_field(user, "org_email"),
            deactivated=user.get("active") is False,
        )


class DingTalkPeople(PeopleResolver):
    """staffId -> Person through the kit; `staff_id_of` is the reverse (to write to someone)."""

    def __init__(
        self,
        client: DingTalkClient,
        gateway: People,
        people: Iterable[Person],
        locale: Locale,
        *,
        now: Now = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.staff = DingTalkDirectory(client)
        super().__init__(CHANNEL, gateway, people, locale, self.staff, now=now, sleep=sleep)

    async def sender(self, staff_id: str, nick: str) -> Person:
        """The Person who sent a robot message; `nick` (its senderNick) names them when the
        directory has no entry for them."""
        if nick:
            self.staff.nicks[staff_id] = nick
        return await self.person(staff_id)

    def staff_id_of(self, person_id: str) -> str | None:
        return self.user_of(person_id)


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
