"""How the REST API shows things (tickets, types, attachments) and reads request bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.http.problems import ApiError
from core.errors import FieldError, FormInvalid
from core.forms import TicketType
from core.i18n import Text
from core.ticket import Ticket
from storage.attachments import StoredAttachment
from storage.queries import StoredComment, StoredEvent

PREFIX = "/api/v1"


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
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    return body


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
