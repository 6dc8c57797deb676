"""REST API under /api/v1: tickets for scripts and other systems. Bearer tokens from config."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from adapters.base import InboundKey
from bot.errors import ApiError
from bot.openapi import openapi_document
from bot.service import TicketService
from core.commands import ActOnTicket, AddComment, OpenTicket
from core.errors import FieldError, FormInvalid
from core.forms import TicketType
from core.handlers import ActResult
from core.i18n import Text
from core.people import Person
from core.ticket import ChannelRef, Comment, Status, Ticket
from core.workflow import Action
from storage import queries
from storage.writer import IdempotencyMismatch

PREFIX = "/api/v1"
_API = ChannelRef("api")


@dataclass(frozen=True)
class ApiToken:
    name: str
    token: str
    person_id: str


def ticket_json(t: Ticket) -> dict[str, Any]:
    return {
        "key": t.key,
        "type": t.type_id,
        "title": t.title,
        "description": t.description,
        "fields": t.fields,
        "priority": t.priority.value,
        "status": t.status.value,
        "requester": t.requester_id,
        "assignee": t.assignee_id,
        "team": t.team_id,
        "origin": t.origin.to_json() if t.origin else None,
        "version": t.version,
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at),
        "first_response_at": _iso(t.first_response_at),
        "resolved_at": _iso(t.resolved_at),
        "closed_at": _iso(t.closed_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _text(value: Text | None) -> dict[str, str] | None:
    return {"zh-CN": value.get("zh-CN"), "en": value.get("en")} if value else None


def type_json(tt: TicketType) -> dict[str, Any]:
    return {
        "id": tt.id,
        "prefix": tt.prefix,
        "name": _text(tt.name),
        "description": _text(tt.description),
        "default_team": tt.default_team,
        "default_priority": tt.default_priority,
        "fields": [
            {
                "id": f.id,
                "kind": f.kind.value,
                "label": _text(f.label),
                "required": f.required,
                "min": f.min,
                "max": f.max,
                "help": _text(f.help),
                "options": [{"value": o.value, "label": _text(o.label)} for o in f.options],
            }
            for f in tt.fields
        ],
    }


class Api:
    def __init__(self, service: TicketService, tokens: Sequence[ApiToken]) -> None:
        self.service = service
        self.tokens = [(t.token.encode(), t) for t in tokens]

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get(f"{PREFIX}/openapi.json", self.openapi),
            web.get(f"{PREFIX}/ticket-types", self.ticket_types),
            web.post(f"{PREFIX}/tickets", self.create),
            web.get(f"{PREFIX}/tickets", self.list),
            web.get(f"{PREFIX}/tickets/{{key}}", self.get),
            web.post(f"{PREFIX}/tickets/{{key}}/comments", self.comment),
            web.get(f"{PREFIX}/tickets/{{key}}/comments", self.comments),
            web.post(f"{PREFIX}/tickets/{{key}}/actions/{{action}}", self.act),
            web.get(f"{PREFIX}/tickets/{{key}}/events", self.events),
        ]

    # ---- auth ---------------------------------------------------------------------------
    def _caller(self, request: web.Request) -> tuple[ApiToken, Person]:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
        given = presented.strip().encode()
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
        body = _json_object(raw)
        requester = person.id
        if "requester" in body:
            requester = _str(body, "requester")
            if requester != person.id and not person.is_admin:
                raise ApiError(
                    403, "forbidden", "only an admin token may open tickets for someone else"
                )
            if self.service.directory.person(requester) is None:
                raise _invalid("requester", "person", f"unknown person {requester!r}")
        fields = body.get("fields", {})
        if not isinstance(fields, dict):
            raise _invalid("fields", "type", "must be an object of field id -> value")
        priority = body.get("priority")
        if priority is not None and not isinstance(priority, str):
            raise _invalid("priority", "type", "must be a string")
        command = OpenTicket(
            type_id=_str(body, "type"),
            title=_str(body, "title"),
            description=_str(body, "description", required=False),
            fields=fields,
            requester_id=requester,
            origin=_API,
            priority=priority,
            post_card=False,
        )
        inbound = None
        idem = request.headers.get("Idempotency-Key")
        if idem is not None:
            if not 1 <= len(idem) <= 255:
                raise ApiError(400, "bad_request", "Idempotency-Key must be 1 to 255 characters")
            inbound = InboundKey(f"api:{token.name}", idem, hashlib.sha256(raw).hexdigest())
        try:
            done = await self.service.submit(command, inbound=inbound, respond=_respond_ticket)
        except IdempotencyMismatch:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request body",
            ) from None
        payload = done.response if done.duplicate else _respond_ticket(done.value)
        headers = {"Location": f"{PREFIX}/tickets/{payload['key']}"}
        if done.duplicate:
            headers["Idempotent-Replayed"] = "true"
        return web.json_response(payload, status=201, headers=headers)

    async def get(self, request: web.Request) -> web.Response:
        self._caller(request)
        ticket = await self._ticket(request.match_info["key"])
        return web.json_response(ticket_json(ticket))

    async def list(self, request: web.Request) -> web.Response:
        self._caller(request)
        q = request.query
        statuses = [s for s in q.get("status", "").split(",") if s]
        for s in statuses:
            if s not in {x.value for x in Status}:
                raise ApiError(400, "bad_request", f"status: unknown status {s!r}")
        f = queries.TicketFilter(
            status=statuses or None,
            assignee=q.get("assignee") or None,
            team=q.get("team") or None,
            type_id=q.get("type") or None,
            requester=q.get("requester") or None,
            created_from=_when(q, "created_from"),
            created_to=_when(q, "created_to"),
        )
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            raise ApiError(400, "bad_request", "limit: must be an integer") from None
        if not 1 <= limit <= 200:
            raise ApiError(400, "bad_request", "limit: must be between 1 and 200")
        async with self.service.engine.connect() as conn:
            try:
                items, cursor = await queries.list_tickets(conn, f, limit, q.get("cursor") or None)
            except ValueError as exc:
                raise ApiError(400, "bad_request", f"cursor: {exc}") from None
        return web.json_response({"items": [ticket_json(t) for t in items], "next_cursor": cursor})

    async def comment(self, request: web.Request) -> web.Response:
        _, person = self._caller(request)
        key = request.match_info["key"]
        body = _json_object(await request.read())
        public = body.get("public", True)
        if not isinstance(public, bool):
            raise _invalid("public", "type", "must be true or false")
        command = AddComment(key, person.id, _str(body, "body"), _API, public)
        done = await self.service.submit(command)
        comment: Comment = done.value
        return web.json_response(
            {
                "ticket": key,
                "author": comment.author_id,
                "body": comment.body,
                "public": comment.public,
                "created_at": _iso(comment.created_at),
            },
            status=201,
        )

    async def comments(self, request: web.Request) -> web.Response:
        self._caller(request)
        key = request.match_info["key"]
        await self._ticket(key)
        async with self.service.engine.connect() as conn:
            rows = await queries.ticket_comments(conn, key)
        return web.json_response(
            {
                "items": [
                    {
                        "author": c.author_id,
                        "body": c.body,
                        "public": c.public,
                        "channel": c.channel.to_json(),
                        "created_at": _iso(c.created_at),
                    }
                    for c in rows
                ]
            }
        )

    async def act(self, request: web.Request) -> web.Response:
        _, person = self._caller(request)
        key = request.match_info["key"]
        name = request.match_info["action"]
        try:
            action = Action(name)
        except ValueError:
            known = ", ".join(a.value for a in Action)
            raise ApiError(404, "unknown_action", f"no action {name!r}; actions: {known}") from None
        raw = await request.read()
        body = _json_object(raw) if raw.strip() else {}
        version = body.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise _invalid("version", "type", "must be an integer")
        params = {k: v for k, v in body.items() if k in ("assignee", "priority", "body")}
        command = ActOnTicket(key, action, person.id, _API, params, seen_version=version)
        done = await self.service.submit(command)
        result: ActResult = done.value
        out = ticket_json(result.ticket)
        return web.json_response(
            {"ticket": out, "changed": result.changed, "message": result.message}
        )

    async def events(self, request: web.Request) -> web.Response:
        self._caller(request)
        key = request.match_info["key"]
        await self._ticket(key)
        async with self.service.engine.connect() as conn:
            rows = await queries.ticket_events(conn, key)
        return web.json_response(
            {
                "items": [
                    {
                        "id": e.id,
                        "kind": e.kind,
                        "actor": e.actor_id,
                        "channel": e.channel,
                        "data": e.data,
                        "at": _iso(e.at),
                    }
                    for e in rows
                ]
            }
        )

    async def _ticket(self, key: str) -> Ticket:
        ticket = await self.service.ticket(key)
        if ticket is None:
            raise ApiError(404, "not_found", f"no ticket {key}")
        return ticket


def _respond_ticket(value: Any) -> Any:
    return ticket_json(value) if isinstance(value, Ticket) else value


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    return body


def _str(body: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise _invalid(key, "required", "this field is required")
        return ""
    if not isinstance(value, str):
        raise _invalid(key, "type", "must be a string")
    return value


def _invalid(field: str, rule: str, message: str) -> FormInvalid:
    return FormInvalid([FieldError(field, rule, message)])


def _when(q: Mapping[str, str], key: str) -> datetime | None:
    value = q.get(key)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "bad_request", f"{key}: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise ApiError(
            400, "bad_request", f"{key}: include a UTC offset, e.g. 2026-01-05T00:00:00+08:00"
        )
    return parsed
