"""An escalation chain frozen onto a ticket, and what it sends when.

A chain is frozen onto the ticket as an EscalationPlan when its SLA clocks start, so later config
edits affect new tickets only. The plan says when each step is due; an EscalationState says what
already fired. `due_steps` answers "what should happen now" as StepFiring values (a step due for
one recipient, a role or a person); `core.timekeeping` turns each into a Notice to deliver. Step
ids are stable across re-plans, which is what keeps a fired step from firing again.
A reopened ticket `restart`s its chain: a new cycle with its own step ids, nothing fired yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from core.calendar import as_utc
from core.escalation import (
    Anchor,
    EscalationChain,
    EscalationError,
    EscalationStep,
    NoticeKind,
    Recipient,
    RecipientKind,
)
from core.sla import SlaClock, SlaMetric
from core.ticket import Priority


@dataclass(frozen=True)
class PlannedStep:
    """A chain step frozen onto a ticket, with its first due instant."""

    step_id: str
    step: EscalationStep
    # None while the anchor's clock is paused, stopped or absent: the step waits for a re-plan
    due_at: datetime | None
    urgent_priorities: frozenset[Priority] = frozenset()

    def occurrence_at(self, n: int) -> datetime | None:
        """When firing number n (0: the first, then repeats) is due; None if it never is."""
        if self.due_at is None:
            return None
        if n == 0:
            return self.due_at
        every, most = self.step.repeat_every, self.step.max_repeats
        if every is None or (most is not None and n > most):
            return None
        return self.due_at + n * every


@dataclass(frozen=True)
class EscalationPlan:
    chain_id: str
    ticket_key: str
    # what "created" steps count from: the ticket's creation, or its latest reopen
    created_at: datetime
    steps: tuple[PlannedStep, ...]
    generation: int = 1
    # 1 for the chain planned at opening, n + 1 after the n-th reopen
    cycle: int = 1

    def to_json(self) -> dict[str, Any]:
        return _plan_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EscalationPlan:
        return _plan_from_json(data)


@dataclass(frozen=True)
class EscalationState:
    """What already happened: firings per step id, acknowledgement, resolution, fencing token."""

    fired: Mapping[str, int] = field(default_factory=dict)
    acknowledged: bool = False
    resolved: bool = False
    generation: int = 1

    @property
    def stopped(self) -> bool:
        return self.acknowledged or self.resolved

    def acknowledge(self) -> EscalationState:
        """Someone took responsibility: the rest of the chain stays silent."""
        return replace(self, acknowledged=True)

    def resolve(self) -> EscalationState:
        """The ticket is resolved: every pending step is cancelled."""
        return replace(self, resolved=True)

    def record(self, sent: Iterable[StepFiring]) -> EscalationState:
        fired = dict(self.fired)
        for firing in sent:
            fired[firing.step_id] = max(fired.get(firing.step_id, 0), firing.occurrence + 1)
        return replace(self, fired=fired)

    def to_json(self) -> dict[str, Any]:
        return {
            "fired": dict(self.fired),
            "acknowledged": self.acknowledged,
            "resolved": self.resolved,
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EscalationState:
        return cls(
            fired={str(k): int(v) for k, v in dict(data.get("fired", {})).items()},
            acknowledged=bool(data.get("acknowledged", False)),
            resolved=bool(data.get("resolved", False)),
            generation=int(data.get("generation", 1)),
        )


@dataclass(frozen=True)
class StepFiring:
    """A step due for one recipient as the chain names it (a role or a person).

    `core.timekeeping` resolves the recipient and checks quiet hours, making it a Notice.
    """

    recipient: Recipient
    kind: NoticeKind
    ticket_key: str
    step_id: str
    # 0 for the step's first firing, n for its n-th repeat
    occurrence: int
    due_at: datetime
    urgent_priorities: frozenset[Priority] = frozenset()

    @property
    def key(self) -> str:
        """Stable identity for deduplicating the message downstream."""
        return f"{self.ticket_key}/{self.step_id}#{self.occurrence}/{self.recipient}"


def plan(
    chain: EscalationChain,
    clocks: Mapping[SlaMetric, SlaClock],
    created_at: datetime,
    *,
    ticket_key: str,
    generation: int = 1,
) -> EscalationPlan:
    """Freeze `chain` onto a ticket: each step's due instant from the clocks as they are now."""
    created = as_utc(created_at, "created_at")
    steps = tuple(
        PlannedStep(
            step_id=f"{chain.id}:{i}",
            step=step,
            due_at=_due(step, clocks, created),
            urgent_priorities=chain.urgent_priorities,
        )
        for i, step in enumerate(chain.steps)
    )
    return EscalationPlan(chain.id, ticket_key, created, steps, generation)


