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

from adapters.email.committer import CHANNEL, MAIL_SYSTEM, MailIntakePorts
from adapters.email.files import fill_attachment_field, inbound_files, with_attachment_lines
from adapters.email.formfields import FieldValue, apply_tag, parse_field_lines
from adapters.email.loop import AutoKind, answers_something
from adapters.email.notes import missing_fields, with_notes
from adapters.email.outcomes import (
    Disposition,
    MailOutcome,
    MailRoute,
    PermanentFailure,
    TemporaryFailure,
)
from adapters.email.parse import ParsedMail, parse_mail, with_original
from adapters.email.replies import ReplyIntake
from adapters.email.senders import Arrival, Verdict, verify
from adapters.email.threads import strip_reply_prefixes
from adapters.kit.intake import committed_key
from core.commands import OpenTicket
from core.errors import FormInvalid
from core.people import Person

log = logging.getLogger("gongdan.email")

__all__ = ["CHANNEL", "MAIL_SYSTEM", "MailIntake", "MailIntakePorts"]

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
_DESCRIPTION_MAX = 20_000


class MailIntake(ReplyIntake):
    """One mail in: a reply to a ticket (ReplyIntake), or else a new ticket."""

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


def _title(parsed: ParsedMail, text: str) -> str:
    title = strip_reply_prefixes(parsed.subject)
    if not title:
        title = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = title or "(no subject)"
    return title if len(title) <= _TITLE_MAX else title[: _TITLE_MAX - 1] + "…"
