"""A ticket's SLA clocks and escalation chain: frozen when it opens, moved by what happens to it.

Everything lives in `Ticket.sla` as JSON, so config edits affect new tickets only. Each change
recomputes the ticket's next wake-up (`wake_at`) and moves `timer_generation` on: storage keeps
one live timer per ticket for that generation, and a timer carrying an older one does nothing.
Calendars are referenced by id (holidays are facts, not policy); targets and steps are frozen.
A reopen starts a new cycle: the ended clocks go to `history`, and the chain starts over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from core.escalation import NoticeKind, RecipientKind
from core.escalation_plan import (
    StepFiring,
    fire,
    next_due,
    plan,
    replan,
    restart,
)
from core.ports import Context, SlaChoice
from core.quiet_hours import DeliveryRoute, deliver_at
from core.sla import SlaClock, SlaMetric, start_clocks
from core.sla_state import SlaCycle, Timekeeping
from core.ticket import Ticket
from core.workflow import Action

_STOPS = frozenset({Action.RESOLVE, Action.CANCEL, Action.CLOSE})


@dataclass(frozen=True)
class Notice:
    """One reminder or escalation to deliver: to a person, or as a line in the team's chat."""

    kind: NoticeKind
    ticket_key: str
    person_id: str | None  # None: the team's group chat
    deliver_at: datetime
    route: DeliveryRoute
    key: str  # stable: dedupes the message downstream
    metric: str  # the anchor: an SlaMetric value, or "created"
    due_at: datetime | None  # the anchor's SLA due instant (None for "created")
    earlier: int = 0  # notices about this ticket before this one

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "ticket_key": self.ticket_key,
            "person_id": self.person_id,
            "deliver_at": self.deliver_at.isoformat(),
            "route": self.route.value,
            "key": self.key,
            "metric": self.metric,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "earlier": self.earlier,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notice:
        due = data.get("due_at")
        return cls(
            kind=NoticeKind(data["kind"]),
            ticket_key=str(data["ticket_key"]),
            person_id=data.get("person_id"),
            deliver_at=datetime.fromisoformat(data["deliver_at"]),
            route=DeliveryRoute(data.get("route", "normal")),
            key=str(data["key"]),
            metric=str(data.get("metric", "created")),
            due_at=datetime.fromisoformat(due) if due else None,
            earlier=int(data.get("earlier", 0)),
        )


def load(ticket: Ticket, ctx: Context) -> Timekeeping | None:
    if not ticket.sla:
        return None
    return Timekeeping.from_json(ticket.sla, ctx.schedule.calendars)


def start(ticket: Ticket, ctx: Context, now: datetime) -> Timekeeping | None:
    """Freeze the policy and chain for the ticket's type and priority onto it, if one applies."""
    choice = ctx.schedule.sla_for(ticket.type_id, ticket.priority)
    if choice is None:
        return None
    clocks = start_clocks(choice.policy, ctx.schedule.calendars, now)
    chain = choice.chain
    escalation = plan(chain, clocks, now, ticket_key=ticket.key) if chain else None
    tk = Timekeeping(
        choice.policy.id,
        choice.policy.calendar_id,
        choice.first_response_counts,
        clocks,
        escalation,
    )
    save(ticket, tk)
    return tk


def save(ticket: Ticket, tk: Timekeeping) -> None:
    ticket.sla = tk.to_json()
    wake = next_due(tk.escalation, tk.state) if tk.escalation else None
    ticket.wake_at = wake
    ticket.timer_generation += 1


def on_action(ticket: Ticket, action: Action, ctx: Context, now: datetime) -> None:
    """Move the clocks after a workflow action changed the ticket."""
    tk = load(ticket, ctx)
    if tk is None:
        return
    if action in (Action.ACCEPT, Action.CLAIM):
        if "accept" in tk.counts:
            _stop(tk, SlaMetric.FIRST_RESPONSE, now)
        # someone took responsibility: the rest of the chain stays silent
        tk.state = tk.state.acknowledge()
    elif action == Action.WAIT:
        tk.clocks = {m: c.pause(now) for m, c in tk.clocks.items()}
        _replan(tk)
    elif action == Action.RESUME:
        tk.clocks = {m: c.resume(now) for m, c in tk.clocks.items()}
        _replan(tk)
    elif action in _STOPS:
        tk.clocks = {m: c.stop(now) for m, c in tk.clocks.items()}
        tk.state = tk.state.resolve()
    elif action == Action.SET_PRIORITY:
        _reprioritise(ticket, tk, ctx, now)
    elif action == Action.SNOOZE:
        tk.snoozed_until = now + ctx.schedule.snooze
    elif action == Action.REOPEN:
        _reopen(tk, now)
    else:
        return
    save(ticket, tk)


def on_public_reply(ticket: Ticket, ctx: Context, now: datetime) -> None:
    """The support side answered in public: first response (if it counts) and next update."""
    tk = load(ticket, ctx)
    if tk is None:
        return
    if "public_reply" in tk.counts:
        _stop(tk, SlaMetric.FIRST_RESPONSE, now)
    update = tk.clocks.get(SlaMetric.NEXT_UPDATE)
    if update is not None and not update.stopped:
        # each answer starts the wait for the next one afresh
        tk.clocks[SlaMetric.NEXT_UPDATE] = replace(
            update, started_at=now, paused_at=None, paused_total=timedelta(0)
        )
    _replan(tk)
    save(ticket, tk)


