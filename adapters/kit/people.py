"""A sender on a platform -> Person, written once for every channel.

The configured identity wins. Else the platform's directory is asked once (a `DirectoryLookup`
the channel implements); a profile with a configured person's e-mail is linked to that person;
anyone else becomes a requester named from their profile. Everyone is registered through the
People port, so the directory (and after a restart, the database) remembers them: the directory
is the cache. Nobody is ever refused: when the platform cannot answer, the sender is registered
under their bare id and looked up again later.

The other way round, `link_by_email` finds configured people who have an e-mail but no identity
on the channel, paced and waiting out rate limits, so notices reach them before they write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from adapters.ports import People
from core.i18n import Locale, Text
from core.people import Person, Role

log = logging.getLogger("gongdan.people")

# a sender registered under their bare id because the platform failed is looked up again after
RETRY_S = 300.0
# one lookup by e-mail a second stays inside Slack's Tier 3 (about 50 a minute) and most others
LINK_INTERVAL_S = 1.0
LINK_ATTEMPTS = 5  # rate limits in a row for one address before it is left for the next start

Now = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Profile:
    """What a platform's directory says about one of its users."""

    user_id: str
    name: str | None = None
    email: str | None = None
    locale: Locale | None = None
    timezone: str | None = None
    is_bot: bool = False
    deactivated: bool = False

    @property
    def linkable(self) -> bool:
        """Whether the e-mail may stand for a configured person (never a bot's or a gone one's)."""
        return bool(self.email) and not self.is_bot and not self.deactivated


class LookupFailed(Exception):
    """The platform did not answer a directory lookup. `retry_after` (seconds) for a rate
    limit; `permanent` for what no retry fixes (a missing scope, a revoked token)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent

    @classmethod
    def of(cls, exc: Exception) -> LookupFailed:
        """A channel's delivery error as a failed lookup, keeping its wait and its finality."""
        retry_after = getattr(exc, "retry_after", None)
        return cls(
            str(exc),
            retry_after=retry_after if isinstance(retry_after, int | float) else None,
            permanent=getattr(exc, "permanent", False) is True,
        )


class DirectoryLookup(Protocol):
    """A platform's user directory, as a channel exposes it to the resolver."""

    async def lookup(self, user_id: str) -> Profile | None:
        """The user's profile; None when the platform knows no such user; LookupFailed else."""
        ...


class EmailLookup(Protocol):
    """A platform that can find its user by e-mail (Slack's users.lookupByEmail)."""

    async def lookup_by_email(self, email: str) -> Profile | None:
        """The user with that e-mail; None when nobody has it; LookupFailed else."""
        ...


