"""The contract every channel implements, and the spec it registers with.

A channel adapter:
- inbound: verifies what the platform sends, turns it into core commands and hands them to the
  ports it asks for (adapters.ports), which dedupe and commit them before the adapter
  acknowledges the platform;
- outbound: renders a core Card in its platform's format, posts it, updates it in place, and
  sends text. It never touches storage: the bot's outbox dispatcher calls it.

A new channel is a folder `adapters/<ch>/` whose `__init__.py` exports a `ChannelSpec`, plus one
line in `bot/channels.py` (docs/channels/adding-a-channel.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from aiohttp import web

from adapters.kit.config import ChannelConfig, Known
from adapters.ports import Ports
from core.card import Card
from core.clock import Clock
from core.i18n import Locale
from core.people import Person
from core.ticket import ChannelRef

# A small JSON object a platform needs to touch a posted card again (DingTalk's outTrackId,
# WeCom's single-use response_code). Kept per card_refs row; None: the channel keeps none.
CardState = Mapping[str, Any]


@dataclass(frozen=True)
class MessageRef:
    """Where a posted message lives, so it can be updated later."""

    channel: str
    conversation: str
    message: str
    thread: str | None = None
    # the card's state as last stored (post_card: what to store); not part of its identity
    state: CardState | None = field(default=None, compare=False, hash=False)
    # when it was posted, when known (a restored card shows its own time, not the restart's)
    posted_at: datetime | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do, so callers need not know which channel they talk to."""

    update_in_place: bool = False  # False: a status change is a new message (email)
    ephemeral: bool = False  # a text only one person in a conversation sees
    threads: bool = False  # replies to a card can be grouped under it
    native_forms: bool = False  # the platform shows a form (Slack modals); else text or a page
    # the platform says how long to wait (HTTP 429 + Retry-After); else a busy platform is
    # retried with backoff (SMTP's 4xx names no time)
    retry_after: bool = False
    # the platform is Gongdan's own (web chat's sockets): no third party refuses or rate-limits
    # a send, and it sends no event the channel does not handle
    own_platform: bool = False
    # the most sends a second the platform takes from this app in all conversations together
    # (DingTalk's standard edition: about 20 API calls a second); the outbox keeps under it
    # rather than be refused, or banned. None: no such limit (a 429 still pauses the channel)
    sends_per_second: float | None = None


@dataclass(frozen=True)
class Quota:
    """One of a platform's documented limits that a send counts against: the sends sharing
    `key` may go `burst` at once, then `per_second` on average (a sliding window of N sends in
    T seconds is kept by any burst B and rate r with B + r*T <= N). WeCom, for one: an app may
    send one member 30 messages a minute and 1,000 an hour, and silently drops the rest."""

    key: str
    per_second: float
    burst: int = 1


@runtime_checkable
class HasQuotas(Protocol):
    """A channel whose platform limits sends per place (a member, a webhook): the outbox
    schedules each send within them instead of having it refused, or dropped unseen."""

    def quotas(self, kind: str, conversation: str) -> Sequence[Quota]:
        """The limits a send of this outbox kind to this conversation counts against."""
        ...


class DeliveryError(Exception):
    """An outbound call failed. retry_after: the platform asked us to wait (429) — the whole
    channel, unless `this_place_only`: the limit is one place's (a group webhook's minute), and
    the channel's other conversations go on meanwhile."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        this_place_only: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.this_place_only = this_place_only


class PlatformCalls:
    """A channel's calls to its platform's API since start, by call and outcome, for the
    service's metrics (`gongdan_platform_calls_total`): an admin sees how near a quota they run
    (DingTalk counts a monthly quota per org) and which call the platform refuses."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()  # (call, outcome) -> calls

    def ok(self, call: str) -> None:
        self.counts[call, "ok"] += 1

    def failed(self, call: str, exc: BaseException) -> None:
        """`throttled`: the platform asked us to wait; `refused`: it will not take it
        (permanent); `failed`: no answer, or one that may change (network, 5xx)."""
        if isinstance(exc, DeliveryError) and exc.retry_after is not None:
            outcome = "throttled"
        elif isinstance(exc, DeliveryError) and exc.permanent:
            outcome = "refused"
        else:
            outcome = "failed"
        self.counts[call, outcome] += 1


@runtime_checkable
class CountsCalls(Protocol):
    """A channel that calls its platform's API and counts the calls."""

    @property
    def platform_calls(self) -> PlatformCalls: ...


@runtime_checkable
class HoldsSockets(Protocol):
    """A channel whose browsers keep a socket open: the HTTP server's shutdown waits for every
    open request, so these are closed (1001, going away) when the shutdown begins."""

    async def close_sockets(self) -> None: ...


CardRenderer = Callable[[Locale], Card]


class Reach(Protocol):
    """How notices find people and teams on a channel, without the bot naming the channel."""

    @property
    def name(self) -> str: ...

    def direct_ref(self, person: Person) -> ChannelRef | None:
        """Where a message reaches this person alone (None: the channel cannot)."""
        ...

    def is_direct(self, where: ChannelRef) -> bool:
        """Whether a conversation is one person's direct conversation (not a team's)."""
        ...

    def team_room(self, team_id: str) -> ChannelRef | None:
        """The group conversation a team's notices fall back to (None: none on this channel)."""
        ...


class Channel(Reach, Protocol):
    """One chat platform. Outbound methods raise DeliveryError on failure."""

    @property
    def capabilities(self) -> Capabilities: ...

    def routes(self) -> list[web.AbstractRouteDef]:
        """HTTP routes the channel needs mounted on the service (may be empty)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        """Post; the returned ref's `state` (if any) is stored with the card."""
        ...

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> CardState | None:
        """Update in place (`ref.state`: as stored); returns a new state to store, or None."""
        ...

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        """Post plain text (comments relayed from other channels, notices)."""
        ...


@dataclass(frozen=True)
class ChannelEnv:
    """What the composition root hands every channel's builder."""

    ports: Ports  # the bot's service: a channel keeps only the ports it uses
    clock: Clock
    service_name: str
    base_url: str
    default_locale: Locale
    max_attachment_bytes: int
    people: tuple[Person, ...]  # everyone known at start (configured and met on channels)
    configured: tuple[Person, ...]  # the people the config file lists (trusted e-mails)


C = TypeVar("C", bound=ChannelConfig)


@dataclass(frozen=True)
class ChannelSpec(Generic[C]):
    """What a channel folder exports: its name, config model, cross-checks and builder."""

    name: str
    config: type[C]
    build: Callable[[C, ChannelEnv], Channel]
    # problems that span sections, read from the plain data: "channels.<name>.<key>: ..."
    check: Callable[[Mapping[str, Any], Known], list[str]] = lambda _section, _known: []
    # True: the section exists (with defaults) when the file does not mention it
    on_by_default: bool = False
    # what check-config's summary adds for this channel, e.g. "2 rooms" ("" adds nothing)
    summary: Callable[[C], str] = lambda _section: ""