def replan(
    current: EscalationPlan, clocks: Mapping[SlaMetric, SlaClock], state: EscalationState
) -> tuple[EscalationPlan, EscalationState]:
    """New due instants after a priority change, pause, resume or met target.

    The frozen steps are kept, so fired steps stay fired; the generation moves on, so timers
    scheduled for the old plan do nothing when they go off.
    """
    steps = tuple(
        replace(p, due_at=_due(p.step, clocks, current.created_at)) for p in current.steps
    )
    generation = max(current.generation, state.generation) + 1
    return (
        replace(current, steps=steps, generation=generation),
        replace(state, generation=generation),
    )


def restart(
    current: EscalationPlan,
    clocks: Mapping[SlaMetric, SlaClock],
    state: EscalationState,
    at: datetime,
) -> tuple[EscalationPlan, EscalationState]:
    """Start the chain over for a reopened ticket: a new cycle counted from `at`.

    "created" steps count from `at`, metric steps from the clocks as they are now; nothing has
    fired, nobody has acknowledged. Step ids carry the cycle (`<chain>:<index>@<cycle>`), so a
    message of this cycle never shares its key with one of an earlier cycle, and the generation
    moves on, so timers scheduled for the earlier cycle do nothing.
    """
    start = as_utc(at, "at")
    cycle = current.cycle + 1
    steps = tuple(
        replace(
            p,
            step_id=f"{p.step_id.partition('@')[0]}@{cycle}",
            due_at=_due(p.step, clocks, start),
        )
        for p in current.steps
    )
    generation = max(current.generation, state.generation) + 1
    return (
        replace(current, created_at=start, steps=steps, generation=generation, cycle=cycle),
        EscalationState(generation=generation),
    )


def _due(
    step: EscalationStep, clocks: Mapping[SlaMetric, SlaClock], created: datetime
) -> datetime | None:
    if step.anchor is Anchor.CREATED:
        return created + step.offset
    clock = clocks.get(SlaMetric(step.anchor.value))
    target = clock.due_at() if clock is not None else None
    # offsets are wall-clock time: "10 minutes before the breach" is 10 real minutes
    return target + step.offset if target is not None else None


def due_steps(
    current: EscalationPlan, now: datetime, state: EscalationState, token: int | None = None
) -> list[StepFiring]:
    """What fires at `now`, given what already fired. A stale `token` fires nothing.

    After downtime a repeating step fires once, for its latest due occurrence, not once per miss.
    """
    moment = as_utc(now, "now")
    if state.stopped or not _current(current, state, token):
        return []
    found: list[StepFiring] = []
    for planned in current.steps:
        latest = _latest_due(planned, state.fired.get(planned.step_id, 0), moment)
        if latest is None:
            continue
        n, at = latest
        found += _firings(current.ticket_key, planned, n, at)
    return found


def fire(
    current: EscalationPlan, now: datetime, state: EscalationState, token: int | None = None
) -> tuple[list[StepFiring], EscalationState]:
    """`due_steps` plus the state that records them, for a scheduler that sends and saves."""
    sent = due_steps(current, now, state, token)
    return sent, state.record(sent)


