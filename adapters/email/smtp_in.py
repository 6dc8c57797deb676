"""The built-in SMTP listener: aiosmtpd's protocol served on the service's own event loop.

aiosmtpd's Controller would run a second loop in a thread; serving `SMTP` through
`loop.create_server` instead lets the handler await the Gateway directly, so the 250 is sent
only after the ticket or comment committed.

Replies: 550 at RCPT for an address that is not ours, 552 over the size limit (aiosmtpd),
451 when the commit failed for a reason that may pass (the sending MTA retries later), 554
when this mail can never be taken in (retrying would fail the same way), 250 otherwise.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from adapters.email.intake import MailIntake
from adapters.email.outcomes import Disposition, PermanentFailure, TemporaryFailure
from adapters.email.senders import Arrival
from adapters.email.settings import ListenSettings
from adapters.ports import mark_received

log = logging.getLogger("gongdan.email")


class _Handler:
    def __init__(self, intake: MailIntake) -> None:
        self.intake = intake

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.intake.route(address) is None:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mark_received()  # the mail's commit is timed from here
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        arrival = Arrival(
            "smtp",
            envelope_from=envelope.mail_from,
            peer=_peer_host(session.peer),
            recipients=tuple(envelope.rcpt_tos),
        )
        try:
            outcome = await self.intake.accept(raw, arrival)
        except TemporaryFailure:
            return "451 4.3.0 Temporary failure storing the message; please try again later"
        except PermanentFailure:
            return "554 5.6.0 This message cannot be processed; it was not accepted"
        except Exception:
            # an unexpected bug must not lose the mail: the sender keeps it and retries
            log.exception("mail intake crashed")
            return "451 4.3.0 Temporary failure; please try again later"
        if outcome.disposition is Disposition.OPENED:
            return f"250 2.0.0 Accepted as {outcome.ticket_key}"
        return f"250 2.0.0 Accepted ({outcome.disposition.value})"


class _Authenticator:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode("utf-8", "replace")
            wanted = self.users.get(user)
            given = auth_data.password.decode("utf-8", "replace")
            if wanted is not None and hmac.compare_digest(wanted.encode(), given.encode()):
                return AuthResult(success=True)
        # handled=False: aiosmtpd then answers 535 itself; the default (True) would leave the
        # client waiting for a reply nobody sends
        return AuthResult(success=False, handled=False)


class SmtpListenError(Exception):
    """The listener cannot bind its address (in use, not this machine's, a privileged port).

    Carries the address and the OS error so the caller can name the setting to change.
    """

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        super().__init__(f"SMTP listener cannot bind {host}:{port}: {cause.strerror or cause}")
        self.host = host
        self.port = port
        self.cause = cause


class SmtpListener:
    def __init__(
        self, settings: ListenSettings, intake: MailIntake, *, max_bytes: int, hostname: str
    ) -> None:
        self.settings = settings
        self.intake = intake
        self.max_bytes = max_bytes
        self.hostname = hostname
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port actually bound (the configured one, or the one picked for port 0)."""
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        s = self.settings
        handler = _Handler(self.intake)
        tls = _tls_context(s)
        users = dict(s.auth)
        authenticator = _Authenticator(users) if users else None

        def protocol() -> SMTP:
            return SMTP(
                handler,
                data_size_limit=self.max_bytes,
                enable_SMTPUTF8=True,
                hostname=self.hostname,
                tls_context=tls,
                require_starttls=s.require_starttls and tls is not None,
                auth_required=s.auth_required,
                # without TLS configured, AUTH over plain text is the operator's explicit choice
                auth_require_tls=tls is not None,
                authenticator=authenticator,
                timeout=60,
                loop=loop,
            )

        try:
            self._server = await loop.create_server(protocol, s.host, s.port)
        except OSError as exc:
            raise SmtpListenError(s.host, s.port, exc) from exc
        log.info("SMTP listener ready", extra={"host": s.host, "port": self.port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


def _peer_host(peer: object) -> str | None:
    """The IP address of aiosmtpd's `session.peer` (host, port[, flow, scope]) tuple."""
    if isinstance(peer, tuple) and peer and isinstance(peer[0], str):
        return peer[0]
    return None


def _tls_context(settings: ListenSettings) -> ssl.SSLContext | None:
    if not settings.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context