def _reopen(tk: Timekeeping, now: datetime) -> None:
    """A new cycle from `now`: the ended clocks go to history and start again with the same
    target and calendar; first response stays as it was (it was answered). The chain starts over,
    its "created" steps counted from the reopen."""
    for metric, clock in list(tk.clocks.items()):
        if metric is SlaMetric.FIRST_RESPONSE or clock.stopped_at is None:
            continue
        tk.history.append(SlaCycle.of(clock))
        tk.clocks[metric] = replace(
            clock, started_at=now, paused_at=None, paused_total=timedelta(0), stopped_at=None
        )
    tk.snoozed_until = None
    if tk.escalation is not None:
        tk.escalation, tk.state = restart(tk.escalation, tk.clocks, tk.state, now)


def _stop(tk: Timekeeping, metric: SlaMetric, now: datetime) -> None:
    clock = tk.clocks.get(metric)
    if clock is not None and not clock.stopped:
        tk.clocks[metric] = clock.stop(now)
        _replan(tk)


def _replan(tk: Timekeeping) -> None:
    if tk.escalation is not None:
        tk.escalation, tk.state = replan(tk.escalation, tk.clocks, tk.state)


def _reprioritise(ticket: Ticket, tk: Timekeeping, ctx: Context, now: datetime) -> None:
    """New targets for the new priority, measured from the same start; the chain stays frozen."""
    choice: SlaChoice | None = ctx.schedule.sla_for(ticket.type_id, ticket.priority)
    if choice is not None:
        fresh = start_clocks(choice.policy, ctx.schedule.calendars, _started(tk, now))
        clocks: dict[SlaMetric, SlaClock] = {}
        for metric, clock in fresh.items():
            old = tk.clocks.get(metric)
            if old is None:
                clocks[metric] = clock
                continue
            # keep what already happened to this metric: its pauses and its stop
            clocks[metric] = replace(
                clock,
                started_at=old.started_at,
                paused_at=old.paused_at,
                paused_total=old.paused_total,
                stopped_at=old.stopped_at,
            )
        tk.clocks = clocks
        tk.policy_id = choice.policy.id
        tk.calendar_id = choice.policy.calendar_id
    _replan(tk)


def _started(tk: Timekeeping, now: datetime) -> datetime:
    return min((c.started_at for c in tk.clocks.values()), default=now)


def due_notices(ticket: Ticket, ctx: Context, now: datetime, generation: int) -> list[Notice]:
    """What a timer for `generation` sends now; records it so nothing fires twice."""
    if generation != ticket.timer_generation:
        return []
    tk = load(ticket, ctx)
    if tk is None or tk.escalation is None:
        return []
    earlier = sum(tk.state.fired.values())
    sent, tk.state = fire(tk.escalation, now, tk.state, token=tk.escalation.generation)
    notices = [
        n for firing in sent if (n := _notice(ticket, tk, firing, ctx, now, earlier)) is not None
    ]
    save(ticket, tk)
    return notices


def _notice(
    ticket: Ticket, tk: Timekeeping, firing: StepFiring, ctx: Context, now: datetime, earlier: int
) -> Notice | None:
    team = ctx.directory.team(ticket.team_id) if ticket.team_id else None
    to_team = firing.recipient.kind is RecipientKind.TEAM_CHANNEL
    person = None if to_team else firing.recipient.person(ticket.assignee_id, team)
    if person is None and not to_team:
        if firing.recipient.kind is not RecipientKind.ASSIGNEE or team is None:
            return None
        # nobody holds the ticket yet: the reminder goes to the team's chat instead
        to_team = True
    when, route = now, DeliveryRoute.NORMAL
    if person is not None:
        when, route = deliver_at(firing, ctx.schedule.hours.get(person), ticket.priority, now)
        snoozed = tk.snoozed_until
        if firing.kind is NoticeKind.REMINDER and snoozed is not None and snoozed > when:
            when = snoozed
    anchor = _anchor(tk, firing.step_id)
    clock = tk.clocks.get(SlaMetric(anchor)) if anchor in _METRICS else None
    return Notice(
        kind=firing.kind,
        ticket_key=ticket.key,
        person_id=person,
        deliver_at=when,
        route=route,
        key=firing.key,
        metric=anchor,
        due_at=clock.due_at() if clock is not None else None,
        earlier=earlier,
    )


_METRICS = frozenset(m.value for m in SlaMetric)


def _anchor(tk: Timekeeping, step_id: str) -> str:
    assert tk.escalation is not None
    for planned in tk.escalation.steps:
        if planned.step_id == step_id:
            return planned.step.anchor.value
    return "created"


def sla_due(ticket: Ticket) -> datetime | None:
    """The earliest due instant among running clocks, for the card."""
    if not ticket.sla:
        return None
    found = [datetime.fromisoformat(d) for d in dict(ticket.sla.get("due") or {}).values() if d]
    return min(found, default=None)
