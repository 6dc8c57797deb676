"""Who gets a new ticket, and why, in words fit for the event log.

Every input is passed in: the team, its assignment policy, the open workload, the last assignee,
the ticket's facts, the instant and the people's availability. A policy is a chain of strategies:
filters (skills, region) narrow the candidates, pickers (on_call, round_robin, least_loaded) choose
one; a picker that finds nobody hands over to the next. When nobody qualifies the ticket stays in
the team queue, where any member may claim it (抢单).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from core.calendar import BusinessCalendar, as_utc
from core.oncall import Rotation, who_is_on_call
from core.people import Directory, Role, Team
from core.ticket import Priority, Ticket

QUEUE_REASON = "team queue, anyone may claim"


@dataclass(frozen=True)
class Decision:
    assignee_id: str | None
    reason: str


def assignable(team: Team, directory: Directory) -> tuple[str, ...]:
    """Who a team's tickets may be given to, leaders last: its members, then its lead (the
    foundation rule hands tickets to the lead). The manager only when they work tickets too —
    a member, or holding the agent role: otherwise escalations end with them, and an
    escalation card lets them take a ticket over, but nobody hands them one."""
    ids = dict.fromkeys([*team.members, *([team.lead] if team.lead else [])])
    manager = directory.person(team.manager) if team.manager else None
    if manager is not None and Role.AGENT in manager.roles:
        ids[manager.id] = None
    return tuple(ids)


def choose_assignee(team_id: str | None, directory: Directory) -> Decision:
    """The foundation strategy, for teams without an assignment policy: the lead, else the queue."""
    team = directory.team(team_id) if team_id else None
    if team is None:
        return Decision(None, "no team: left in the queue")
    if team.lead:
        return Decision(team.lead, f"team {team.id} lead")
    return Decision(None, f"team {team.id} queue: anyone may claim")


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    SKILLS = "skills"
    REGION = "region"
    ON_CALL = "on_call"


_FILTERS = frozenset({Strategy.SKILLS, Strategy.REGION})


@dataclass(frozen=True)
class SkillRule:
    """Tickets matching every given condition need `skills`; an unset condition matches all."""

    skills: frozenset[str]
    type_id: str | None = None
    field: str | None = None
    # None with a field: the field's value itself names the skill ("category: network")
    value: str | None = None
    tag: str | None = None

    def required_by(self, ticket: TicketFacts) -> frozenset[str]:
        if self.type_id is not None and ticket.type_id != self.type_id:
            return frozenset()
        if self.tag is not None and self.tag not in ticket.tags:
            return frozenset()
        if self.field is None:
            return self.skills
        values = _values(ticket.fields.get(self.field))
        if self.value is None:
            return self.skills | values
        return self.skills if self.value in values else frozenset()


def _values(raw: object) -> frozenset[str]:
    if raw is None or raw == "":
        return frozenset()
    if isinstance(raw, list | tuple | set | frozenset):
        return frozenset(str(v) for v in raw)
    return frozenset({str(raw)})


@dataclass(frozen=True)
class AssignmentPolicy:
    strategies: tuple[Strategy, ...] = (Strategy.ROUND_ROBIN,)
    skills: Mapping[str, frozenset[str]] = field(default_factory=dict)
    skill_rules: tuple[SkillRule, ...] = ()
    # region: the ticket field naming it, and the people serving each region
    region_field: str | None = None
    regions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    rotation: Rotation | None = None
    # the team's working hours, for members without their own calendar
    calendar: BusinessCalendar | None = None

    def __post_init__(self) -> None:
        if not self.strategies:
            raise ValueError("an assignment policy needs at least one strategy")
        if Strategy.ON_CALL in self.strategies and self.rotation is None:
            raise ValueError("the on_call strategy needs a rotation")


@dataclass(frozen=True)
class TicketFacts:
    """What assignment may look at in a ticket."""

    type_id: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    priority: Priority = Priority.NORMAL
    tags: frozenset[str] = frozenset()

    @classmethod
    def of(cls, ticket: Ticket, tags: Iterable[str] = ()) -> TicketFacts:
        return cls(ticket.type_id, dict(ticket.fields), ticket.priority, frozenset(tags))


@dataclass(frozen=True)
class Workload:
    """Open tickets per person: how many, and their sum of priority weights."""

    counts: Mapping[str, int] = field(default_factory=dict)
    weights: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, open_tickets: Iterable[tuple[str, Priority]]) -> Workload:
        """From (assignee id, priority) pairs of the open tickets."""
        counts: dict[str, int] = {}
        weights: dict[str, int] = {}
        for person, priority in open_tickets:
            counts[person] = counts.get(person, 0) + 1
            weights[person] = weights.get(person, 0) + priority.weight
        return cls(counts, weights)

    def count(self, person_id: str) -> int:
        return self.counts.get(person_id, 0)

    def weight(self, person_id: str) -> int:
        return self.weights.get(person_id, 0)


@dataclass(frozen=True)
class Leave:
    """Days off, both ends included, as local dates in the person's zone."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"leave ends ({self.last}) before it starts ({self.first})")


