"""The service's YAML configuration: loading, validation and conversion into core objects.

Loading reports every problem in one go ("path.to.key: what is wrong"), so an operator can fix a
file in one pass. docs/configuration.md describes each key; bot.config.sections holds the schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Self

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from adapters.kit.config import Section
from bot.channels import CHANNELS
from bot.config.messages import schema_problems
from bot.config.refs import cross_reference_problems
from bot.config.schedule import (
    CalendarConfig,
    EscalationChainConfig,
    RotationConfig,
    SlaPolicyConfig,
    build_calendars,
    policy_for,
)
from bot.config.sections import (
    ApiConfig,
    AttachmentsConfig,
    ChannelsConfig,
    ConversationConfig,
    DatabaseConfig,
    LoggingConfig,
    OutboxConfig,
    PersonConfig,
    ServiceConfig,
    TeamConfig,
    TicketTypeConfig,
)
from bot.config.source import apply_overrides, interpolate, read_yaml
from core.assignment import AssignmentPolicy, Availability, Leave, SkillRule
from core.calendar import BusinessCalendar
from core.escalation import EscalationChain
from core.forms import FieldSpec, Option, TicketType
from core.oncall import Rotation
from core.people import Person, StaticDirectory, Team
from core.sla import SlaPolicy
from core.ticket import Priority

# parse_config runs the cross-reference checks on the raw data itself (so they are reported even
# when the schema fails); this context key tells Config's own validator not to repeat them.
_REFS_CHECKED = "refs_checked"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str], source: str = "<string>") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        lines = [f"{self.source}: {n} problem{'s' if n != 1 else ''}"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


class Config(Section):
    model_config = ConfigDict(populate_by_name=True)

    service: ServiceConfig
    database: DatabaseConfig = DatabaseConfig()
    logging: LoggingConfig = LoggingConfig()
    api: ApiConfig = ApiConfig()
    attachments: AttachmentsConfig = AttachmentsConfig()
    people: tuple[PersonConfig, ...] = ()
    teams: tuple[TeamConfig, ...] = ()
    # stored under another name so that ticket_types() can hand out the core objects
    ticket_type_configs: tuple[TicketTypeConfig, ...] = Field(alias="ticket_types")
    channels: ChannelsConfig = ChannelsConfig()
    outbox: OutboxConfig = OutboxConfig()
    conversation: ConversationConfig = ConversationConfig()
    calendar_configs: tuple[CalendarConfig, ...] = Field(default=(), alias="calendars")
    sla_policy_configs: tuple[SlaPolicyConfig, ...] = Field(default=(), alias="sla_policies")
    escalation_chains: tuple[EscalationChainConfig, ...] = ()
    rotation_configs: tuple[RotationConfig, ...] = Field(default=(), alias="rotations")

    @field_validator("ticket_type_configs")
    @classmethod
    def _at_least_one_type(
        cls, value: tuple[TicketTypeConfig, ...]
    ) -> tuple[TicketTypeConfig, ...]:
        if not value:
            raise ValueError("define at least one ticket type")
        return value

    @model_validator(mode="after")
    def _references_resolve(self, info: ValidationInfo) -> Self:
        if info.context and info.context.get(_REFS_CHECKED):
            return self
        problems = cross_reference_problems(self.model_dump(mode="json", by_alias=True))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def directory(self) -> StaticDirectory:
        """The people and teams, as core objects."""
        people = [
            Person(
                id=p.id,
                name=p.name.text(),
                email=p.email,
                locale=p.locale or self.service.default_locale,
                roles=frozenset(p.roles),
                identities={str(ch): ext for ch, ext in p.identities.items()},
                timezone=p.timezone,
            )
            for p in self.people
        ]
        teams = [
            Team(id=t.id, name=t.name.text(), members=t.members, lead=t.lead, manager=t.manager)
            for t in self.teams
        ]
        return StaticDirectory(people, teams)

    def ticket_types(self) -> dict[str, TicketType]:
        """The ticket types by id, in the order the file lists them."""
        return {t.id: _ticket_type(t) for t in self.ticket_type_configs}

    def calendars(self, years: Iterable[int] | None = None) -> dict[str, BusinessCalendar]:
        """The business calendars by id; china calendars know the holidays of `years`.

        `years` defaults to last, this and next year: every year an SLA started now may reach.
        """
        if years is None:
            this_year = date.today().year
            years = range(this_year - 1, this_year + 2)
        return build_calendars(self.calendar_configs, years, self.service.timezone)

    def sla_policies(self) -> dict[str, SlaPolicy]:
        return {p.id: p.policy() for p in self.sla_policy_configs}

    def sla_policy_for(self, type_id: str, priority: Priority) -> SlaPolicyConfig | None:
        """The policy for a ticket type and priority, with its first-response rule and chain id."""
        return policy_for(self.sla_policy_configs, type_id, priority)

    def chains(self) -> dict[str, EscalationChain]:
        return {c.id: c.chain() for c in self.escalation_chains}

    def rotations(self) -> dict[str, Rotation]:
        return {r.id: r.rotation(self.service.timezone) for r in self.rotation_configs}

    def assignment_policies(
        self, calendars: Mapping[str, BusinessCalendar] | None = None
    ) -> dict[str, AssignmentPolicy]:
        """Policies of the teams that configure one; other teams keep lead-or-queue."""
        known = self.calendars() if calendars is None else calendars
        rotations = self.rotations()
        policies: dict[str, AssignmentPolicy] = {}
        for team in self.teams:
            a = team.assignment
            if a is None:
                continue
            policies[team.id] = AssignmentPolicy(
                strategies=a.strategy,
                skills={p: frozenset(s) for p, s in a.skills.items()},
                skill_rules=tuple(
                    SkillRule(frozenset(r.skills), r.type, r.field, r.value, r.tag)
                    for r in a.skill_rules
                ),
                region_field=a.region_field,
                regions=dict(a.regions),
                rotation=rotations[a.rotation] if a.rotation else None,
                calendar=known[a.calendar] if a.calendar else None,
            )
        return policies

    def availability(
        self, calendars: Mapping[str, BusinessCalendar] | None = None
    ) -> dict[str, Availability]:
        """Each person's working hours (if set) and leave, for assignment."""
        known = self.calendars() if calendars is None else calendars
        return {
            p.id: Availability(
                hours=known[p.calendar] if p.calendar else None,
                leave=tuple(Leave(leave.first, leave.last) for leave in p.leave),
                timezone=p.timezone or self.service.timezone,
            )
            for p in self.people
        }

    def summary(self) -> str:
        """One line for `gongdan check-config`: what this file sets up."""
        channels = self.channels.enabled()
        details = [
            f"{spec.name}: {said}"
            for spec in CHANNELS
            if spec.name in channels and (said := spec.summary(channels[spec.name]))
        ]
        return (
            f"{self.service.name}: {_count(len(self.people), 'person', 'people')}, "
            f"{_count(len(self.teams), 'team')}, "
            f"{_count(len(self.ticket_type_configs), 'ticket type')}, "
            f"channels: {', '.join(channels) or 'none'}"
            + (f" ({', '.join(details)})" if details else "")
            + f", database: {self.database.backend}"
        )


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _ticket_type(t: TicketTypeConfig) -> TicketType:
    return TicketType(
        id=t.id,
        prefix=t.prefix,
        name=t.name.text(),
        fields=tuple(
            FieldSpec(
                id=f.id,
                kind=f.kind,
                label=f.label.text(),
                required=f.required,
                min=f.min,
                max=f.max,
                options=tuple(Option(o.value, o.label.text()) for o in f.options or ()),
                help=f.help.text() if f.help else None,
            )
            for f in t.fields
        ),
        default_team=t.default_team,
        default_priority=t.default_priority.value,
        description=t.description.text() if t.description else None,
    )


