"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from bot.http.openapi_schemas import NO_NUL, SOME_TEXT, TEXT, schemas
from core.ticket import Priority, Status
from core.workflow import Action

# tickets.version is a 32-bit integer column
_VERSION = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
# RFC 9110 field value, as the IETF Idempotency-Key draft's sf-string: printable ASCII, no
# white space at either end (HTTP would strip it)
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[!-~]([ -~]*[!-~])?$",
    },
}

_STATUS = f"({'|'.join(s.value for s in Status)})"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, ref: str, status: str = "200") -> dict[str, Any]:
    return {
        status: {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        }
    }


_COMMON_ERRORS = {"401": _error("Missing or unknown bearer token")}
_BAD_REQUEST = {
    "400": _error(
        "Malformed JSON, a parameter or header that cannot be read, or a body that did not "
        "arrive in time (408)"
    )
}
_KEY = {
    "name": "key",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": NO_NUL},
    "example": "IT-1042",
}


def openapi_document() -> dict[str, Any]:
    ticket_errors = {**_COMMON_ERRORS, **_BAD_REQUEST, "404": _error("No such ticket")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Gongdan API",
            "version": "1",
            "description": "Tickets, their actions and audit trail. Errors are JSON "
            '{"error": code, "detail": message}.',
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/ticket-types": {
                "get": {
                    "summary": "List ticket types and their form fields",
                    "responses": {**_ok("Ticket types", "TicketTypeList"), **_COMMON_ERRORS},
                }
            },
            "/tickets": {
                "post": {
                    "summary": "Open a ticket",
                    "parameters": [
                        {
                            **_IDEMPOTENCY_KEY,
                            "description": "Repeat a create safely: the same key and body return "
                            "the first response; another body gives 422.",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewTicket"}
                            }
                        },
                    },
                    "responses": {
                        **_ok("Created", "Ticket", "201"),
                        **_BAD_REQUEST,
                        "403": _error("Opening for someone else needs an admin token"),
                        "422": _error("A field is invalid; `fields` names each problem"),
                        **_COMMON_ERRORS,
                    },
                },
                "get": {
                    "summary": "List tickets, newest first",
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "pattern": f"^,*({_STATUS}(,+{_STATUS})*)?,*$",
                            },
                            "description": "Comma-separated statuses",
                        },
                        *(
                            {"name": n, "in": "query", "schema": TEXT}
                            for n in ("assignee", "team", "type", "requester")
                        ),
                        {
                            "name": "q",
                            "in": "query",
                            "schema": {**TEXT, "maxLength": 200},
                            "description": "Text in the key, title or description "
                            "(ASCII letters match either case); any other parameter gives 400",
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},
                            "description": "next_cursor of the previous page (opaque); a cursor "
                            "this server did not hand out gives 400",
                        },
                        {
                            "name": "created_from",
                            "in": "query",
                            "schema": {"type": "string", "format": "date-time"},
                        },
                        {
                            "name": "created_to",
                            "in": "query",
                            "schema": {"type": "string", "format": "date-time"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                        },
                    ],
                    "responses": {
                        **_ok("A page of tickets", "TicketPage"),
                        "400": _error("Bad filter or cursor"),
                        **_COMMON_ERRORS,
                    },
                },
            },
            "/tickets/{key}": {
                "get": {
                    "summary": "Get a ticket by key",
                    "parameters": [_KEY],
                    "responses": {**_ok("The ticket", "Ticket"), **ticket_errors},
                },
                "patch": {
                    "summary": "Edit a ticket: the fields given change, with opening's rules",
                    "parameters": [
                        _KEY,
                        {
                            "name": "If-Match",
                            "in": "header",
                            "schema": {"type": "string", "pattern": '^(W/)?"?[0-9]{1,10}"?$'},
                            "description": "The ETag (version) GET returned; another gives 409",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "title": {"type": "string"},
                                        "description": {"type": "string"},
                                        "priority": {"type": "string"},
                                        "type": {"type": "string"},
                                        "fields": {"type": "object"},
                                        "version": {"type": "integer", "minimum": 0},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        **_ok("The edited ticket", "ActResult"),
                        "400": _error("Bad If-Match"),
                        "403": _error("Not allowed to edit it"),
                        "409": _error("The ticket changed since that version, or is closed"),
                        "422": _error("A field is invalid; `fields` names each problem"),
                        **ticket_errors,
                    },
                },
            },
            "/tickets/{key}/comments": {
                "post": {
                    "summary": "Comment on a ticket",
                    "parameters": [
                        _KEY,
                        {
                            **_IDEMPOTENCY_KEY,
                            "description": "Repeat a comment safely: the same key, ticket and "
                            "body return the first response; another request gives 422.",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["body"],
                                    "properties": {
                                        "body": {
                                            "type": "string",
                                            "pattern": SOME_TEXT,
                                            "maxLength": 10_000,
                                        },
                                        "public": {"type": "boolean"},
                                        "internal": {
                                            "type": "boolean",
                                            "description": "An internal note: the team only",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        **_ok("Comment added", "Comment", "201"),
                        "403": _error("Not allowed"),
                        "422": _error(
                            "Empty comment, or an Idempotency-Key used for another request"
                        ),
                        **ticket_errors,
                    },
                },
                "get": {
                    "summary": "A ticket's comments",
                    "parameters": [_KEY],
                    "responses": {**_ok("Comments", "CommentList"), **ticket_errors},
                },
            },
            "/tickets/{key}/actions/{action}": {
                "post": {
                    "summary": "Act on a ticket (accept, resolve, assign, ...)",
                    "parameters": [
                        _KEY,
                        {
                            "name": "action",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": [a.value for a in Action]},
                        },
                    ],
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "assignee": {**TEXT, "description": "for assign"},
                                        "priority": {
                                            "type": "string",
                                            "enum": [p.value for p in Priority],
                                        },
                                        "body": {**TEXT, "description": "for comment"},
                                        "version": {
                                            **_VERSION,
                                            "description": "the version you saw",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        **_ok("Done (or already done: changed=false)", "ActResult"),
                        "403": _error("Not allowed for this person"),
                        "409": _error("The ticket moved on, e.g. already accepted by someone else"),
                        "422": _error("Bad parameter"),
                        **ticket_errors,
                    },
                }
            },
            "/tickets/{key}/events": {
                "get": {
                    "summary": "The ticket's audit trail",
                    "parameters": [_KEY],
                    "responses": {**_ok("Events, oldest first", "EventList"), **ticket_errors},
                }
            },
            "/tickets/{key}/attachments": {
                "get": {
                    "summary": "The ticket's attachments (metadata), in the order they arrived",
                    "parameters": [_KEY],
                    "responses": {**_ok("Attachments", "AttachmentList"), **ticket_errors},
                }
            },
            "/attachments/{id}": {
                "get": {
                    "summary": "Download an attachment (Content-Disposition carries its name)",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": TEXT}],
                    "responses": {
                        "200": {
                            "description": "The file's bytes, with its content type",
                            "content": {
                                "application/octet-stream": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        "404": _error("No such attachment, or only its name was kept (not_stored)"),
                        **_BAD_REQUEST,
                        **_COMMON_ERRORS,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas(),
        },
    }