@dataclass(frozen=True)
class Availability:
    hours: BusinessCalendar | None = None
    leave: tuple[Leave, ...] = ()
    # the zone that turns an instant into a leave date when `hours` does not say
    timezone: str = "UTC"
    _memo: dict[tuple[datetime, int], str | None] = field(
        default_factory=dict, init=False, compare=False, repr=False, hash=False
    )

    def absence(
        self, instant: datetime, team_hours: BusinessCalendar | None, minute: datetime | None = None
    ) -> str | None:
        """Why the person cannot take a ticket at `instant`; None when they can. `minute`:
        `instant` to the minute in UTC, when the caller asks about a whole team at once."""
        # Hours and leave change on whole minutes (calendars say HH:MM, leave whole days), and a
        # burst of tickets asks the same question many times: remember this minute's answer.
        if minute is None:
            minute = as_utc(instant).replace(second=0, microsecond=0)
        key = (minute, id(team_hours))
        memo = self._memo
        if key in memo:
            return memo[key]
        if len(memo) > 256:
            memo.clear()
        answer = self._absence(instant, team_hours)
        memo[key] = answer
        return answer

    def _absence(self, instant: datetime, team_hours: BusinessCalendar | None) -> str | None:
        if self.on_leave(instant, team_hours):
            return "on leave"
        hours = self.hours or team_hours
        if hours is not None and not hours.is_open(instant):
            return "off hours"
        return None

    def on_leave(self, instant: datetime, team_hours: BusinessCalendar | None = None) -> bool:
        hours = self.hours or team_hours
        zone = ZoneInfo(hours.timezone if hours is not None else self.timezone)
        day = as_utc(instant).astimezone(zone).date()
        return any(leave.first <= day <= leave.last for leave in self.leave)


EVERYONE = Availability()


@dataclass
class _Search:
    order: list[str]
    candidates: list[str]
    notes: list[str]
    skipped: dict[str, str]

    def turns(self, last: str | None) -> list[str]:
        """The candidates in round-robin order, starting just after `last`."""
        # rotate the whole team, not just the candidates, so skipping someone keeps the turn fair
        i = self.order.index(last) + 1 if last in self.order else 0
        rotated = self.order[i:] + self.order[:i]
        return [p for p in rotated if p in self.candidates]


def assign(
    team: Team,
    policy: AssignmentPolicy,
    ticket: TicketFacts,
    *,
    now: datetime,
    workload: Workload,
    last_assignee: str | None = None,
    availability: Mapping[str, Availability] | None = None,
) -> Decision:
    """Run the team's strategy chain for one ticket."""
    people = availability or {}
    members = list(team.members) or ([team.lead] if team.lead else [])
    search = _Search(members, [], [], {})
    minute = as_utc(now).replace(second=0, microsecond=0)
    for person in members:
        why = people.get(person, EVERYONE).absence(now, policy.calendar, minute)
        if why is not None:
            search.skipped[person] = why
    search.candidates = [p for p in members if p not in search.skipped]
    picked = False
    for strategy in policy.strategies:
        if strategy in _FILTERS:
            _narrow(strategy, policy, ticket, search)
            continue
        picked = True
        chosen = _pick(strategy, policy, search, now, workload, last_assignee, people)
        if chosen is not None:
            return chosen
    if not picked:
        chosen = _least_loaded(search, workload, last_assignee)
        if chosen is not None:
            return chosen
    return _nobody(search)


def _narrow(
    strategy: Strategy, policy: AssignmentPolicy, ticket: TicketFacts, search: _Search
) -> None:
    if strategy is Strategy.SKILLS:
        needed = frozenset().union(*(r.required_by(ticket) for r in policy.skill_rules))
        if not needed:
            return
        search.candidates = [
            p for p in search.candidates if needed <= policy.skills.get(p, frozenset())
        ]
        skill = ", ".join(sorted(needed))
        found = "matched" if search.candidates else "not held by any available member"
        search.notes.append(f"skill {skill} {found}")
        return
    region = _values(ticket.fields.get(policy.region_field)) if policy.region_field else None
    if not region:
        return
    serving = {p for r in region for p in policy.regions.get(r, ())}
    search.candidates = [p for p in search.candidates if p in serving]
    served = "" if search.candidates else " not served by any available member"
    search.notes.append(f"region {', '.join(sorted(region))}{served}")


def _pick(
    strategy: Strategy,
    policy: AssignmentPolicy,
    search: _Search,
    now: datetime,
    workload: Workload,
    last_assignee: str | None,
    people: Mapping[str, Availability],
) -> Decision | None:
    if strategy is Strategy.ON_CALL:
        assert policy.rotation is not None  # AssignmentPolicy checks it
        person, why = who_is_on_call(policy.rotation, now)
        if person is None:
            search.notes.append(why)
            return None
        # being on call is the working hours: only leave excuses the person
        if people.get(person, EVERYONE).on_leave(now, policy.calendar):
            search.skipped[person] = "on call but on leave"
            return None
        return _decided(person, why, search)
    if strategy is Strategy.ROUND_ROBIN:
        order = search.turns(last_assignee)
        if not order:
            return None
        why = f"round robin after {last_assignee}" if last_assignee else "round robin: first"
        return _decided(order[0], why, search)
    return _least_loaded(search, workload, last_assignee)


def _least_loaded(
    search: _Search, workload: Workload, last_assignee: str | None
) -> Decision | None:
    order = search.turns(last_assignee)
    if not order:
        return None
    # min() keeps the first of equals, so ties go to whoever is next in round-robin order
    person = min(order, key=workload.weight)
    n = workload.count(person)
    return _decided(person, f"least loaded: {n} open, weight {workload.weight(person)}", search)


def _decided(person: str, why: str, search: _Search) -> Decision:
    return Decision(person, "; ".join([*search.notes, why]))


def _nobody(search: _Search) -> Decision:
    details = [f"{p} {why}" for p, why in search.skipped.items()] + search.notes
    said = f" ({', '.join(details)})" if details else ""
    return Decision(None, f"nobody available{said}: {QUEUE_REASON}")
