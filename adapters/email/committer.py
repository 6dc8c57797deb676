"""What every path of the mail intake shares: who sent the mail, committing what it says under
its dedupe key, storing its files, and answering its sender outside a ticket.

Any failure to commit raises `TemporaryFailure` (SMTP 451, IMAP leaves the message unseen).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Protocol

from adapters.email.loop import AckLimiter, may_auto_reply
from adapters.email.notes import unverified_person
from adapters.email.outcomes import TemporaryFailure
from adapters.email.parse import ParsedMail
from adapters.email.senders import Verdict
from adapters.email.settings import EmailSettings
from adapters.kit.intake import remembered_key
from adapters.kit.people import PeopleResolver, Profile
from adapters.ports import (
    Commands,
    Conversations,
    Files,
    InboundFile,
    InboundKey,
    People,
    Submitted,
    Suppressions,
)
from core.clock import Clock
from core.commands import Command
from core.conversation import ConversationRules
from core.errors import DomainError
from core.i18n import Locale, Text
from core.people import Person, Role
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.email")

CHANNEL = "email"
# Bounce notes need an author that may comment on any ticket; no mail sender can become it
# because senders are registered as "mail:<address>".
MAIL_SYSTEM = Person(
    id="email-delivery",
    name=Text("Mail delivery", "邮件投递"),
    roles=frozenset({Role.ADMIN}),
)
REMEMBERED_ANSWERS = 10_000


class MailIntakePorts(Commands, People, Files, Suppressions, Conversations, Protocol):
    """What taking mail in asks of the bot."""


class MailCommitter:
    """The state and the commits every path of the intake shares."""

    def __init__(self, settings: EmailSettings, gateway: MailIntakePorts, clock: Clock) -> None:
        self.settings = settings
        self.gateway = gateway
        self.clock = clock
        ack = settings.ack
        self.acks = AckLimiter(ack.window, ack.per_window, ack.per_day)
        # addresses a permanent bounce named (stored; EmailChannel.start loads them back);
        # outbound mail to them fails at once
        self.suppressed: set[str] = set()
        # the sender's address is their identity; a configured person's counts once proven
        self.people = PeopleResolver(
            CHANNEL,
            gateway,
            settings.people,
            settings.locale,
            id_prefix="mail:",
            link_identity=False,
        )
        self._answered: OrderedDict[str, None] = OrderedDict()

    @property
    def rules(self) -> ConversationRules:
        """What counts as small talk (conversation.chatter): a reply of only that is no news."""
        return self.gateway.conversation_rules

    async def _submit(self, command: Command, parsed: ParsedMail) -> Submitted:
        """What the bot committed (or that it was a duplicate); DomainErrors pass through."""
        try:
            return await self.gateway.submit(
                command, inbound=InboundKey(CHANNEL, parsed.dedupe_key), respond=remembered_key
            )
        except DomainError:
            raise
        except Exception as exc:
            log.exception("could not commit a mail", extra={"dedupe_key": parsed.dedupe_key})
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    async def _keep_files(
        self, key: str, files: list[InboundFile], parsed: ParsedMail, is_comment: bool
    ) -> None:
        """Store the files after their ticket or comment committed. Failing here answers 451:
        the redelivered mail is a duplicate, and storing its files again completes the job."""
        if not files:
            return
        try:
            await self.gateway.store_attachments(
                key, files, comment_message=parsed.message_id if is_comment else None
            )
        except Exception as exc:
            log.exception("could not store attachments", extra={"ticket": key})
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    async def _suppress(self, addresses: tuple[str, ...], status: str | None) -> None:
        """Stored before the bounce note: a retried report suppresses again, harmlessly."""
        reason = f"permanent bounce ({status or 'no status'})"
        try:
            for address in addresses:
                await self.gateway.suppress(CHANNEL, address.lower(), reason)
        except Exception as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        self.suppressed.update(a.lower() for a in addresses)

    def _origin(self, parsed: ParsedMail) -> ChannelRef:
        # conversation: who answers go to; message: the mail our answer replies to
        return ChannelRef(CHANNEL, parsed.from_addr, message=parsed.message_id)

    def _may_answer(self, parsed: ParsedMail) -> bool:
        """Whether an automatic answer may go to this sender now (and count it if so)."""
        sender = parsed.from_addr
        if not may_auto_reply(parsed.auto) or not sender or sender in self.suppressed:
            return False
        return self.acks.allow(sender, self.clock.now())

    async def _answer(
        self, parsed: ParsedMail, text: dict[Locale, str], *, counted: bool = False
    ) -> None:
        """One reply outside a ticket (missing fields, refused reply), through the outbox."""
        if parsed.dedupe_key in self._answered:
            return
        if not counted and not self._may_answer(parsed):
            return
        self._answered[parsed.dedupe_key] = None
        while len(self._answered) > REMEMBERED_ANSWERS:
            self._answered.popitem(last=False)
        # thread carries the subject to answer under: there is no ticket whose title it could use
        where = ChannelRef(CHANNEL, parsed.from_addr, parsed.subject[:200], parsed.message_id)
        try:
            await self.gateway.notify(where, text)
        except Exception as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    async def _requester(self, parsed: ParsedMail, verdict: Verdict) -> Person:
        addr = parsed.from_addr
        named = self.people.named(addr, addr)
        try:
            # an address-only requester is never more than its address, so it needs no proof
            if named is None or verdict.verified or named.id == f"mail:{addr}":
                sender = Profile(addr, name=parsed.from_name or addr, email=addr)
                return await self.people.person(addr, sender)
            log.warning(
                "unverified mail in the name of a configured person",
                extra={"from": addr, "person": named.id, "why": verdict.why},
            )
            stand_in = unverified_person(addr, self.settings.locale)
            existing = self.gateway.directory.person(stand_in.id)
            if existing is None:
                await self.gateway.register_person(stand_in)
            return existing or stand_in
        except Exception as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
