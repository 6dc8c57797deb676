"""Config sections about time: calendars, SLA policies, escalation chains, on-call rotations.

Each model checks itself and builds its core object; references between sections (a policy's
calendar, a chain's person) are checked in bot.config.refs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from adapters.kit.config import NonEmpty, Section
from bot.config.sections import Slug, Timezone, at_least_one
from core.calendar import BusinessCalendar, CalendarError, Range, china_calendar
from core.escalation import (
    Anchor,
    EscalationChain,
    EscalationStep,
    NoticeKind,
    Recipient,
    RecipientKind,
)
from core.oncall import Override, Rotation, RotationKind
from core.sla import SlaMetric, SlaPolicy, SlaTarget
from core.ticket import Priority

_DURATION = re.compile(r"([+-])?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(value: object) -> timedelta:
    """'30m', '4h', '2d', '1h30m', '-10m', '+1h' or 0; a day is always 24 hours."""
    text = str(value).strip() if isinstance(value, str | int) else ""
    match = _DURATION.fullmatch(text)
    if text in ("0", "+0", "-0"):
        return timedelta(0)
    if not match or not any(match.groups()[1:]):
        raise ValueError(
            f"{value!r} is not a duration; write a number with d, h, m or s, e.g. 30m, 4h, 2d "
            "or 1h30m (a sign for offsets: -10m, +1h)"
        )
    sign, d, h, m, s = match.groups()
    delta = timedelta(days=int(d or 0), hours=int(h or 0), minutes=int(m or 0), seconds=int(s or 0))
    return -delta if sign == "-" else delta


def _positive_duration(value: object) -> timedelta:
    delta = parse_duration(value)
    if delta <= timedelta(0):
        raise ValueError(f"{value!r} must be a positive duration, e.g. 30m or 4h")
    return delta


def _time_of_day(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 18:00 as the base-60 number 1080
        raise ValueError(f'got the number {value}: quote times of day, e.g. "18:00"')
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f'{value!r} is not a time of day; write "HH:MM", e.g. "09:00"') from None


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[timedelta, BeforeValidator(_positive_duration)]
TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
Hours = tuple[tuple[TimeOfDay, TimeOfDay], ...]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CHINA_ONLY = ("hours", "extra_holidays", "extra_workdays")
_WEEKLY_ONLY = ("weekly", "holidays", "workdays")


class CalendarConfig(Section):
    id: Slug
    kind: Literal["china", "weekly"] = "weekly"
    timezone: Timezone | None = None  # None: service.timezone
    # china: Monday-Friday and make-up workdays; official holidays and 调休 come built in
    hours: Hours | None = None
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()
    # weekly: hours per weekday, plus closed and extra open days
    weekly: dict[Weekday, Hours] | None = None
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _keys_fit_kind(self) -> Self:
        wrong = _WEEKLY_ONLY if self.kind == "china" else _CHINA_ONLY
        given = [k for k in wrong if k in self.model_fields_set]
        if given:
            raise ValueError(f"a {self.kind} calendar does not take {', '.join(given)}")
        if self.kind == "weekly" and not self.weekly:
            raise ValueError("a weekly calendar needs 'weekly' hours, e.g. {mon: [[09:00, 17:00]]}")
        try:
            self.build(years=(), default_timezone="UTC")
        except CalendarError as exc:
            raise ValueError(str(exc)) from None
        return self

    def build(self, years: Iterable[int], default_timezone: str) -> BusinessCalendar:
        zone = self.timezone or default_timezone
        if self.kind == "china":
            hours: dict[str, tuple[Range, ...]] = {}
            if self.hours is not None:
                hours["hours"] = self.hours
            return china_calendar(
                years,
                extra_holidays=self.extra_holidays,
                extra_workdays=self.extra_workdays,
                timezone=zone,
                calendar_id=self.id,
                **hours,
            )
        weekly = {_WEEKDAYS.index(day): ranges for day, ranges in (self.weekly or {}).items()}
        return BusinessCalendar(
            id=self.id,
            timezone=zone,
            weekly=weekly,
            holidays=frozenset(self.holidays),
            workdays=frozenset(self.workdays),
        )


class SlaTargetConfig(Section):
    within: PositiveDuration
    business_time: bool = True


class AppliesTo(Section):
    types: tuple[NonEmpty, ...] = ()  # empty: every type
    priorities: tuple[Priority, ...] = ()  # empty: every priority

    def covers(self, type_id: str, priority: Priority) -> bool:
        return (not self.types or type_id in self.types) and (
            not self.priorities or priority in self.priorities
        )


FirstResponse = Literal["accept", "public_reply"]
_METRICS = tuple(m.value for m in SlaMetric)


class SlaPolicyConfig(Section):
    id: Slug
    calendar: NonEmpty | None = None
    applies_to: AppliesTo = AppliesTo()
    first_response: SlaTargetConfig | None = None
    next_update: SlaTargetConfig | None = None
    resolution: SlaTargetConfig | None = None
    first_response_counts: Annotated[tuple[FirstResponse, ...], AfterValidator(at_least_one)] = (
        "accept",
        "public_reply",
    )
    escalation: NonEmpty | None = None  # an escalation chain id

    @model_validator(mode="after")
    def _measurable(self) -> Self:
        targets = self.targets()
        if not targets:
            raise ValueError(f"set at least one target: {', '.join(_METRICS)}")
        if self.calendar is None and any(t.business_time for t in targets.values()):
            raise ValueError(
                "targets in business time need a 'calendar' (or set business_time: false)"
            )
        return self

    def targets(self) -> dict[SlaMetric, SlaTargetConfig]:
        found = {m: getattr(self, m.value) for m in SlaMetric}
        return {m: t for m, t in found.items() if t is not None}

    def policy(self) -> SlaPolicy:
        targets = tuple(
            SlaTarget(metric, t.within, t.business_time) for metric, t in self.targets().items()
        )
        # a policy wholly in calendar time never asks for its calendar
        return SlaPolicy(self.id, targets, self.calendar or "always")


class EscalationStepConfig(Section):
    at: Duration
    relative_to: Anchor = Anchor.CREATED
    notify: NonEmpty  # assignee, team_lead, manager, team_channel or a person id
    kind: NoticeKind | None = None  # None: reminder for the assignee, escalation for others
    also_team_channel: bool = False
    repeat_every: PositiveDuration | None = None
    max_repeats: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _repeats_need_an_interval(self) -> Self:
        if self.max_repeats is not None and self.repeat_every is None:
            raise ValueError("'max_repeats' needs 'repeat_every'")
        return self

    def step(self) -> EscalationStep:
        recipient = Recipient.parse(self.notify)
        default = (
            NoticeKind.REMINDER
            if recipient.kind is RecipientKind.ASSIGNEE
            else NoticeKind.ESCALATION
        )
        return EscalationStep(
            offset=self.at,
            anchor=self.relative_to,
            recipient=recipient,
            kind=self.kind or default,
            also_team_channel=self.also_team_channel,
            repeat_every=self.repeat_every,
            max_repeats=self.max_repeats,
        )


class EscalationChainConfig(Section):
    id: Slug
    steps: Annotated[tuple[EscalationStepConfig, ...], AfterValidator(at_least_one)]
    # these priorities reach people outside their working hours, by the urgent route
    urgent_priorities: tuple[Priority, ...] = ()

    def chain(self) -> EscalationChain:
        steps = tuple(s.step() for s in self.steps)
        return EscalationChain(self.id, steps, frozenset(self.urgent_priorities))


class OverrideConfig(Section):
    model_config = ConfigDict(populate_by_name=True)

    person: NonEmpty
    # without an offset, read in the rotation's time zone
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        comparable = (self.start.tzinfo is None) == (self.end.tzinfo is None)
        if comparable and self.end <= self.start:
            raise ValueError(f"'to' ({self.end}) must be after 'from' ({self.start})")
        return self


class RotationConfig(Section):
    id: Slug
    kind: RotationKind
    participants: Annotated[tuple[NonEmpty, ...], AfterValidator(at_least_one)]
    handover: TimeOfDay = time(9)
    timezone: Timezone | None = None  # None: service.timezone
    start: date
    overrides: tuple[OverrideConfig, ...] = ()

    def rotation(self, default_timezone: str) -> Rotation:
        zone = ZoneInfo(self.timezone or default_timezone)

        def aware(moment: datetime) -> datetime:
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)

        return Rotation(
            id=self.id,
            kind=self.kind,
            participants=self.participants,
            handover=self.handover,
            timezone=zone.key,
            start=self.start,
            overrides=tuple(
                Override(o.person, aware(o.start), aware(o.end)) for o in self.overrides
            ),
        )


def build_calendars(
    configs: Iterable[CalendarConfig], years: Iterable[int], default_timezone: str
) -> dict[str, BusinessCalendar]:
    wanted = tuple(years)
    return {c.id: c.build(wanted, default_timezone) for c in configs}


def policy_for(
    policies: Iterable[SlaPolicyConfig], type_id: str, priority: Priority
) -> SlaPolicyConfig | None:
    """The policy covering a ticket type and priority; config_refs makes sure there is one at most."""
    return next((p for p in policies if p.applies_to.covers(type_id, priority)), None)
