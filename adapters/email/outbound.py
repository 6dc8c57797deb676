"""Outbound mail: composing threaded, loop-safe UTF-8 messages and handing them to the relay.

Every message says it was sent by a machine (RFC 3834 Auto-Submitted, Microsoft's
X-Auto-Response-Suppress) and carries our loop header, so out-of-office robots stay quiet and
our own mail coming back is recognised. The envelope sender is our address, not <>: bounces
must reach us so we can attach them to the ticket and stop mailing a dead address.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from typing import Literal

import aiosmtplib

from adapters.base import DeliveryError
from adapters.email.settings import RelaySettings
from adapters.email.threads import reply_headers

log = logging.getLogger("gongdan.email")

_POOL = 8  # idle relay connections kept open

AutoSubmitted = Literal["auto-replied", "auto-generated"]


class Mailer:
    def __init__(
        self, relay: RelaySettings | None, *, domain: str, loop_header: str, sender_name: str
    ) -> None:
        self.relay = relay
        self.domain = domain
        self.loop_header = loop_header
        self.sender_name = sender_name
        self._idle: list[aiosmtplib.SMTP] = []

    def compose(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        html: str,
        message_id: str,
        parents: Sequence[str] = (),
        auto: AutoSubmitted = "auto-generated",
    ) -> Message:
        """`parents`: Message-IDs of the thread, oldest first; the last one is answered."""
        # compat32 MIME classes: about four times cheaper than EmailMessage with the default
        # policy, for the same bytes on the wire (UTF-8, RFC 2047 headers, base64 bodies).
        msg = MIMEMultipart("alternative")
        msg["From"] = formataddr((str(Header(self.sender_name, "utf-8")), self._from_addr()))
        msg["To"] = to
        msg["Subject"] = Header(" ".join(subject.split()), "utf-8", header_name="Subject").encode()
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = message_id
        for name, value in reply_headers(list(parents)).items():
            msg[name] = value
        msg["Auto-Submitted"] = auto
        msg["X-Auto-Response-Suppress"] = "All"
        msg[self.loop_header] = self.domain
        msg.attach(MIMEText(text, "plain", "utf-8"))
        msg.attach(MIMEText(html, "html", "utf-8"))
        return msg

    async def send(self, msg: Message) -> None:
        relay = self.relay
        if relay is None:
            raise DeliveryError(
                "no outbound relay is configured (channels.email.relay): mail is not sent",
                permanent=True,
            )
        try:
            await self._send_pooled(relay, msg)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            raise DeliveryError(
                f"relay refused {detail}", permanent=all(c >= 500 for c in codes)
            ) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            # wrong relay credentials are fixed by the operator, so the mail waits for that
            raise DeliveryError(f"relay login failed: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"relay answered {exc.code} {exc.message}", permanent=exc.code >= 500
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"relay unreachable: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        while self._idle:
            client = self._idle.pop()
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()

    async def _send_pooled(self, relay: RelaySettings, msg: Message) -> None:
        """Reuse open relay connections: a new TCP + TLS + EHLO + AUTH per mail costs more
        than the mail itself. A connection the relay closed meanwhile is replaced once."""
        for attempt in (1, 2):
            client = self._idle.pop() if self._idle else None
            fresh = client is None
            if client is None:
                client = aiosmtplib.SMTP(
                    hostname=relay.host,
                    port=relay.port,
                    username=relay.username,
                    password=relay.password,
                    use_tls=relay.security == "tls",
                    start_tls=relay.security == "starttls",
                    timeout=relay.timeout_s,  # per connect and per command
                )
            try:
                if fresh:
                    await client.connect()
                await client.send_message(msg, sender=relay.from_addr, recipients=[str(msg["To"])])
            except aiosmtplib.SMTPServerDisconnected:
                if fresh or attempt == 2:
                    raise
                continue
            except aiosmtplib.SMTPException:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.rset()
                    self._keep(client)
                raise
            except BaseException:
                # cancelled (the dispatcher's send timeout) or the socket broke mid-command:
                # the connection is in an unknown state, so it is dropped, never pooled
                client.close()
                raise
            self._keep(client)
            return

    def _keep(self, client: aiosmtplib.SMTP) -> None:
        if len(self._idle) < _POOL and client.is_connected:
            self._idle.append(client)
        else:
            client.close()

    def _from_addr(self) -> str:
        return self.relay.from_addr if self.relay is not None else f"noreply@{self.domain}"