class PeopleResolver:
    """Platform user id -> Person for one channel.

    `id_prefix` names the requesters it registers (`slack:` + user id); `link_identity` adds the
    channel identity to a configured person matched by e-mail (off for mail, where the address
    is the identity and the configured e-mail already says it).
    """

    def __init__(
        self,
        channel: str,
        people: People,
        configured: Iterable[Person],
        locale: Locale,
        lookup: DirectoryLookup | None = None,
        *,
        finder: EmailLookup | None = None,
        id_prefix: str | None = None,
        link_identity: bool = True,
        now: Now = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.channel = channel
        self.people = people
        self.locale = locale
        self.lookup = lookup
        self.finder = finder
        self.id_prefix = f"{channel}:" if id_prefix is None else id_prefix
        self.link_identity = link_identity
        self.now = now
        self.sleep = sleep  # paces link_by_email and waits out its rate limits; tests record it
        # e-mail -> configured person (the only people whose e-mails are trusted)
        self._by_email = {p.email.lower(): p for p in configured if p.email}
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        # user id -> when a sender registered under their bare id is looked up again
        self._retry_at: dict[str, float] = {}
        self._paused_until = 0.0  # the platform rate-limited a lookup: ask nobody until then

    def named(self, user_id: str, email: str | None = None) -> Person | None:
        """Who this user id (or a configured e-mail) names, asking no platform."""
        known = self.people.directory.by_identity(self.channel, user_id)
        if known is not None:
            return known
        return self._by_email.get(email.lower()) if email else None

    def user_of(self, person_id: str) -> str | None:
        """The person's user id on this channel, if known (to address them directly)."""
        person = self.people.directory.person(person_id)
        return person.identities.get(self.channel) if person is not None else None

    async def person(self, user_id: str, seen: Profile | None = None) -> Person:
        """The Person behind a user id, learning (and registering) them on first sight.

        `seen` is a profile the message itself carries (a mail's From); with it nobody is asked.
        """
        known = self._known(user_id)
        if known is not None:
            return known
        # one lookup per user even when their first messages arrive together
        async with self._one_at_a_time(user_id):
            known = self._known(user_id)
            if known is not None:
                return known
            profile = seen if seen is not None else await self._look_up(user_id)
            return await self._register(user_id, profile)

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, user_id: str) -> AsyncIterator[None]:
        """A lock per user id, dropped when nobody holds or awaits it (mail meets many)."""
        lock, users = self._locks.get(user_id, (asyncio.Lock(), 0))
        self._locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[user_id]
            if users == 1:
                del self._locks[user_id]
            else:
                self._locks[user_id] = (lock, users - 1)

    def _known(self, user_id: str) -> Person | None:
        known = self.people.directory.by_identity(self.channel, user_id)
        if known is None or not self._bare(known, user_id):
            return known
        # registered under their bare id: ask the platform again once it is time
        due = self.lookup is not None and self.now() >= self._retry_at.get(user_id, 0.0)
        return None if due else known

    def _bare(self, person: Person, user_id: str) -> bool:
        """Registered with nothing but the user id (the platform had not answered)."""
        return (
            person.id == self.id_prefix + user_id
            and person.email is None
            and person.name == Text(user_id, user_id)
        )

    async def _look_up(self, user_id: str) -> Profile | None:
        if self.lookup is None:
            return None
        now = self.now()
        if now < self._paused_until:
            self._retry_at[user_id] = self._paused_until
            return None
        try:
            profile = await self.lookup.lookup(user_id)
        except LookupFailed as exc:
            # still let them raise the ticket; they are named by their id until the platform answers
            log.warning(
                "directory lookup failed; using the bare user id",
                extra={"channel": self.channel, "user": user_id, "error": str(exc)},
            )
            wait = max(RETRY_S, exc.retry_after or 0.0)
            if exc.retry_after is not None:
                self._paused_until = now + exc.retry_after
            self._retry_at[user_id] = now + wait
            return None
        if profile is None or not (profile.name or profile.email):
            # answered, with nothing to name them by: asked again at the next start, not before
            self._retry_at[user_id] = math.inf
        else:
            self._retry_at.pop(user_id, None)
        return profile

    async def _register(self, user_id: str, profile: Profile | None) -> Person:
        directory = self.people.directory
        email = profile.email if profile is not None and profile.linkable else None
        match = self._by_email.get(email.lower()) if email else None
        if match is not None:
            existing = directory.person(match.id) or match
            if not self.link_identity:
                return existing
            person = replace(existing, identities={**existing.identities, self.channel: user_id})
        else:
            current = directory.person(self.id_prefix + user_id)
            if current is not None and not self._bare(current, user_id):
                return current
            person = self._requester(user_id, profile)
            if person == current:
                return current  # still nothing but the id: nothing new to store
        await self.people.register_person(person)
        return person

    def _requester(self, user_id: str, profile: Profile | None) -> Person:
        name = (profile.name if profile else None) or user_id
        return Person(
            id=self.id_prefix + user_id,
            name=Text(name, name),
            email=profile.email if profile else None,
            locale=(profile.locale if profile else None) or self.locale,
            roles=frozenset({Role.REQUESTER}),
            identities={self.channel: user_id},
            timezone=profile.timezone if profile else None,
        )

    async def link_by_email(self, configured: Iterable[Person]) -> list[Person]:
        """Give each configured person with an e-mail and no identity here their platform user.

        One lookup every LINK_INTERVAL_S; a rate limit is waited out (its retry_after). Nobody
        with that address, a deactivated account or a bot links nothing. A passing failure skips
        the person (they are linked when they first write, or at the next start); a refusal no
        retry can fix ends the pass. Returns who was linked.
        """
        if self.finder is None:
            return []
        people = list(configured)
        owners = {p.id for p in people}
        linked: list[Person] = []
        asked = False
        for candidate in people:
            current = self.people.directory.person(candidate.id) or candidate
            if not current.email or self.channel in current.identities:
                continue
            if asked:
                await self.sleep(LINK_INTERVAL_S)
            asked = True
            try:
                profile = await self._find(self.finder, current.email)
            except LookupFailed as exc:
                if exc.permanent:
                    log.error(
                        "lookup by e-mail refused; people are not linked by e-mail",
                        extra={"channel": self.channel, "error": str(exc)},
                    )
                    break
                log.warning(
                    "lookup by e-mail failed; skipped",
                    extra={"channel": self.channel, "person": candidate.id, "error": str(exc)},
                )
                continue
            person = await self._link(candidate.id, profile, owners)
            if person is not None:
                linked.append(person)
        if linked:
            log.info(
                "people linked by e-mail", extra={"channel": self.channel, "linked": len(linked)}
            )
        return linked

    async def _find(self, finder: EmailLookup, email: str) -> Profile | None:
        attempt = 1
        while True:
            try:
                return await finder.lookup_by_email(email)
            except LookupFailed as exc:
                if exc.retry_after is None or attempt >= LINK_ATTEMPTS:
                    raise
                await self.sleep(exc.retry_after)
                attempt += 1

    async def _link(
        self, person_id: str, profile: Profile | None, owners: set[str]
    ) -> Person | None:
        """Add the channel identity, as `person` does for an e-mail match (under the same lock)."""
        if profile is None:
            log.debug("no platform user has this e-mail", extra={"person": person_id})
            return None
        user_id = profile.user_id
        if profile.is_bot or profile.deactivated:
            log.info(
                "the user with this e-mail is deactivated or a bot; not linked",
                extra={"channel": self.channel, "person": person_id, "user": user_id},
            )
            return None
        async with self._one_at_a_time(user_id):
            directory = self.people.directory
            current = directory.person(person_id)
            if current is None or self.channel in current.identities:
                return None  # they wrote meanwhile and were linked then
            owner = directory.by_identity(self.channel, user_id)
            if owner is not None and owner.id != person_id and owner.id in owners:
                log.warning(
                    "the user already belongs to another configured person; not linked",
                    extra={"channel": self.channel, "person": person_id, "user": user_id},
                )
                return None
            person = replace(current, identities={**current.identities, self.channel: user_id})
            await self.people.register_person(person)
            return person


def text_field(data: Mapping[str, Any] | None, key: str) -> str | None:
    """A non-empty string a platform's user record holds under key, else None."""
    value = data.get(key) if data else None
    return value if isinstance(value, str) and value else None