def parse_config(
    text: str, env: Mapping[str, str] | None = None, source: str = "<string>"
) -> Config:
    """Validate config text; env defaults to the process environment. Raises ConfigError."""
    environ = os.environ if env is None else env
    raw, problems = read_yaml(text, source)
    if problems:
        raise ConfigError(problems, source)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        sections = ", ".join(_SECTIONS)
        raise ConfigError(
            [f"{source}: the top level must be a mapping of sections ({sections})"], source
        )
    resolved = interpolate(raw, environ)
    data: dict[str, Any] = resolved.data if isinstance(resolved.data, dict) else {}
    overrides = apply_overrides(data, environ, _SECTIONS)
    problems = resolved.problems + overrides.problems
    config: Config | None = None
    try:
        config = Config.model_validate(data, context={_REFS_CHECKED: True})
    except ValidationError as exc:
        problems += [
            p
            for p in schema_problems(exc, Config, overrides.origins)
            if not any(_under(p, path) for path in resolved.unresolved)
        ]
    problems += cross_reference_problems(data)
    if problems or config is None:
        raise ConfigError(list(dict.fromkeys(problems)), source)
    return config


_SECTIONS = [f.alias or name for name, f in Config.model_fields.items()]


def _under(problem: str, path: str) -> bool:
    return problem.startswith((f"{path}:", f"{path}.", f"{path}["))


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file. Raises ConfigError."""
    source = str(path)
    try:
        # utf-8-sig: editors on Windows like to start files with a byte-order mark
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read file: {exc.strerror or exc}"], source) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})"], source
        ) from None
    return parse_config(text, env, source)
