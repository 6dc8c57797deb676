"""Mail that answers something of ours: a reply becomes a comment on its ticket (a thanks only
a note in its log), a delivery report a note on the ticket whose mail bounced.

A reply whose ticket does not exist is none of these: the intake opens a new ticket instead.
"""

from __future__ import annotations

from dataclasses import replace

from adapters.email.committer import MAIL_SYSTEM, MailCommitter
from adapters.email.files import inbound_files, with_attachment_lines
from adapters.email.loop import parse_bounce
from adapters.email.notes import is_unverified, refused, with_notes
from adapters.email.outcomes import Disposition, MailOutcome
from adapters.email.parse import ParsedMail, strip_quoted
from adapters.email.threads import (
    referenced_ids,
    ticket_key_from_message_id,
    ticket_key_from_subject,
)
from adapters.kit.intake import committed_key
from core.commands import AddComment
from core.conversation import is_chatter
from core.errors import NotFound, PermissionDenied
from core.people import Person

_COMMENT_MAX = 10_000


class ReplyIntake(MailCommitter):
    """Replies, thanks and bounces: comments and notes on tickets that exist."""

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
