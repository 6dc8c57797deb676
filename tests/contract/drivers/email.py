"""Mail from its side: SMTP into the channel's listener, a relay double (aiosmtpd) out.

Mail's real payloads are the corpus in tests/unit/adapters/email/corpus (real-world mail and
generated Chinese and loop samples, see its README); the suite takes its auto-reply from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.email.channel import EmailChannel
from bot.config import Config
from tests.contract.drivers.base import Answer, ChannelDriver, Shown
from tests.e2e.email.driver import CORPUS, IT, Sink, compose, email_config

REQUESTER = "zhang.san@example.cn"  # a stranger: the service's language, zh-CN
BOB = "bob.smith@example.com"  # bob.smith, locale en


class RefusingSink(Sink):
    """The relay; `refusals` are answered to the next DATA commands instead of taking them."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals: list[str] = []
        self.attempts = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.attempts += 1
        if self.refusals:
            return self.refusals.pop(0)
        return await super().handle_DATA(server, session, envelope)


class EmailContractDriver(ChannelDriver):
    name = "email"
    accepted = 250
    refused = 501  # SMTP's "syntax error in parameters"

    sink: RefusingSink
    _last: tuple[bytes, str] | None = None

    async def platform(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        self.sink = RefusingSink()
        server = await loop.create_server(lambda: SMTP(self.sink, loop=loop), "127.0.0.1", 0)
        self.sink.port = server.sockets[0].getsockname()[1]
        try:
            yield
        finally:
            server.close()
            await server.wait_closed()

    def config(self, db_url: str) -> Config:
        return email_config(db_url, self.tmp_path, self.sink.port, emails={"bob.smith": BOB})

    @property
    def _port(self) -> int:
        channel = self.svc.services.channels["email"]
        assert isinstance(channel, EmailChannel) and channel.listener is not None
        return channel.listener.port

    async def _send(self, raw: bytes, sender: str) -> Answer:
        self._last = (raw, sender)
        try:
            _, reply = await aiosmtplib.send(
                raw, sender=sender, recipients=[IT], hostname="127.0.0.1", port=self._port
            )
        except aiosmtplib.SMTPResponseException as exc:
            return Answer(exc.code, exc.message)
        code, _, text = reply.partition(" ")
        return Answer(int(code) if code.isdigit() else 250, text)

    async def open_ticket(self, text: str) -> str:
        answer = await self._send(compose(text, text, sender=REQUESTER), REQUESTER)
        assert answer.status == 250, answer
        [*_, key] = await self.tickets()
        return key

    async def deliver_again(self) -> Answer:
        assert self._last is not None
        return await self._send(*self._last)

    async def cards(self, key: str) -> list[Shown]:
        return [_shown(m) for m in self.sink.messages if f"[{key}]" in str(m["Subject"])]

    def fail_next_send(self, *, retry_after: int | None) -> None:
        assert retry_after is None, "SMTP names no time to wait"
        self.sink.refusals.append("550 5.1.1 <zhang.san@example.cn>: mailbox unavailable")

    def send_attempts(self) -> int:
        return self.sink.attempts

    async def send_unparseable(self) -> Answer:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=self._port) as smtp:
            await smtp.ehlo()
            answer = await smtp.execute_command(b"MAIL", b"FROM:")  # no address at all
            return Answer(answer.code, answer.message)

    async def send_unhandled(self) -> Answer:
        raw = (CORPUS / "out_of_office_zh.eml").read_bytes()
        return await self._send(raw, "wang.zhe@example.cn")

    async def message_to_bob(self) -> Shown:
        answer = await self._send(compose("printer jammed", "on 3F", sender=BOB, name="Bob"), BOB)
        assert answer.status == 250, answer
        await self.settle()
        [*_, last] = [m for m in self.sink.messages if BOB in str(m["To"])]
        return _shown(last)


def _shown(m: EmailMessage) -> Shown:
    body = m.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    thread = f"{m['In-Reply-To'] or ''} {m['References'] or ''}"
    return Shown(str(m["Message-ID"]), thread, f"{m['Subject']}\n{text}")
