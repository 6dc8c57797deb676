"""One received mail -> one committed change: a new ticket, a comment, a bounce note, or nothing.

Shared by the SMTP listener and the IMAP poller. `accept` returns only after the bot
committed (or decided there is nothing to commit); a failure to commit raises
`TemporaryFailure`, so SMTP answers 451 and IMAP leaves the message unseen. A mail that fails
for a reason of its own fails the same way on every delivery, so it is never "try again": it
opens a ticket with the original attached, and only if even that is refused `PermanentFailure`
is raised (SMTP 554, IMAP quarantine at once).

A configured person's address in `From` counts only when `senders.verify` proves it; else the
mail comes from a stand-in, `mail-unverified:<address>`, with no powers, and says so.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from typing import Protocol

from adapters.email.files import fill_attachment_field, inbound_files, with_attachment_lines
from adapters.email.formfields import FieldValue, apply_tag, parse_field_lines
from adapters.email.loop import (
    AckLimiter,
    AutoKind,
    answers_something,
    may_auto_reply,
    parse_bounce,
)
from adapters.email.notes import (
    is_unverified,
    missing_fields,
    refused,
    unverified_person,
    with_notes,
)
from adapters.email.outcomes import (
    Disposition,
    MailOutcome,
    MailRoute,
    PermanentFailure,
    TemporaryFailure,
)
from adapters.email.parse import ParsedMail, parse_mail, strip_quoted, with_original
from adapters.email.senders import Arrival, Verdict, verify
from adapters.email.settings import EmailSettings
from adapters.email.threads import (
    referenced_ids,
    strip_reply_prefixes,
    ticket_key_from_message_id,
    ticket_key_from_subject,
)
from adapters.kit.intake import committed_key, remembered_key
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
from core.commands import AddComment, Command, OpenTicket
from core.conversation import ConversationRules, is_chatter
from core.errors import DomainError, FormInvalid, NotFound, PermissionDenied
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
# Mail from these never opens a ticket: nobody wrote it to ask for something.
_NEVER_A_TICKET = frozenset(
    {
        AutoKind.OUR_LOOP,
        AutoKind.BOUNCE,
        AutoKind.DISPOSITION,
        AutoKind.NULL_SENDER,
        AutoKind.DAEMON,
    }
)
_TITLE_MAX = 200
_COMMENT_MAX = 10_000
_DESCRIPTION_MAX = 20_000
_REMEMBERED_REPLIES = 10_000


class MailIntakePorts(Commands, People, Files, Suppressions, Conversations, Protocol):
    """What taking mail in asks of the bot."""


class MailIntake:
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

    def route(self, address: str) -> MailRoute | None:
        """The ticket type a recipient address files into (plus-tag kept), None if not ours."""
        addr = address.strip().strip("<>").lower()
        local, at, domain = addr.rpartition("@")
        if not at:
            return None
        base, plus, tag = local.partition("+")
        type_id = self.settings.addresses.get(f"{base}@{domain}")
        if type_id is None:
            return None
        return MailRoute(type_id, tag if plus and tag else None)

    async def accept(self, raw: bytes, arrival: Arrival) -> MailOutcome:
        """Take one mail in; raises TemporaryFailure (try later) or PermanentFailure (never)."""
        parsed = parse_mail(
            raw,
            max_attachment_bytes=self.settings.max_attachment_bytes,
            envelope_from=arrival.envelope_from,
            our_loop_header=self.settings.loop_header,
            our_addresses=self.settings.own_addresses,
        )
        verdict = verify(parsed.from_addr, parsed.auth_results, arrival, self.settings.senders)
        try:
            return await self._take(raw, parsed, arrival, verdict)
        except TemporaryFailure:
            raise
        except Exception as exc:
            log.exception("mail could not be processed", extra={"dedupe_key": parsed.dedupe_key})
            problem = parsed.problem or f"could not be processed ({type(exc).__name__})"
            kept = with_original(parsed, raw, problem, self.settings.max_attachment_bytes)
            return await self._keep(kept, arrival, verdict)

    async def _keep(self, parsed: ParsedMail, arrival: Arrival, verdict: Verdict) -> MailOutcome:
        """The last resort for a mail the intake failed on: a new ticket, original attached.
        Same dedupe key, so a part that did commit is not made twice."""
        try:
            requester = await self._requester(parsed, verdict)
            return await self._open(parsed, requester, self._route_for(parsed, arrival))
        except TemporaryFailure:
            raise
        except Exception as exc:
            log.exception("mail refused for good", extra={"dedupe_key": parsed.dedupe_key})
            raise PermanentFailure(f"{type(exc).__name__}: {exc}"[:200]) from exc

    async def _take(
        self, raw: bytes, parsed: ParsedMail, arrival: Arrival, verdict: Verdict
    ) -> MailOutcome:
        if parsed.auto is AutoKind.BOUNCE:
            return await self._bounce(raw, parsed)
        if parsed.auto in _NEVER_A_TICKET:
            log.info("mail ignored", extra={"why": str(parsed.auto), "from": parsed.from_addr})
            return MailOutcome(Disposition.DROPPED, detail=str(parsed.auto))
        key = self._thread_key(parsed)
        if key is not None:
            outcome = await self._comment(parsed, key, await self._requester(parsed, verdict))
            if outcome is not None:
                return outcome
        if answers_something(parsed.headers):
            # an out-of-office answer to no ticket of ours: nobody is asking for help
            log.info("mail ignored", extra={"why": "auto-reply", "from": parsed.from_addr})
            return MailOutcome(Disposition.DROPPED, detail="auto-reply to something else")
        requester = await self._requester(parsed, verdict)
        return await self._open(parsed, requester, self._route_for(parsed, arrival))

    # ---- replies --------------------------------------------------------------------------
    def _thread_key(self, parsed: ParsedMail) -> str | None:
        for mid in referenced_ids(parsed):
            key = ticket_key_from_message_id(mid, self.settings.domain)
            if key is not None:
                return key
        prefixes = [tt.prefix for tt in self.gateway.ticket_types.values()]
        return ticket_key_from_subject(parsed.subject, prefixes)

    async def _comment(self, parsed: ParsedMail, key: str, requester: Person) -> MailOutcome | None:
        """Add the reply to its ticket; None when that ticket does not exist (open a new one)."""
        reply = strip_quoted(parsed.text)
        if parsed.auto is None and not parsed.attachments and is_chatter(reply, self.rules):
            return await self._thanks(parsed, key, requester, reply)
        text = with_attachment_lines(reply, parsed) or "(…)"
        body = with_notes(text, parsed, requester)[:_COMMENT_MAX]
        command = AddComment(
            key=key,
            author_id=requester.id,
            body=body,
            origin=self._origin(parsed),
            # an out-of-office answer belongs in the log, not in everyone's chat
            public=parsed.auto is None,
        )
        try:
            done = await self._submit(command, parsed)
        except NotFound:
            return None
        except PermissionDenied as exc:
            if not is_unverified(requester):
                await self._answer(parsed, refused(key, exc))
                return MailOutcome(Disposition.REFUSED, key, exc.message)
            # someone else's ticket, in a configured person's name but unproven: kept for the
            # agents as an internal note, never shown to the requester, nobody mailed
            await self.gateway.register_person(MAIL_SYSTEM)
            note = replace(command, author_id=MAIL_SYSTEM.id, public=False)
            done = await self._submit(note, parsed)
        await self._keep_files(committed_key(done) or key, inbound_files(parsed), parsed, True)
        if done.duplicate:
            return MailOutcome(Disposition.DUPLICATE, key)
        return MailOutcome(Disposition.COMMENTED, key)

    async def _thanks(
        self, parsed: ParsedMail, key: str, requester: Person, reply: str
    ) -> MailOutcome:
        """A reply that only says thanks (or ok, 好的, 👍): kept in the ticket's log as an
        internal note, so nobody's chat thread or mailbox hears of it and no clock moves; never
        a new ticket, even when the ticket it answers is gone."""
        await self.gateway.register_person(MAIL_SYSTEM)
        who = f"{requester.display('en')} <{parsed.from_addr}>"
        body = f"{who}: {reply.strip() or '(…)'}"[:_COMMENT_MAX]
        note = AddComment(key, MAIL_SYSTEM.id, body, self._origin(parsed), public=False)
        try:
            done = await self._submit(note, parsed)
        except NotFound:
            return MailOutcome(Disposition.DROPPED, key, "chatter for an unknown ticket")
        if done.duplicate:
            return MailOutcome(Disposition.DUPLICATE, key)
        return MailOutcome(Disposition.COMMENTED, key, "chatter")

    async def _bounce(self, raw: bytes, parsed: ParsedMail) -> MailOutcome:
        bounce = parse_bounce(raw)
        if bounce is None:
            return MailOutcome(Disposition.DROPPED, detail="unreadable delivery report")
        if bounce.permanent:
            await self._suppress(bounce.recipients, bounce.status)
        keys = [
            k
            for k in (
                ticket_key_from_message_id(mid, self.settings.domain)
                for mid in (*bounce.original_message_ids, *referenced_ids(parsed))
            )
            if k is not None
        ]
        if not keys:
            return MailOutcome(Disposition.DROPPED, detail="bounce of a mail we did not send")
        who = ", ".join(bounce.recipients) or "?"
        kind = "permanently" if bounce.permanent else "temporarily"
        body = f"Mail to {who} failed {kind} (status {bounce.status or '?'})."
        if bounce.permanent:
            body += " The address gets no more mail from this service."
        await self.gateway.register_person(MAIL_SYSTEM)
        command = AddComment(keys[0], MAIL_SYSTEM.id, body, self._origin(parsed), public=False)
        try:
            await self._submit(command, parsed)
        except NotFound:
            return MailOutcome(Disposition.DROPPED, keys[0], "bounce for an unknown ticket")
        return MailOutcome(Disposition.BOUNCE, keys[0], bounce.status)

    # ---- new tickets ----------------------------------------------------------------------
    def _route_for(self, parsed: ParsedMail, arrival: Arrival) -> MailRoute:
        for address in (*arrival.recipients, *parsed.to, *parsed.cc):
            found = self.route(address)
            if found is not None:
                return found
        imap = self.settings.imap
        fallback = imap.default_ticket_type if imap is not None else None
        return MailRoute(fallback or next(iter(self.settings.addresses.values())))

    async def _open(self, parsed: ParsedMail, requester: Person, route: MailRoute) -> MailOutcome:
        ttype = self.gateway.ticket_types.get(route.ticket_type)
        text = parsed.text
        fields: dict[str, FieldValue] = {}
        files = inbound_files(parsed)
        if ttype is not None:
            fields, text = parse_field_lines(text, ttype.fields)
            apply_tag(ttype, route.tag, fields)
            fill_attachment_field(ttype, fields, files)
        title = _title(parsed, text)
        # counted once: the acknowledgement or, if the form is incomplete, the reply instead
        may_answer = self._may_answer(parsed)
        command = OpenTicket(
            type_id=route.ticket_type,
            title=title,
            requester_id=requester.id,
            origin=self._origin(parsed),
            description=with_notes(with_attachment_lines(text, parsed), parsed, requester)[
                :_DESCRIPTION_MAX
            ],
            fields=fields,
            post_card=may_answer,
        )
        try:
            done = await self._submit(command, parsed)
        except FormInvalid as exc:
            if ttype is not None and may_answer:
                await self._answer(parsed, missing_fields(ttype, title, exc), counted=True)
            return MailOutcome(Disposition.FORM_REPLY, detail=exc.message)
        key = committed_key(done)
        if key is not None:
            await self._keep_files(key, files, parsed, False)
        if done.duplicate:
            return MailOutcome(Disposition.DUPLICATE)
        return MailOutcome(Disposition.OPENED, key)

    # ---- shared -------------------------------------------------------------------------
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
        while len(self._answered) > _REMEMBERED_REPLIES:
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


def _title(parsed: ParsedMail, text: str) -> str:
    title = strip_reply_prefixes(parsed.subject)
    if not title:
        title = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = title or "(no subject)"
    return title if len(title) <= _TITLE_MAX else title[: _TITLE_MAX - 1] + "…"
