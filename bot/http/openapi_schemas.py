"""The request and response bodies of /api/v1, as OpenAPI 3.1 (JSON Schema) components."""

from __future__ import annotations

from typing import Any

from core.forms import NUMBER_LIMIT
from core.ticket import Priority, Status

# text a database can store: no NUL (nor unpaired surrogates, which a JSON Schema cannot name)
NO_NUL = "^[^\\u0000]*$"
# ... and at least one character that is not white space (the server trims text)
SOME_TEXT = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
TEXT = {"type": "string", "pattern": NO_NUL}
LABELS = {"type": "object", "properties": {"zh-CN": {"type": "string"}, "en": {"type": "string"}}}
TIME = {"type": ["string", "null"], "format": "date-time"}


def schemas() -> dict[str, Any]:
    """The request and response bodies, under components.schemas."""
    return {
        "Error": {
            "type": "object",
            "required": ["error", "detail"],
            "properties": {
                "error": {"type": "string"},
                "detail": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "rule": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
        "NewTicket": {
            "type": "object",
            "required": ["type", "title"],
            "properties": {
                "type": {**TEXT, "example": "it"},
                "title": {"type": "string", "pattern": SOME_TEXT, "maxLength": 200},
                "description": TEXT,
                "fields": {
                    "type": "object",
                    "description": "field id -> answer, as GET /ticket-types describes them; a "
                    f"number is within ±{NUMBER_LIMIT} (2^53 - 1)",
                },
                "priority": {"type": "string", "enum": [p.value for p in Priority]},
                "requester": {**TEXT, "description": "person id (admin tokens only)"},
            },
        },
        "Ticket": {
            "type": "object",
            "properties": {
                "key": {"type": "string"},
                "type": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "fields": {"type": "object"},
                "priority": {"type": "string", "enum": [p.value for p in Priority]},
                "status": {"type": "string", "enum": [s.value for s in Status]},
                "requester": {"type": "string"},
                "assignee": {"type": ["string", "null"]},
                "team": {"type": ["string", "null"]},
                "origin": {
                    "type": ["object", "null"],
                    "description": "Where the ticket was opened: channel, conversation, thread, "
                    "message, and link (the source message's permalink, when it has one)",
                },
                "version": {"type": "integer"},
                "created_at": TIME,
                "updated_at": TIME,
                "first_response_at": TIME,
                "resolved_at": TIME,
                "closed_at": TIME,
            },
        },
        "TicketPage": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Ticket"}},
                "next_cursor": {"type": ["string", "null"]},
            },
        },
        "ActResult": {
            "type": "object",
            "properties": {
                "ticket": {"$ref": "#/components/schemas/Ticket"},
                "changed": {"type": "boolean"},
                "message": {"type": "string"},
            },
        },
        "Comment": {
            "type": "object",
            "properties": {
                "ticket": {"type": "string"},
                "author": {"type": "string"},
                "body": {"type": "string"},
                "public": {"type": "boolean"},
                "internal": {"type": "boolean"},
                "visible_to": {"type": "string", "enum": ["everyone", "team"]},
                "created_at": TIME,
            },
        },
        "CommentList": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Comment"}}
            },
        },
        "Event": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "kind": {"type": "string", "example": "TicketAccepted"},
                "actor": {"type": ["string", "null"]},
                "channel": {"type": "string"},
                "data": {"type": "object"},
                "at": TIME,
            },
        },
        "EventList": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}
            },
        },
        "Attachment": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "ticket": {"type": "string"},
                "comment": {
                    "type": ["integer", "null"],
                    "description": "set if a reply brought it",
                },
                "filename": {"type": "string"},
                "content_type": {"type": "string"},
                "size": {"type": "integer", "description": "bytes, also when not stored"},
                "stored": {"type": "boolean", "description": "false: over the size limit"},
                "note": {"type": "string", "description": "why the bytes were not kept"},
                "download": {"type": ["string", "null"]},
                "created_at": TIME,
            },
        },
        "AttachmentList": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"}}
            },
        },
        "TicketTypeList": {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string"},
                            "prefix": {"type": "string"},
                            "name": LABELS,
                            "fields": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "string"},
                                        "kind": {"type": "string"},
                                        "label": LABELS,
                                        "required": {"type": "boolean"},
                                        "options": {"type": "array"},
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
    }
