"""Adding a comment: check, store, relay it to the ticket's other conversations, move the SLA."""

from __future__ import annotations

from datetime import datetime

from core import timekeeping
from core.commands import AddComment
from core.errors import FieldError, FormInvalid
from core.events import CommentAdded
from core.forms import clean_text
from core.handlers.checks import (
    actor_of,
    check_allowed,
    forbidden,
    load_ticket,
    refuse_unstorable,
)
from core.i18n import as_locale
from core.people import Person
from core.permissions import is_support, may_write_internal
from core.ports import Context, UnitOfWork
from core.ticket import ChannelRef, Comment, Ticket
from core.workflow import Action


async def add_comment(cmd: AddComment, uow: UnitOfWork, ctx: Context) -> Comment:
    author = actor_of(ctx, cmd.author_id)
    locale = as_locale(author.locale)
    ticket = await load_ticket(uow, cmd.key, locale)
    check_allowed(author, Action.COMMENT, ticket, ctx, locale)
    if not cmd.public:
        verdict = may_write_internal(author, ticket, ctx.directory)
        if not verdict.allowed:
            raise forbidden("action.note", ticket, verdict.reason_key, locale)
    refuse_unstorable([("body", cmd.body)])
    body = clean_text(cmd.body)
    if not body:
        raise FormInvalid([FieldError("body", "required", "cannot be empty", "不能为空")])
    if len(body) > 10_000:
        raise FormInvalid(
            [FieldError("body", "max", "at most 10000 characters", "最多 10000 个字符")]
        )
    now = ctx.clock.now()
    if cmd.public and _is_responder(author, ticket, ctx):
        ticket.first_response_at = ticket.first_response_at or now
        timekeeping.on_public_reply(ticket, ctx, now)
    ticket.updated_at = now
    uow.tickets.update(ticket)
    comment = store_comment(uow, ticket, author.id, body, cmd.origin, cmd.public, now)
    uow.refresh_cards(ticket)
    return comment


def store_comment(
    uow: UnitOfWork,
    ticket: Ticket,
    author_id: str,
    body: str,
    origin: ChannelRef,
    public: bool,
    now: datetime,
) -> Comment:
    """Keep the comment, say so in the audit trail, and relay it (storage relays public ones only)."""
    comment = Comment(ticket.key, author_id, body, now, origin, public)
    uow.add_comment(comment)
    uow.record(
        CommentAdded(
            ticket_key=ticket.key,
            at=now,
            actor_id=author_id,
            channel=origin.channel,
            body=body,
            public=public,
        )
    )
    uow.relay_comment(comment)
    return comment


def _is_responder(author: Person, ticket: Ticket, ctx: Context) -> bool:
    """Only the support side answers a ticket; the requester's or a watcher's words stop no SLA."""
    if author.id == ticket.requester_id:
        return False
    return is_support(author, ticket, ctx.directory)
