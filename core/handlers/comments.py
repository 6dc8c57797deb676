"""Adding a comment: check, store, relay it to the ticket's other conversations, move the SLA."""

from __future__ import annotations

from core import timekeeping
from core.commands import AddComment
from core.errors import FieldError, FormInvalid
from core.events import CommentAdded
from core.forms import clean_text
from core.handlers.checks import actor_of, check_allowed, load_ticket, refuse_unstorable
from core.i18n import as_locale
from core.people import Person
from core.ports import Context, UnitOfWork
from core.ticket import Comment, Ticket
from core.workflow import Action


async def add_comment(cmd: AddComment, uow: UnitOfWork, ctx: Context) -> Comment:
    author = actor_of(ctx, cmd.author_id)
    locale = as_locale(author.locale)
    ticket = await load_ticket(uow, cmd.key, locale)
    check_allowed(author, Action.COMMENT, ticket, ctx, locale)
    refuse_unstorable([("body", cmd.body)])
    body = clean_text(cmd.body)
    if not body:
        raise FormInvalid(
            [FieldError("body", "required", "a comment needs some text", "评论不能为空")]
        )
    if len(body) > 10_000:
        raise FormInvalid(
            [FieldError("body", "max", "at most 10000 characters", "最多 10000 个字符")]
        )
    now = ctx.clock.now()
    comment = Comment(ticket.key, author.id, body, now, cmd.origin, cmd.public)
    uow.add_comment(comment)
    if cmd.public and _is_responder(author, ticket, ctx):
        ticket.first_response_at = ticket.first_response_at or now
        timekeeping.on_public_reply(ticket, ctx, now)
    ticket.updated_at = now
    uow.tickets.update(ticket)
    uow.record(
        CommentAdded(
            ticket_key=ticket.key,
            at=now,
            actor_id=author.id,
            channel=cmd.origin.channel,
            body=body,
            public=cmd.public,
        )
    )
    uow.relay_comment(comment)
    uow.refresh_cards(ticket)
    return comment


def _is_responder(author: Person, ticket: Ticket, ctx: Context) -> bool:
    """Only the support side answers a ticket; the requester's or a watcher's words stop no SLA."""
    if author.id == ticket.requester_id:
        return False
    team = ctx.directory.team(ticket.team_id) if ticket.team_id else None
    in_team = team is not None and team.is_member(author.id)
    return in_team or author.id == ticket.assignee_id or author.is_admin
