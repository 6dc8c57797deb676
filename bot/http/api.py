"""REST API under /api/v1: tickets for scripts and other systems. Bearer tokens from config."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from adapters.ports import InboundKey, Submitted
from bot.http.api_input import (
    VERSION_MAX,
    BearerToken,
    action_params,
    expected_version,
    idempotency_key,
    path_param,
)
from bot.http.openapi import openapi_document
from bot.http.problems import ApiError
from bot.http.reads import TicketReads
from bot.http.views import (
    PREFIX,
    attachment_json,
    body_str,
    comment_json,
    disposition,
    event_json,
    invalid,
    iso,
    json_object,
    not_kept,
    param,
    query_time,
    respond_ticket,
    ticket_json,
    type_json,
)
from bot.service import TicketService
from core.commands import ActOnTicket, AddComment, Command, EditTicket, OpenTicket
from core.errors import FieldError, FormInvalid
from core.handlers.actions import ActResult
from core.handlers.editing import EditResult
from core.handlers.opening import form_errors
from core.people import Person
from core.ticket import ChannelRef, Comment, Priority, Status
from core.workflow import Action
from storage import queries
from storage.attachments import AttachmentMissing
from storage.writer import IdempotencyMismatch

T = TypeVar("T")

_API = ChannelRef("api")
_LIST_PARAMS = frozenset(
    {
        "status",
        "assignee",
        "team",
        "type",
        "requester",
        "created_from",
        "created_to",
        "q",
        "limit",
        "cursor",
    }
)
_EDITABLE = frozenset({"title", "description", "priority", "type", "fields"})


class Api:
    def __init__(self, service: TicketService, tokens: Sequence[BearerToken]) -> None:
        self.service = service
        self.tokens = [(t.token.encode(), t) for t in tokens]
        # every ticket read goes through it: core decides what the caller may see
        self.reads = TicketReads(service.engine, service.directory)

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get(f"{PREFIX}/openapi.json", self.openapi),
            web.get(f"{PREFIX}/ticket-types", self.ticket_types),
            web.post(f"{PREFIX}/tickets", self.create),
            web.get(f"{PREFIX}/tickets", self.list),
            web.get(f"{PREFIX}/tickets/{{key}}", self.get),
            web.patch(f"{PREFIX}/tickets/{{key}}", self.edit),
            web.post(f"{PREFIX}/tickets/{{key}}/comments", self.comment),
            web.get(f"{PREFIX}/tickets/{{key}}/comments", self.comments),
            web.post(f"{PREFIX}/tickets/{{key}}/actions/{{action}}", self.act),
            web.get(f"{PREFIX}/tickets/{{key}}/events", self.events),
            web.get(f"{PREFIX}/tickets/{{key}}/attachments", self.attachments),
            web.get(f"{PREFIX}/attachments/{{id}}", self.download),
        ]

    # ---- auth ---------------------------------------------------------------------------
    def _caller(self, request: web.Request) -> tuple[BearerToken, Person]:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
        given = presented.strip().encode("utf-8", "surrogateescape")
        match = None
        for secret, token in self.tokens:
            if hmac.compare_digest(secret, given):
                match = token
        if match is None:
            raise ApiError(401, "unauthorized", "unknown API token")
        person = self.service.directory.person(match.person_id)
        if person is None:
            raise ApiError(401, "unauthorized", f"token {match.name} acts as an unknown person")
        return match, person

    # ---- handlers -----------------------------------------------------------------------
    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi_document())

    async def ticket_types(self, request: web.Request) -> web.Response:
        self._caller(request)
        types = [type_json(tt) for tt in self.service.ticket_types.values()]
        return web.json_response({"items": types})

    async def create(self, request: web.Request) -> web.Response:
        token, person = self._caller(request)
        raw = await request.read()
        body = json_object(raw)
        requester = person.id
        if "requester" in body:
            requester = body_str(body, "requester")
            if requester != person.id and not person.is_admin:
                raise ApiError(
                    403, "forbidden", "only an admin token may open tickets for someone else"
                )
            if self.service.directory.person(requester) is None:
                raise invalid("requester", "person", f"unknown person {requester!r}")
        # every problem at once: the body's shape here, the form's rules from core
        shape: list[FieldError] = []
        fields = body.get("fields", {})
        if not isinstance(fields, dict):
            shape.append(FieldError("fields", "type", "must be an object of field id -> value"))
            fields = {}
        priority = body.get("priority")
        if priority is not None and not isinstance(priority, str):
            shape.append(FieldError("priority", "type", "must be a string"))
            priority = None
        texts = {}
        for name, required in (("type", True), ("title", False), ("description", False)):
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                shape.append(FieldError(name, "type", "must be a string"))
            elif value is None and required:
                shape.append(FieldError(name, "required", "this field is required"))
            texts[name] = value if isinstance(value, str) else ""
        command = OpenTicket(
            type_id=texts["type"],
            title=texts["title"],
            description=texts["description"],
            fields=fields,
            requester_id=requester,
            origin=_API,
            priority=priority,
            post_card=False,
        )
        if shape:
            said = {e.field for e in shape}
            more = form_errors(command, self.service.ctx)
            raise FormInvalid(shape + [e for e in more if e.field not in said])
        inbound = idempotency_key(request, token, hashlib.sha256(raw).hexdigest())
        done = await self._submit(command, inbound, respond_ticket)
        payload = done.response if done.duplicate else respond_ticket(done.value)
        headers = {"Location": f"{PREFIX}/tickets/{payload['key']}"}
        if done.duplicate:
            headers["Idempotent-Replayed"] = "true"
        return web.json_response(payload, status=201, headers=headers)

    async def _submit(
        self, command: Command, inbound: InboundKey | None, respond: Callable[[Any], Any]
    ) -> Submitted:
        try:
            return await self.service.submit(command, inbound=inbound, respond=respond)
        except IdempotencyMismatch:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ) from None

    async def get(self, request: web.Request) -> web.Response:
        _, person = self._caller(request)
        key = path_param(request, "key")
        ticket = await self.reads.ticket(person, key)
        if ticket is None:
            raise _no_ticket(key)
        return web.json_response(ticket_json(ticket), headers={"ETag": f'"{ticket.version}"'})

    async def edit(self, request: web.Request) -> web.Response:
        """PATCH a ticket: the fields given change, with opening's rules; 409 on a stale version."""
        _, person = self._caller(request)
        key = path_param(request, "key")
        body = json_object(await request.read())
        unknown = sorted(set(body) - _EDITABLE - {"version"})
        if unknown:
            known = ", ".join(sorted(_EDITABLE | {"version"}))
            raise invalid(unknown[0], "unknown", f"not an editable field (editable: {known})")
        errors = [
            FieldError(name, "type", "must be a string")
            for name in sorted(_EDITABLE - {"fields"})
            if name in body and not isinstance(body[name], str)
        ]
        if "fields" in body and not isinstance(body["fields"], dict):
            errors.append(FieldError("fields", "type", "must be an object of field id -> value"))
        if errors:
            raise FormInvalid(errors)
        command = EditTicket(
            key,
            person.id,
            _API,
            title=body.get("title"),
            description=body.get("description"),
            priority=body.get("priority"),
            type_id=body.get("type"),
            fields=body.get("fields"),
            expected_version=expected_version(request, body),
        )
        done = await self.service.submit(command)
        result: EditResult = done.value
        return web.json_response(
            {
                "ticket": ticket_json(result.ticket),
                "changed": result.changed,
                "message": result.message,
            },
            headers={"ETag": f'"{result.ticket.version}"'},
        )

    async def list(self, request: web.Request) -> web.Response:
        _, person = self._caller(request)
        q = request.query
        for name, value in q.items():
            param(name, value)
            if name not in _LIST_PARAMS:
                known = ", ".join(sorted(_LIST_PARAMS))
                raise ApiError(
                    400, "bad_request", f"{name}: not a filter of this list (filters: {known})"
                )
        for name in _LIST_PARAMS - {"status"}:
            if len(q.getall(name, [])) > 1:
                raise ApiError(400, "bad_request", f"{name}: give it once")
        # status=a,b and status=a&status=b both mean any of them
        statuses = [s for value in q.getall("status", []) for s in value.split(",") if s]
        for s in statuses:
            if s not in {x.value for x in Status}:
                raise ApiError(400, "bad_request", f"status: unknown status {s!r}")
        text = q.get("q", "").strip()
        if len(text) > 200:
            raise ApiError(400, "bad_request", "q: at most 200 characters")
        f = queries.TicketFilter(
            status=statuses or None,
            assignee=q.get("assignee") or None,
            team=q.get("team") or None,
            type_id=q.get("type") or None,
            requester=q.get("requester") or None,
            created_from=query_time(q, "created_from"),
            created_to=query_time(q, "created_to"),
            text=text or None,
        )
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            raise ApiError(400, "bad_request", "limit: must be an integer") from None
        if not 1 <= limit <= 200:
            raise ApiError(400, "bad_request", "limit: must be between 1 and 200")
        try:
            items, cursor = await self.reads.tickets(person, f, limit, q.get("cursor") or None)
        except ValueError as exc:
            raise ApiError(400, "bad_request", f"cursor: {exc}") from None
        return web.json_response({"items": [ticket_json(t) for t in items], "next_cursor": cursor})

    async def comment(self, request: web.Request) -> web.Response:
        token, person = self._caller(request)
        key = path_param(request, "key")
        raw = await request.read()
        body = json_object(raw)
        public = body.get("public", True)
        if not isinstance(public, bool):
            raise invalid("public", "type", "must be true or false")
        internal = body.get("internal", not public)
        if not isinstance(internal, bool):
            raise invalid("internal", "type", "must be true or false")
        if "public" in body and "internal" in body and internal == public:
            raise invalid("internal", "conflict", "give internal or public, not both disagreeing")
        command = AddComment(key, person.id, body_str(body, "body"), _API, not internal)
        # the key is the token's, as for tickets: the same body on another ticket is another request
        fingerprint = hashlib.sha256(f"comment {key}\n".encode() + raw).hexdigest()
        inbound = idempotency_key(request, token, fingerprint)
        done = await self._submit(command, inbound, _comment_response)
        payload = done.response if done.duplicate else _comment_response(done.value)
        headers = {"Idempotent-Replayed": "true"} if done.duplicate else None
        return web.json_response(payload, status=201, headers=headers)

    async def act(self, request: web.Request) -> web.Response:
        _, person = self._caller(request)
        key = path_param(request, "key")
        name = request.match_info["action"]
        try:
            action = Action(name)
        except ValueError:
            known = ", ".join(a.value for a in Action)
            raise ApiError(404, "unknown_action", f"no action {name!r}; actions: {known}") from None
        raw = await request.read()
        body = json_object(raw) if raw.strip() else {}
        version = body.get("version")
        if version is not None and (
            not isinstance(version, int)
            or isinstance(version, bool)
            or version < 0
            or version > VERSION_MAX
        ):
            raise invalid("version", "type", f"must be an integer from 0 to {VERSION_MAX}")
        for name in ("assignee", "priority", "body"):
            if name in body and not isinstance(body[name], str):
                raise invalid(name, "type", "must be a string")
        if "priority" in body and body["priority"] not in {p.value for p in Priority}:
            known = ", ".join(p.value for p in Priority)
            raise invalid("priority", "options", f"must be one of {known}")
        params = action_params(action, body)
        command = ActOnTicket(key, action, person.id, _API, params, seen_version=version)
        done = await self.service.submit(command)
        result: ActResult = done.value
        out = ticket_json(result.ticket)
        return web.json_response(
            {"ticket": out, "changed": result.changed, "message": result.message}
        )

    async def comments(self, request: web.Request) -> web.Response:
        return await self._listing(request, self.reads.comments, comment_json)

    async def events(self, request: web.Request) -> web.Response:
        return await self._listing(request, self.reads.events, event_json)

    async def attachments(self, request: web.Request) -> web.Response:
        return await self._listing(request, self.reads.attachments, attachment_json)

    async def _listing(
        self,
        request: web.Request,
        read: Callable[[Person, str], Awaitable[Sequence[T] | None]],
        view: Callable[[T], dict[str, Any]],
    ) -> web.Response:
        """A ticket's comments, events or attachments: 404 for an unknown ticket, else items."""
        _, person = self._caller(request)
        key = path_param(request, "key")
        rows = await read(person, key)
        if rows is None:
            raise _no_ticket(key)
        return web.json_response({"items": [view(row) for row in rows]})

    async def download(self, request: web.Request) -> web.Response:
        _, person = self._caller(request)
        ident = path_param(request, "id")
        found = await self.reads.attachment(person, ident) if len(ident) <= 64 else None
        if found is None:
            raise ApiError(404, "not_found", f"no attachment {ident}")
        store = self.service.attachments
        if not found.stored or store is None:
            raise ApiError(404, "not_stored", not_kept(found))
        try:
            data = await store.read(found.storage_ref)
        except AttachmentMissing as exc:
            raise ApiError(404, "not_stored", str(exc)) from None
        # attachment, never inline, and no sniffing: a mailed .html must not run in our origin
        return web.Response(
            body=data,
            content_type=found.content_type if "/" in found.content_type else None,
            headers={
                "Content-Disposition": disposition(found.filename),
                "X-Content-Type-Options": "nosniff",
            },
        )


def _no_ticket(key: str) -> ApiError:
    return ApiError(404, "not_found", f"no ticket {key}")


def _comment_response(value: Any) -> Any:
    if not isinstance(value, Comment):
        return value
    return {
        "ticket": value.ticket_key,
        "author": value.author_id,
        "body": value.body,
        "public": value.public,
        "internal": not value.public,
        "created_at": iso(value.created_at),
    }
