"""How the REST API shows things (tickets, types, attachments) and reads request bodies."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.http.problems import ApiError
from core.errors import FieldError, FormInvalid
from core.forms import TicketType
from core.i18n import Text
from core.text import field_problem
from core.ticket import Ticket
from storage.attachments import StoredAttachment
from storage.queries import StoredComment, StoredEvent

PREFIX = "/api/v1"
# how deep a value in a request body may nest (a ticket's fields are at most a list of strings)
MAX_DEPTH = 32
# a JSON integer longer than this is out of every range the API has (and Python refuses to read
# one of more than 4,300 digits): it is read as infinity, which each field's check refuses
_MAX_DIGITS = 400


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
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "first_response_at": iso(t.first_response_at),
        "resolved_at": iso(t.resolved_at),
        "closed_at": iso(t.closed_at),
    }


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def text_json(value: Text | None) -> dict[str, str] | None:
    return value.to_json() if value else None


def type_json(tt: TicketType) -> dict[str, Any]:
    return {
        "id": tt.id,
        "prefix": tt.prefix,
        "name": text_json(tt.name),
        "description": text_json(tt.description),
        "default_team": tt.default_team,
        "default_priority": tt.default_priority,
        "fields": [
            {
                "id": f.id,
                "kind": f.kind.value,
                "label": text_json(f.label),
                "required": f.required,
                "min": f.min,
                "max": f.max,
                "help": text_json(f.help),
                "options": [{"value": o.value, "label": text_json(o.label)} for o in f.options],
            }
            for f in tt.fields
        ],
    }


def comment_json(c: StoredComment) -> dict[str, Any]:
    return {
        "author": c.author_id,
        "body": c.body,
        "public": c.public,
        "internal": not c.public,
        # an internal note is the team's: never relayed to the requester's channel or mail
        "visible_to": "everyone" if c.public else "team",
        "channel": c.channel.to_json(),
        "created_at": iso(c.created_at),
    }


def event_json(e: StoredEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind,
        "actor": e.actor_id,
        "channel": e.channel,
        "data": e.data,
        "at": iso(e.at),
    }


def attachment_json(a: StoredAttachment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.id,
        "ticket": a.ticket_key,
        "comment": a.comment_id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "stored": a.stored,
        "created_at": iso(a.created_at),
        "download": f"{PREFIX}/attachments/{a.id}" if a.stored else None,
    }
    if not a.stored:
        out["note"] = not_kept(a)
    return out


def not_kept(a: StoredAttachment) -> str:
    return f"{a.filename} ({a.size} bytes) was over the size limit; only its name was kept"


def disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback name for old clients, the real one as filename*."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(filename, safe='')}"


def respond_ticket(value: Any) -> Any:
    return ticket_json(value) if isinstance(value, Ticket) else value


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object whose every string a database can store; else 400 or 422."""
    try:
        body = json.loads(raw, parse_int=_parse_int)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(
            400, "malformed_json", f"the body is nested too deeply (at most {MAX_DEPTH} levels)"
        ) from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    errors = [e for e in (_storable(name, value) for name, value in _named(body)) if e]
    if errors:
        raise FormInvalid(errors)
    return body


def _parse_int(digits: str) -> int | float:
    if len(digits) > _MAX_DIGITS:
        return -math.inf if digits.startswith("-") else math.inf
    return int(digits)


def _named(body: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(field name, value) pairs: the body's members, and a ticket's form fields by their id,
    as form errors name them."""
    out: list[tuple[str, Any]] = []
    for key, value in body.items():
        if key == "fields" and isinstance(value, dict):
            for field_id, answer in value.items():
                name = "fields" if field_problem("fields", field_id) else field_id
                out.append((name, {field_id: answer}))
        else:
            out.append((key, {key: value}))
    return out


def _storable(name: str, value: object) -> FieldError | None:
    """The first string (key or value) in value a database cannot store, or nesting too deep."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return FieldError(
                name,
                "depth",
                f"nested more than {MAX_DEPTH} levels deep",
                f"嵌套超过 {MAX_DEPTH} 层",
            )
        if isinstance(item, str):
            problem = field_problem(name, item)
            if problem is not None:
                return problem
        elif isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return None


def param(name: str, value: str) -> str:
    """A query or path parameter: 400 naming it if it holds text no database can store."""
    problem = field_problem(name, value)
    if problem is not None:
        raise ApiError(400, "bad_request", f"{name}: {problem.message}")
    return value


def body_str(body: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise invalid(key, "required", "this field is required")
        return ""
    if not isinstance(value, str):
        raise invalid(key, "type", "must be a string")
    return value


def invalid(field: str, rule: str, message: str) -> FormInvalid:
    return FormInvalid([FieldError(field, rule, message)])


def query_time(q: Mapping[str, str], key: str) -> datetime | None:
    value = q.get(key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "bad_request", f"{key}: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise ApiError(
            400, "bad_request", f"{key}: include a UTC offset, e.g. 2026-01-05T00:00:00+08:00"
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past the last instant a datetime holds
        raise ApiError(400, "bad_request", f"{key}: out of range: {value!r}") from None
