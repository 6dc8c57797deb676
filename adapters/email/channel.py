"""The email channel: SMTP and IMAP intake in, acknowledgements, status and comments out.

For email a "card" is a mail: post_card sends the acknowledgement (its Message-ID becomes the
card's MessageRef, and the mail it answered rides in `thread`), update_card sends a short
status mail when the status changed, post_text relays comments made on other channels.
Every outbound mail answers the previous one (In-Reply-To/References) so clients thread it.

Which status was last mailed survives restarts: the acknowledgement's Message-ID carries the
status it announced (its card ref is only recorded after it is sent), and each status mail
stores its status on the card ref through the CardStatus port.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from aiohttp import web

from adapters.contract import Capabilities, CardRenderer, CardState, DeliveryError, MessageRef
from adapters.email.imap_in import ImapPoller
from adapters.email.intake import CHANNEL, MailIntake
from adapters.email.outbound import AutoSubmitted, Mailer
from adapters.email.render import card_html, card_text, text_html
from adapters.email.settings import EmailSettings
from adapters.email.smtp_in import SmtpListener
from adapters.email.threads import (
    normalize_message_id,
    our_message_id,
    subject_with_tag,
    ticket_key_from_message_id,
)
from adapters.kit.locale import recipient_locale
from adapters.ports import (
    Cards,
    CardStatus,
    Commands,
    Conversations,
    Files,
    People,
    Suppressions,
)
from core.clock import Clock
from core.i18n import Locale
from core.people import Person
from core.ticket import ChannelRef, Status

log = logging.getLogger("gongdan.email")

_STATUSES = frozenset(s.value for s in Status)

_ACK: dict[Locale, str] = {
    "en": "We have received your request as {key}. Keep {key} in the subject of any reply.",
    "zh-CN": "我们已收到您的请求，工单号 {key}。回复时请保留主题中的 {key}。",
}
_STATUS: dict[Locale, str] = {
    "en": "{key} is now: {status}",
    "zh-CN": "{key} 当前状态：{status}",
}
_ASK_AGAIN: dict[Locale, str] = {
    "en": "Your request needs more information",
    "zh-CN": "您的请求需要补充信息",
}


class EmailPorts(Commands, People, Cards, CardStatus, Files, Suppressions, Conversations, Protocol):
    """What mail asks of the bot: every port (it answers, files, bounces and remembers)."""


class EmailChannel:
    """Mail: no direct notices (a reminder is not mailed), status changes as new mails in the
    ticket's thread."""

    name = CHANNEL
    capabilities = Capabilities(
        update_in_place=False, ephemeral=False, threads=True, native_forms=False
    )

    def __init__(self, settings: EmailSettings, gateway: EmailPorts, clock: Clock) -> None:
        self.settings = settings
        self.gateway = gateway
        self.intake = MailIntake(settings, gateway, clock)
        self.mailer = Mailer(
            settings.relay,
            domain=settings.domain,
            loop_header=settings.loop_header,
            sender_name=settings.service_name,
        )
        self.listener = (
            SmtpListener(
                settings.listen,
                self.intake,
                max_bytes=settings.max_message_bytes,
                hostname=settings.domain,
            )
            if settings.listen is not None
            else None
        )
        self.poller = ImapPoller(settings.imap, self.intake) if settings.imap else None

    @property
    def suppressed(self) -> set[str]:
        """Addresses that bounced permanently (stored; loaded again at start)."""
        return self.intake.suppressed

    # ---- lifecycle ----------------------------------------------------------------------
    def routes(self) -> list[web.AbstractRouteDef]:
        # no pages: a satisfaction page that collects nothing must not show tickets to anyone
        return []

    async def start(self) -> None:
        if self.settings.relay is None:
            log.warning(
                "channels.email.relay is not set: Gongdan receives mail but sends none "
                "(acknowledgements and status mails fail in the outbox with that reason)"
            )
        # before the listener opens: no mail may go to a dead address after a restart
        self.intake.suppressed.update(await self.gateway.suppressed(CHANNEL))
        if self.listener is not None:
            await self.listener.start()
        if self.poller is not None:
            self.poller.start()

    async def stop(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        if self.listener is not None:
            await self.listener.stop()
        await self.mailer.close()

    # ---- outbound (called by the outbox dispatcher) ---------------------------------------
    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        to = self._recipient(where.conversation)
        card = cards(self._locale(to))
        lead = _ACK[card.locale].format(key=card.ticket_key)
        mid = await self._send(
            to,
            card.ticket_key,
            subject_with_tag(card.ticket_key, card.title),
            card_text(card, lead),
            card_html(card, lead),
            [where.message],
            "auto-replied",
            status=card.status,
        )
        return MessageRef(CHANNEL, to, mid, thread=where.message)

    # ---- reach (notices) ------------------------------------------------------------------
    def direct_ref(self, person: Person) -> ChannelRef | None:
        return None

    def is_direct(self, where: ChannelRef) -> bool:
        return False

    def team_room(self, team_id: str) -> ChannelRef | None:
        return None

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> CardState | None:
        to = self._recipient(ref.conversation)
        card = cards(self._locale(to))
        if await self._last_mailed(ref) == card.status.value:
            return None  # the ticket changed, its status did not: no mail for that
        lead = _STATUS[card.locale].format(key=card.ticket_key, status=card.status_label)
        await self._send(
            to,
            card.ticket_key,
            subject_with_tag(card.ticket_key, card.title),
            card_text(card, lead),
            card_html(card, lead),
            [ref.thread, ref.message],
            "auto-generated",
        )
        try:
            await self.gateway.remember_status(ref, card.status.value)
        except Exception:
            # the mail is out; failing the delivery now would only send it twice
            log.exception("status mail sent but not recorded", extra={"ticket": card.ticket_key})
        return None

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        if where.message is None and ephemeral_to is None:
            # a team notice (SLA, escalation) aimed at the conversation the ticket came
            # from: for mail that is the requester's inbox, which is not the team's room
            log.info("team notice not mailed to a requester", extra={"to": where.conversation})
            return None
        to = self._recipient(ephemeral_to or where.conversation)
        locale = self._locale(to)
        body = text.get(locale) or text.get("en") or ""
        key = ticket_key_from_message_id(where.message or "", self.settings.domain)
        auto: AutoSubmitted = "auto-generated"
        if key is not None:
            card = await self.gateway.card(key, locale)
            subject = subject_with_tag(key, card.title if card else "")
        else:
            auto = "auto-replied"
            subject = f"Re: {where.thread}" if where.thread else _ASK_AGAIN[locale]
        parents = [where.thread, where.message]
        mid = await self._send(to, key, subject, body + "\n", text_html(body), parents, auto)
        return MessageRef(CHANNEL, to, mid, thread=where.thread)

    # ---- helpers --------------------------------------------------------------------------
    async def _send(
        self,
        to: str,
        key: str | None,
        subject: str,
        text: str,
        body_html: str,
        parents: list[str | None],
        auto: AutoSubmitted,
        *,
        status: Status | None = None,
    ) -> str:
        unique = uuid.uuid4().hex
        if status is not None:
            # shortened so the ID still fits one header line (78 columns) with the status in it
            unique = f"{unique[:20]}.{status.value}"
        domain = self.settings.domain
        mid = our_message_id(key, unique, domain) if key else f"<gd.{unique}@{domain}>"
        thread = [p for p in parents if p and normalize_message_id(p) == p]
        msg = self.mailer.compose(
            to=to,
            subject=subject,
            text=text,
            html=body_html,
            message_id=mid,
            parents=thread,
            auto=auto,
        )
        await self.mailer.send(msg)
        return mid

    def _recipient(self, address: str | None) -> str:
        if not address or "@" not in address:
            raise DeliveryError(f"not a mail address: {address!r}", permanent=True)
        addr = address.lower()
        if addr in self.intake.suppressed:
            raise DeliveryError(
                f"{addr} bounced permanently; no more mail goes there", permanent=True
            )
        if addr in self.settings.own_addresses:
            raise DeliveryError(f"{addr} is our own address; not mailing ourselves", permanent=True)
        return addr

    def _locale(self, address: str) -> Locale:
        directory = self.gateway.directory
        return recipient_locale(
            directory, CHANNEL, address, self.settings.locale, known=self.settings.people
        )

    async def _last_mailed(self, ref: MessageRef) -> str | None:
        """The status of the last status mail, else the one the acknowledgement announced."""
        try:
            stored = await self.gateway.rendered_status(ref)
        except Exception as exc:
            raise DeliveryError(f"cannot read the last mailed status: {exc}") from exc
        if stored is not None:
            return stored
        local = ref.message.strip("<>").rpartition("@")[0]
        announced = local.rpartition(".")[2]
        return announced if announced in _STATUSES else None
