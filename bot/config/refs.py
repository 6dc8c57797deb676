"""Checks that span entries: unique ids and references from one section to another.

Each channel checks its own section (its spec's `check`, adapters/<ch>/config.py).

They read the plain data rather than the validated model, so they still run (and report) when
another part of the file is invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.kit.config import Entries, Known
from adapters.kit.config import as_key as _as_key
from adapters.kit.config import as_list as _list
from adapters.kit.config import check_type as _check_type
from adapters.kit.config import entries as _entries
from adapters.kit.config import unique as _unique
from bot.channels import CHANNELS

_SHOW_KNOWN = 5


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
        for spec in CHANNELS:  # each channel checks its own section (adapters/<ch>/config.py)
            section = channels.get(spec.name)
            if isinstance(section, Mapping):
                problems += spec.check(section, Known(types=type_ids, people=person_ids))
    known = _Known(person_ids, team_ids, type_ids, {})
    _check_schedule(data, people, teams, known, problems)
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


@dataclass
class _Known:
    people: Mapping[str, str] | None
    teams: Mapping[str, str] | None
    types: Mapping[str, str] | None
    sections: dict[str, Mapping[str, str] | None]


# notify: these name a role, anything else a person
_ROLES = frozenset({"assignee", "team_lead", "manager", "team_channel"})


def _check_schedule(
    data: Mapping[str, Any], people: Entries, teams: Entries, known: _Known, problems: list[str]
) -> None:
    """Calendars, SLA policies, escalation chains, rotations and what refers to them."""
    sections = {
        "calendars": "calendar",
        "sla_policies": "SLA policy",
        "escalation_chains": "escalation chain",
        "rotations": "rotation",
    }
    entries = {name: _entries(data.get(name), name) for name in sections}
    for name, what in sections.items():
        ids = _unique(entries[name], "id", f"{what} id", problems)
        known.sections[name] = _known(data, name, ids)
    calendar, chain = known.sections["calendars"], known.sections["escalation_chains"]
    for path, person in people:
        _check_ref(f"{path}.calendar", person.get("calendar"), calendar, "calendar", problems)
    for path, policy in entries["sla_policies"]:
        _check_ref(f"{path}.calendar", policy.get("calendar"), calendar, "calendar", problems)
        _check_ref(
            f"{path}.escalation", policy.get("escalation"), chain, "escalation chain", problems
        )
        applies = policy.get("applies_to")
        if isinstance(applies, Mapping):
            for i, type_id in enumerate(_list(applies.get("types"))):
                _check_type(f"{path}.applies_to.types[{i}]", type_id, known.types, problems)
    _check_overlaps(entries["sla_policies"], problems)
    for path, ch in entries["escalation_chains"]:
        for step_path, step in _entries(ch.get("steps"), f"{path}.steps"):
            target = _as_key(step.get("notify"))
            if target not in _ROLES:
                _check_ref(f"{step_path}.notify", target, known.people, "person", problems)
    for path, rot in entries["rotations"]:
        for i, person_id in enumerate(_list(rot.get("participants"))):
            _check_ref(f"{path}.participants[{i}]", person_id, known.people, "person", problems)
        for o_path, override in _entries(rot.get("overrides"), f"{path}.overrides"):
            _check_ref(f"{o_path}.person", override.get("person"), known.people, "person", problems)
    for path, team in teams:
        _check_assignment(f"{path}.assignment", team.get("assignment"), known, problems)


def _check_assignment(path: str, value: object, known: _Known, problems: list[str]) -> None:
    if not isinstance(value, Mapping):
        return
    sections = known.sections
    _check_ref(
        f"{path}.rotation", value.get("rotation"), sections["rotations"], "rotation", problems
    )
    _check_ref(
        f"{path}.calendar", value.get("calendar"), sections["calendars"], "calendar", problems
    )
    skills = value.get("skills")
    for person_id in skills if isinstance(skills, Mapping) else ():
        _check_ref(f"{path}.skills.{person_id}", person_id, known.people, "person", problems)
    regions = value.get("regions")
    for region, members in regions.items() if isinstance(regions, Mapping) else ():
        for i, person_id in enumerate(_list(members)):
            _check_ref(f"{path}.regions.{region}[{i}]", person_id, known.people, "person", problems)
    for rule_path, rule in _entries(value.get("skill_rules"), f"{path}.skill_rules"):
        _check_type(f"{rule_path}.type", rule.get("type"), known.types, problems)


def _check_overlaps(policies: Entries, problems: list[str]) -> None:
    """One policy per type x priority: otherwise which one applies would depend on file order."""
    scopes = [(path, p.get("id"), _scope(p.get("applies_to"))) for path, p in policies]
    for j, (path, _, (types, priorities)) in enumerate(scopes):
        for other_path, other_id, (other_types, other_priorities) in scopes[:j]:
            both_types = _overlap(types, other_types)
            both_priorities = _overlap(priorities, other_priorities)
            if both_types and both_priorities:
                problems.append(
                    f"{path}.applies_to: overlaps {other_path} ({other_id}) for type "
                    f"{both_types}, priority {both_priorities}; a ticket type and priority may "
                    "have one SLA policy only"
                )
                break


def _scope(value: object) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(types, priorities); None means every one."""
    if not isinstance(value, Mapping):
        return None, None
    types = [k for t in _list(value.get("types")) if (k := _as_key(t)) is not None]
    priorities = [k for p in _list(value.get("priorities")) if (k := _as_key(p)) is not None]
    return frozenset(types) or None, frozenset(priorities) or None


def _overlap(a: frozenset[str] | None, b: frozenset[str] | None) -> str:
    """The shared values as text, 'any' when both cover everything; '' when disjoint."""
    if a is None and b is None:
        return "any"
    shared = (a or b or frozenset()) if a is None or b is None else a & b
    return ", ".join(sorted(shared))
