"""People, teams and roles. One Person may have an identity on every channel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from core.i18n import Locale, Text


class Role(StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"
    LEAD = "lead"
    MANAGER = "manager"
    ADMIN = "admin"


@dataclass(frozen=True)
class Person:
    id: str
    name: Text
    email: str | None = None
    locale: Locale = "zh-CN"
    roles: frozenset[Role] = frozenset({Role.REQUESTER})
    # channel name -> the person's id on that channel ("slack" -> "U024BE7LH")
    identities: Mapping[str, str] = field(default_factory=dict)
    timezone: str | None = None

    def display(self, locale: Locale) -> str:
        return self.name.get(locale)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


@dataclass(frozen=True)
class Team:
    id: str
    name: Text
    members: tuple[str, ...] = ()
    lead: str | None = None
    manager: str | None = None

    def is_member(self, person_id: str) -> bool:
        return person_id in self.members or person_id in (self.lead, self.manager)

    def is_leader(self, person_id: str) -> bool:
        return person_id in (self.lead, self.manager)


class Directory(Protocol):
    """Who is who. The bot builds it from config and from identities learnt on channels."""

    def person(self, person_id: str) -> Person | None: ...

    def team(self, team_id: str) -> Team | None: ...

    def by_identity(self, channel: str, external_id: str) -> Person | None: ...


class StaticDirectory:
    """A Directory held in memory; the config builds one, tests build small ones."""

    def __init__(self, people: Iterable[Person] = (), teams: Iterable[Team] = ()) -> None:
        self._people = {p.id: p for p in people}
        self._teams = {t.id: t for t in teams}
        self._identities = {
            (channel, ext): p
            for p in self._people.values()
            for channel, ext in p.identities.items()
        }

    def person(self, person_id: str) -> Person | None:
        return self._people.get(person_id)

    def team(self, team_id: str) -> Team | None:
        return self._teams.get(team_id)

    def by_identity(self, channel: str, external_id: str) -> Person | None:
        return self._identities.get((channel, external_id))

    def add(self, person: Person) -> None:
        """Learn a person met on a channel (an unknown Slack user, a new mail sender)."""
        self._people[person.id] = person
        for channel, ext in person.identities.items():
            self._identities[(channel, ext)] = person

    @property
    def people(self) -> list[Person]:
        return list(self._people.values())

    @property
    def teams(self) -> list[Team]:
        return list(self._teams.values())


def display_name(directory: Directory, person_id: str | None, locale: Locale) -> str | None:
    if person_id is None:
        return None
    person = directory.person(person_id)
    return person.display(locale) if person else person_id
