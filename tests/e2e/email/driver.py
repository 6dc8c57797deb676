"""Drives the email channel like the outside world: an MTA delivering to our SMTP listener,
and a relay (a local aiosmtpd sink) receiving what Gongdan sends."""

from __future__ import annotations

import asyncio
import email
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import sqlalchemy as sa
import yaml
from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.email.channel import EmailChannel
from bot.config import Config
from core.clock import Clock
from core.ticket import Ticket
from storage import queries
from storage.db import reader
from storage.tables import outbox, tickets
from tests.e2e.harness import TEST_CONFIG, Running, running, service_config

DOMAIN = "gongdan.example.com"
IT = f"it@{DOMAIN}"
PURCHASE = f"purchase@{DOMAIN}"
REPAIR = f"repair@{DOMAIN}"
FROM = f"it@{DOMAIN}"
CORPUS = Path(__file__).parents[2] / "unit" / "adapters" / "email" / "corpus"
ATTACHMENT_LIMIT = 64 * 1024  # small, so a test can mail a file over it


def key_in(reply: str) -> str:
    """The ticket key in the listener's "250 2.0.0 Accepted as IT-1001"."""
    match = re.search(r"Accepted as ([A-Z][A-Z0-9]*-\d+)", reply)
    assert match is not None, reply
    return match.group(1)


@dataclass
class Sink:
    """The relay: every message Gongdan sends lands here."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    port: int = 0
    gate: asyncio.Event | None = None  # set: each message waits for it before it is taken

    def hold(self) -> asyncio.Event:
        """Messages wait at DATA until the returned event is set (a slow relay)."""
        self.gate = asyncio.Event()
        return self.gate

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.gate is not None:
            await self.gate.wait()
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        async with self._arrived:
            self.messages.append(msg)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            self._arrived.notify_all()
        return "250 2.0.0 queued"

    async def wait_for(self, count: int, within_s: float = 10.0) -> list[EmailMessage]:
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.messages) >= count), within_s
            )
        return list(self.messages)


@asynccontextmanager
async def relay_sink() -> AsyncIterator[Sink]:
    loop = asyncio.get_running_loop()
    sink = Sink()
    server = await loop.create_server(lambda: SMTP(sink, loop=loop), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


def email_config(
    db_url: str,
    tmp_path: Path,
    relay_port: int | None,
    *,
    emails: dict[str, str] | None = None,
    attachment_limit: int = ATTACHMENT_LIMIT,
    **overrides: Any,
) -> Config:
    """The test company with the email channel; `emails` gives configured people an address."""
    data = yaml.safe_load(TEST_CONFIG.read_text(encoding="utf-8"))
    data["attachments"] = {"dir": str(tmp_path / "attachments"), "max_bytes": attachment_limit}
    for person in data["people"]:
        if person["id"] in (emails or {}):
            person["email"] = (emails or {})[person["id"]]
    data["ticket_types"].append(
        {
            "id": "repair",
            "prefix": "RP",
            "name": {"zh-CN": "报修", "en": "Repair"},
            "default_team": "it",
            "fields": [
                {"id": "photos", "kind": "attachment", "label": {"zh-CN": "照片", "en": "Photos"}}
            ],
        }
    )
    section: dict[str, Any] = {
        "smtp_listen": "127.0.0.1:0",
        "domain": DOMAIN,
        "addresses": {IT: "it", PURCHASE: "purchase", REPAIR: "repair"},
    }
    if relay_port is not None:
        section["relay"] = {
            "host": "127.0.0.1",
            "port": relay_port,
            "security": "none",
            "from": FROM,
        }
    section.update(overrides)
    data["channels"]["email"] = section
    path = tmp_path / "gongdan.email.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return service_config(db_url, path)


def compose(
    subject: str,
    body: str,
    *,
    sender: str = "zhang.san@example.cn",
    name: str = "张三",
    to: str = IT,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.cn")
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    return msg.as_bytes()


@dataclass
class MailWorld:
    app: Running
    sink: Sink

    @property
    def channel(self) -> EmailChannel:
        found = self.app.services.channels["email"]
        assert isinstance(found, EmailChannel)
        return found

    async def send(
        self, raw: bytes, *, sender: str = "zhang.san@example.cn", to: str = IT
    ) -> tuple[int, str]:
        """Deliver over SMTP; the listener's final reply (code, text)."""
        listener = self.channel.listener
        assert listener is not None
        try:
            if not sender:
                return await _send_from_null_sender(raw, to, listener.port)
            _, reply = await aiosmtplib.send(
                raw, sender=sender, recipients=[to], hostname="127.0.0.1", port=listener.port
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return exc.recipients[0].code, exc.recipients[0].message
        except aiosmtplib.SMTPResponseException as exc:
            return exc.code, exc.message
        code = reply.partition(" ")[0]
        return int(code) if code.isdigit() else 250, reply

    async def tickets(self) -> list[Ticket]:
        async with reader(self.app.services.engine).connect() as conn:
            page, _ = await queries.list_tickets(conn, queries.TicketFilter(), 200, None)
        return page

    async def ticket(self, key: str) -> Ticket | None:
        return await self.app.services.service.ticket(key)

    async def comments(self, key: str) -> list[queries.StoredComment]:
        async with reader(self.app.services.engine).connect() as conn:
            return await queries.ticket_comments(conn, key)

    async def outbox_rows(self, kind: str | None = None) -> list[Any]:
        stmt = sa.select(outbox).where(outbox.c.channel == "email").order_by(outbox.c.id)
        if kind is not None:
            stmt = stmt.where(outbox.c.kind == kind)
        async with reader(self.app.services.engine).connect() as conn:
            return list((await conn.execute(stmt)).mappings().all())

    async def settled(self, predicate: Callable[[list[Any]], bool], within_s: float = 10) -> None:
        """Wait until the outbox rows satisfy `predicate` (the dispatcher works in the background)."""

        async def poll() -> None:
            while True:
                if predicate(await self.outbox_rows()):
                    return
                self.app.services.dispatcher.wake()
                await asyncio.sleep(0.02)

        await asyncio.wait_for(poll(), within_s)

    async def delivered(self) -> None:
        """Every email outbox row sent (and its card reference recorded)."""
        await self.settled(lambda rows: all(r["status"] == "sent" for r in rows))

    async def ticket_count(self) -> int:
        async with reader(self.app.services.engine).connect() as conn:
            return int(
                (await conn.execute(sa.select(sa.func.count()).select_from(tickets))).scalar_one()
            )


async def _send_from_null_sender(raw: bytes, to: str, port: int) -> tuple[int, str]:
    """MAIL FROM:<>, as MTAs send delivery reports (aiosmtplib refuses an empty sender)."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as smtp:
        await smtp.ehlo()
        answer = await smtp.execute_command(b"MAIL", b"FROM:<>")
        assert answer.code == 250, answer
        await smtp.rcpt(to)
        reply = await smtp.data(raw)
        return reply.code, reply.message


@asynccontextmanager
async def mail_world(
    db_url: str,
    tmp_path: Path,
    *,
    clock: Clock | None = None,
    relay: bool = True,
    emails: dict[str, str] | None = None,
    attachment_limit: int = ATTACHMENT_LIMIT,
    **overrides: Any,
) -> AsyncIterator[MailWorld]:
    async with relay_sink() as sink:
        port = sink.port if relay else None
        config = email_config(
            db_url, tmp_path, port, emails=emails, attachment_limit=attachment_limit, **overrides
        )
        async with running(config, clock=clock) as app:
            yield MailWorld(app, sink)
