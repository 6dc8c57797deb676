"""Checks that span entries: unique ids and references from one section to another.

They read the plain data rather than the validated model, so they still run (and report) when
another part of the file is invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SHOW_KNOWN = 5

Entries = list[tuple[str, Mapping[str, Any]]]


def cross_reference_problems(data: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    people = _entries(data.get("people"), "people")
    teams = _entries(data.get("teams"), "teams")
    types = _entries(data.get("ticket_types"), "ticket_types")
    person_ids = _known(data, "people", _unique(people, "id", "id", problems))
    team_ids = _known(data, "teams", _unique(teams, "id", "id", problems))
    type_ids = _known(data, "ticket_types", _unique(types, "id", "id", problems))
    _unique(types, "prefix", "prefix", problems)
    _check_identities(people, problems)

    def person(path: str, value: object) -> None:
        _check_ref(path, value, person_ids, "person", problems)

    for path, team in teams:
        for i, member in enumerate(_list(team.get("members"))):
            person(f"{path}.members[{i}]", member)
        person(f"{path}.lead", team.get("lead"))
        person(f"{path}.manager", team.get("manager"))
    for path, ttype in types:
        _unique(_entries(ttype.get("fields"), f"{path}.fields"), "id", "field id", problems)
        _check_ref(f"{path}.default_team", ttype.get("default_team"), team_ids, "team", problems)
    channels = data.get("channels")
    if isinstance(channels, Mapping):
        for name, channel in channels.items():
            if not isinstance(channel, Mapping):
                continue
            rooms = _entries(channel.get("rooms"), f"channels.{name}.rooms")
            _unique(rooms, "id", "room id", problems)
            for path, room in rooms:
                _check_type(f"{path}.ticket_type", room.get("ticket_type"), type_ids, problems)
    api = data.get("api")
    if isinstance(api, Mapping):
        tokens = _entries(api.get("tokens"), "api.tokens")
        _unique(tokens, "name", "token name", problems)
        _unique_secret(tokens, problems)
        for path, token in tokens:
            person(f"{path}.person", token.get("person"))
    return problems


def _known(data: Mapping[str, Any], section: str, ids: dict[str, str]) -> dict[str, str] | None:
    """None when the section is malformed: the schema reports that, and every reference would
    otherwise be reported as unknown too."""
    value = data.get(section)
    return ids if value is None or isinstance(value, list | tuple) else None


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _entries(value: object, path: str) -> Entries:
    return [(f"{path}[{i}]", v) for i, v in enumerate(_list(value)) if isinstance(v, Mapping)]


def _as_key(value: object) -> str | None:
    # YAML reads `id: 42` as a number; the schema turns it into text, so compare it as text
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _unique(entries: Entries, key: str, what: str, problems: list[str]) -> dict[str, str]:
    """Report repeats of entry[key]; return every value seen -> the path of its first use."""
    seen: dict[str, str] = {}
    for path, entry in entries:
        value = _as_key(entry.get(key))
        if value is None:
            continue
        if value in seen:
            problems.append(
                f"{path}.{key}: duplicate {what} {value!r} (already used by {seen[value]})"
            )
        else:
            seen[value] = path
    return seen


def _unique_secret(tokens: Entries, problems: list[str]) -> None:
    seen: dict[str, str] = {}
    for path, entry in tokens:
        token = _as_key(entry.get("token"))
        if token is None or not token:
            continue
        if token in seen:
            # never echo a secret into logs or terminals
            problems.append(f"{path}.token: same token as {seen[token]}; each client needs its own")
        else:
            seen[token] = path


def _check_identities(people: Entries, problems: list[str]) -> None:
    owners: dict[tuple[str, str], str] = {}
    for path, person in people:
        identities = person.get("identities")
        if not isinstance(identities, Mapping):
            continue
        who = _as_key(person.get("id")) or path
        for channel, external in identities.items():
            ext = _as_key(external)
            if ext is None:
                continue
            owner = owners.setdefault((str(channel), ext), who)
            if owner != who:
                problems.append(
                    f"{path}.identities.{channel}: {ext!r} is already the {channel} identity of {owner}"
                )


def _check_ref(
    path: str, value: object, known: Mapping[str, str] | None, what: str, problems: list[str]
) -> None:
    ref = _as_key(value)
    if ref is None or known is None or ref in known:
        return
    names = list(known)
    if not names:
        listing = f"no {what}s are defined" if what != "person" else "no people are defined"
    else:
        listing = "known: " + ", ".join(names[:_SHOW_KNOWN])
        if len(names) > _SHOW_KNOWN:
            listing += ", ..."
    problems.append(f"{path}: unknown {what} {ref!r} ({listing})")


def _check_type(
    path: str, value: object, known: Mapping[str, str] | None, problems: list[str]
) -> None:
    ref = _as_key(value)
    if ref is not None and known is not None and ref not in known:
        problems.append(f"{path}: unknown ticket type {ref!r}")
