"""What the email channel needs to know: addresses it answers, where it listens, how it sends.

Plain frozen dataclasses built by bot/bootstrap.py from `channels.email`; the adapter never
reads the YAML itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from adapters.email.loop import DEFAULT_LOOP_HEADER
from adapters.email.senders import SenderCheck
from core.i18n import Locale
from core.people import Person

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class RelaySettings:
    """The SMTP server outbound mail is handed to (aiosmtplib)."""

    host: str
    from_addr: str
    port: int = 587
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: Security = "starttls"
    timeout_s: float = 30.0


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    tls: bool = True
    folder: str = "INBOX"
    # None: mark handled mail \Seen and leave it; a name: move it there after commit
    move_to: str | None = None
    poll_seconds: float = 60.0
    # RFC 2177: servers may drop an IDLE after 30 minutes, so it is renewed before that
    idle_seconds: float = 29 * 60
    timeout_s: float = 30.0
    # the type of tickets for mail whose To/Cc names none of our addresses
    default_ticket_type: str | None = None
    # a mail that failed this many times is set aside in quarantine_folder (created if
    # missing; without MOVE: COPY, then \Deleted and UID EXPUNGE) and no longer fetched
    quarantine_after: int = 3
    quarantine_folder: str = "Gongdan-Quarantine"


@dataclass(frozen=True)
class ListenSettings:
    """The built-in SMTP listener (aiosmtpd), run on the service's event loop."""

    host: str
    port: int
    tls_cert: str | None = None  # enables STARTTLS
    tls_key: str | None = None
    require_starttls: bool = False
    # user -> password; empty: no AUTH offered
    auth: Mapping[str, str] = field(default_factory=dict, repr=False)
    auth_required: bool = False


@dataclass(frozen=True)
class AckPolicy:
    """Per sender: at most `per_window` automatic answers per `window`, `per_day` a day."""

    window: timedelta = timedelta(minutes=10)
    per_window: int = 1
    per_day: int = 10


@dataclass(frozen=True)
class EmailSettings:
    domain: str
    # recipient address (lower case) -> ticket type id; it+printer@ routes like it@
    addresses: Mapping[str, str]
    base_url: str
    locale: Locale = "zh-CN"
    listen: ListenSettings | None = None
    imap: ImapSettings | None = None
    relay: RelaySettings | None = None
    max_message_bytes: int = 10 * 2**20
    # larger files are recorded by name and size, their bytes are not kept
    max_attachment_bytes: int = 10 * 2**20
    ack: AckPolicy = AckPolicy()
    loop_header: str = DEFAULT_LOOP_HEADER
    people: tuple[Person, ...] = ()
    service_name: str = "Gongdan"
    # whose Authentication-Results prove a From address (nobody's by default)
    senders: SenderCheck = field(default_factory=SenderCheck)

    @property
    def own_addresses(self) -> frozenset[str]:
        """Mail from these is our own coming back: never a ticket, never answered."""
        found = set(self.addresses)
        if self.relay is not None:
            found.add(self.relay.from_addr.lower())
        return frozenset(found)
