"""WeCom userid -> Person, and how notices reach a person on WeCom.

The smart robot and the company app see the corp's same `userid`, so both paths resolve through
one WeComPeople: configured identity (`identities.wecom`), else — looked up once with the app's
`user/get` — the configured person with that e-mail, else a new requester named from WeCom.
Without the app there is nothing to look up: the stranger is a requester named by their userid.
(Kept small here until the kit has a shared people resolver.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from adapters.contract import DeliveryError
from adapters.ports import People
from adapters.wecom.client import AppClient
from core.i18n import Locale, Text
from core.people import Person, Role

log = logging.getLogger("gongdan.wecom")

CHANNEL = "wecom"


class WeComPeople:
    def __init__(
        self, gateway: People, app: AppClient | None, configured: Iterable[Person], locale: Locale
    ) -> None:
        self.gateway = gateway
        self.app = app
        self.locale = locale
        self._by_email = {p.email.lower(): p.id for p in configured if p.email}
        self._cache: dict[str, Person] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def person(self, userid: str) -> Person:
        cached = self._cache.get(userid)
        if cached is not None:
            return cached
        async with self._locks.setdefault(userid, asyncio.Lock()):
            cached = self._cache.get(userid)
            if cached is None:
                cached = self._cache[userid] = await self._resolve(userid)
            return cached

    async def _resolve(self, userid: str) -> Person:
        directory = self.gateway.directory
        known = directory.by_identity(CHANNEL, userid)
        if known is not None:
            return known
        profile: Mapping[str, Any] = {}
        if self.app is not None:
            try:
                profile = await self.app.user(userid)
            except DeliveryError as exc:
                log.warning(
                    "wecom user/get failed; using the bare userid", extra={"error": str(exc)}
                )
        email = _str(profile, "email") or _str(profile, "biz_mail")
        match = self._by_email.get(email.lower()) if email else None
        existing = directory.person(match) if match else None
        if existing is not None:
            person = replace(existing, identities={**existing.identities, CHANNEL: userid})
        else:
            name = _str(profile, "name") or userid
            person = Person(
                id=f"{CHANNEL}:{userid}",
                name=Text(name, name),
                email=email or None,
                locale=self.locale,
                roles=frozenset({Role.REQUESTER}),
                identities={CHANNEL: userid},
            )
        await self.gateway.register_person(person)
        return person


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""
