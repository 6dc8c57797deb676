"""WeCom members as people: the company app's `user/get` behind the kit's resolver.

The smart robot and the company app see the corp's same `userid`, so both paths resolve through
one WeComPeople, and a member met on both is one person. Who a userid is (configured identity,
same e-mail, or a new requester), the one lookup per person and the retry after a failure are
`adapters.kit.people`; this module only reads WeCom's member objects. Without the app there is
nothing to look up: a stranger is a requester named by their userid.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from adapters.contract import DeliveryError
from adapters.kit.people import LookupFailed, Now, PeopleResolver, Profile, Sleep, text_field
from adapters.ports import People
from adapters.wecom.client import AppClient, WeComError
from core.i18n import Locale
from core.people import Person

CHANNEL = "wecom"
NO_SUCH_USER = 60111  # user/get: "userid not found"
INACTIVE = (2, 4, 5)  # status: disabled, not yet activated, left the corp


class WeComDirectory:
    """The corp's members, read by userid with the app's user/get (name, e-mail, status)."""

    def __init__(self, app: AppClient) -> None:
        self.app = app

    async def lookup(self, user_id: str) -> Profile | None:
        try:
            user = await self.app.user(user_id)
        except DeliveryError as exc:
            if isinstance(exc, WeComError) and exc.errcode == NO_SUCH_USER:
                return None
            raise LookupFailed.of(exc) from exc
        return Profile(
            user_id=user_id,
            name=text_field(user, "name"),
            email=text_field(user, "email") or text_field(user, "biz_mail"),
            deactivated=user.get("status") in INACTIVE,
        )


class WeComPeople(PeopleResolver):
    """userid -> Person through the kit, for the robot and the app alike."""

    def __init__(
        self,
        gateway: People,
        app: AppClient | None,
        configured: Iterable[Person],
        locale: Locale,
        *,
        now: Now = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        lookup = WeComDirectory(app) if app is not None else None
        super().__init__(CHANNEL, gateway, configured, locale, lookup, now=now, sleep=sleep)
