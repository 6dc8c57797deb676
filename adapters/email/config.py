"""`channels.email` in the YAML configuration, its checks that span sections, and the
conversion into the channel's settings (adapters/email/settings.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from ipaddress import ip_network
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, IPvAnyNetwork, model_validator

from adapters.email.senders import SenderCheck, networks
from adapters.email.settings import (
    AckPolicy,
    EmailSettings,
    ImapSettings,
    ListenSettings,
    RelaySettings,
)
from adapters.kit.config import (
    ChannelConfig,
    Known,
    NonEmpty,
    Secret,
    Section,
    check_type,
    enabled_section,
    pattern_check,
)
from core.i18n import Locale
from core.people import Person

MailAddress = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    pattern_check(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", "use a mail address such as it@acme.test"),
]
HostPort = Annotated[
    str, pattern_check(r"\[?[A-Za-z0-9.:-]+\]?:\d{1,5}", "use host:port such as 127.0.0.1:2525")
]


class MailRelayConfig(Section):
    """Where outbound mail goes (aiosmtplib). `from` is also the envelope sender: bounces return."""

    host: NonEmpty
    port: int = Field(default=587, ge=1, le=65535)
    username: NonEmpty | None = None
    password: Secret | None = Field(default=None, repr=False)
    security: Literal["none", "starttls", "tls"] = "starttls"
    from_addr: MailAddress = Field(alias="from")
    timeout_s: float = Field(default=30.0, gt=0)


class ImapConfig(Section):
    host: NonEmpty
    port: int = Field(default=993, ge=1, le=65535)
    user: NonEmpty
    password: Secret = Field(repr=False)
    tls: bool = True
    folder: NonEmpty = "INBOX"
    move_to: NonEmpty | None = None  # None: flag handled mail as seen
    poll_seconds: float = Field(default=60.0, gt=0)
    default_ticket_type: NonEmpty | None = None  # for mail naming none of `addresses`
    # failed attempts at one mail before it is set aside in quarantine_folder
    quarantine_after: int = Field(default=3, ge=1)
    quarantine_folder: NonEmpty = "Gongdan-Quarantine"

    @model_validator(mode="after")
    def _quarantine_elsewhere(self) -> Self:
        same = self.quarantine_folder == self.folder
        if same or self.quarantine_folder.upper() == self.folder.upper() == "INBOX":
            raise ValueError(
                f"quarantine_folder ({self.quarantine_folder!r}) must differ from folder "
                f"({self.folder!r}): quarantined mail would be fetched again"
            )
        return self


class AckLimitConfig(Section):
    per_window: int = Field(default=1, ge=0)
    window_minutes: float = Field(default=10.0, gt=0)
    per_day: int = Field(default=10, ge=0)


class SenderVerificationConfig(Section):
    """Whose Authentication-Results header proves a From address (docs/channels/email.md)."""

    # the authserv-ids our boundary MTA writes; empty: no mail is verified
    authserv_ids: list[NonEmpty] = Field(default_factory=list)
    # SMTP peers (addresses or networks) that are that MTA; others' headers are ignored
    trusted_relays: list[IPvAnyNetwork] = Field(
        default_factory=lambda: [ip_network("127.0.0.0/8"), ip_network("::1/128")]
    )


class EmailConfig(ChannelConfig):
    domain: NonEmpty  # right of the @ in our Message-IDs
    addresses: dict[MailAddress, NonEmpty] = Field(min_length=1)  # it@acme.test: it
    smtp_listen: HostPort | None = None
    tls_cert: NonEmpty | None = None  # offers STARTTLS on the listener
    tls_key: NonEmpty | None = None
    require_starttls: bool = False
    auth: dict[NonEmpty, Secret] = Field(default_factory=dict, repr=False)
    auth_required: bool = False
    imap: ImapConfig | None = None
    relay: MailRelayConfig | None = None
    max_message_bytes: int = Field(default=10 * 2**20, ge=1024)
    ack_limit: AckLimitConfig = AckLimitConfig()
    sender_verification: SenderVerificationConfig = SenderVerificationConfig()


def check(section: Mapping[str, Any], known: Known) -> list[str]:
    """Every address files into a known ticket type; a relay or a listener needs its pieces."""
    email = enabled_section(section)
    if email is None:
        return []
    problems: list[str] = []
    types = known.types
    addresses = email.get("addresses")
    for address, type_id in addresses.items() if isinstance(addresses, Mapping) else ():
        check_type(f"channels.email.addresses.{address}", type_id, types, problems)
    imap = email.get("imap")
    if isinstance(imap, Mapping):
        default = imap.get("default_ticket_type")
        check_type("channels.email.imap.default_ticket_type", default, types, problems)
    if bool(email.get("tls_cert")) != bool(email.get("tls_key")):
        problems.append("channels.email: give both tls_cert and tls_key (STARTTLS needs both)")
    if email.get("auth_required") and not email.get("auth"):
        problems.append("channels.email.auth_required: list the users in channels.email.auth")
    if not email.get("smtp_listen") and not isinstance(imap, Mapping):
        problems.append(
            "channels.email: set smtp_listen, imap or both (otherwise no mail comes in)"
        )
    return problems


def settings(
    mail: EmailConfig,
    *,
    base_url: str,
    locale: Locale,
    service_name: str,
    max_attachment_bytes: int,
    people: tuple[Person, ...],
) -> EmailSettings:
    listen = None
    if mail.smtp_listen:
        host, _, port = mail.smtp_listen.rpartition(":")
        listen = ListenSettings(
            host=host.strip("[]"),
            port=int(port),
            tls_cert=mail.tls_cert,
            tls_key=mail.tls_key,
            require_starttls=mail.require_starttls,
            auth=dict(mail.auth),
            auth_required=mail.auth_required,
        )
    imap = mail.imap
    relay = mail.relay
    return EmailSettings(
        domain=mail.domain,
        addresses=dict(mail.addresses),
        base_url=base_url,
        locale=locale,
        listen=listen,
        imap=ImapSettings(
            host=imap.host,
            port=imap.port,
            user=imap.user,
            password=imap.password,
            tls=imap.tls,
            folder=imap.folder,
            move_to=imap.move_to,
            poll_seconds=imap.poll_seconds,
            default_ticket_type=imap.default_ticket_type,
            quarantine_after=imap.quarantine_after,
            quarantine_folder=imap.quarantine_folder,
        )
        if imap is not None
        else None,
        relay=RelaySettings(
            host=relay.host,
            port=relay.port,
            from_addr=relay.from_addr,
            username=relay.username,
            password=relay.password,
            security=relay.security,
            timeout_s=relay.timeout_s,
        )
        if relay is not None
        else None,
        max_message_bytes=mail.max_message_bytes,
        max_attachment_bytes=max_attachment_bytes,
        ack=AckPolicy(
            window=timedelta(minutes=mail.ack_limit.window_minutes),
            per_window=mail.ack_limit.per_window,
            per_day=mail.ack_limit.per_day,
        ),
        people=people,
        service_name=service_name,
        senders=SenderCheck(
            authserv_ids=frozenset(a.lower() for a in mail.sender_verification.authserv_ids),
            trusted_relays=networks(str(n) for n in mail.sender_verification.trusted_relays),
        ),
    )