def next_due(current: EscalationPlan, state: EscalationState) -> datetime | None:
    """When the next step or repeat is due; None when nothing is left to fire."""
    if state.stopped or not _current(current, state, None):
        return None
    pending = [
        at
        for p in current.steps
        if (at := p.occurrence_at(state.fired.get(p.step_id, 0))) is not None
    ]
    return min(pending, default=None)


def _current(current: EscalationPlan, state: EscalationState, token: int | None) -> bool:
    if token is not None and token != current.generation:
        return False
    return state.generation == current.generation


def _latest_due(planned: PlannedStep, fired: int, now: datetime) -> tuple[int, datetime] | None:
    first = planned.occurrence_at(fired)
    if first is None or first > now:
        return None
    every, start = planned.step.repeat_every, planned.due_at
    if every is None or start is None:
        return fired, first
    n = (now - start) // every
    if planned.step.max_repeats is not None:
        n = min(n, planned.step.max_repeats)
    n = max(n, fired)
    return n, start + n * every


def _firings(ticket_key: str, planned: PlannedStep, n: int, at: datetime) -> list[StepFiring]:
    step = planned.step
    who = [step.recipient]
    if step.also_team_channel and step.recipient.kind is not RecipientKind.TEAM_CHANNEL:
        who.append(Recipient(RecipientKind.TEAM_CHANNEL))
    return [
        StepFiring(r, step.kind, ticket_key, planned.step_id, n, at, planned.urgent_priorities)
        for r in who
    ]


def _plan_json(p: EscalationPlan) -> dict[str, Any]:
    return {
        "chain_id": p.chain_id,
        "ticket_key": p.ticket_key,
        "created_at": p.created_at.isoformat(),
        "generation": p.generation,
        "cycle": p.cycle,
        "steps": [
            {
                "step_id": s.step_id,
                "due_at": s.due_at.isoformat() if s.due_at else None,
                **_step_json(s.step, s.urgent_priorities),
            }
            for s in p.steps
        ],
    }


@lru_cache(maxsize=1024)
def _step_json(step: EscalationStep, urgent: frozenset[Priority]) -> dict[str, Any]:
    """The static part of a planned step: the same for every ticket on the chain, so it is
    rendered once (callers copy it into a new dict, never mutate it)."""
    return {
        "urgent_priorities": sorted(urgent),
        "offset_s": step.offset.total_seconds(),
        "anchor": step.anchor.value,
        "recipient": str(step.recipient),
        "kind": step.kind.value,
        "also_team_channel": step.also_team_channel,
        "repeat_every_s": _seconds(step.repeat_every),
        "max_repeats": step.max_repeats,
    }


def _seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


def _plan_from_json(data: Mapping[str, Any]) -> EscalationPlan:
    try:
        steps = tuple(
            PlannedStep(
                step_id=str(s["step_id"]),
                step=EscalationStep(
                    offset=timedelta(seconds=float(s["offset_s"])),
                    anchor=Anchor(s["anchor"]),
                    recipient=Recipient.parse(str(s["recipient"])),
                    kind=NoticeKind(s["kind"]),
                    also_team_channel=bool(s["also_team_channel"]),
                    repeat_every=_delta(s.get("repeat_every_s")),
                    max_repeats=s.get("max_repeats"),
                ),
                due_at=datetime.fromisoformat(s["due_at"]) if s.get("due_at") else None,
                urgent_priorities=frozenset(Priority(v) for v in s["urgent_priorities"]),
            )
            for s in data["steps"]
        )
        return EscalationPlan(
            chain_id=str(data["chain_id"]),
            ticket_key=str(data["ticket_key"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            steps=steps,
            generation=int(data["generation"]),
            cycle=int(data.get("cycle", 1)),  # absent in plans stored before reopens restarted
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise EscalationError(f"not a stored escalation plan: {exc!r}") from exc


def _delta(seconds: object) -> timedelta | None:
    return timedelta(seconds=float(str(seconds))) if seconds is not None else None
