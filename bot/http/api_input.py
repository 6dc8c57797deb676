"""What the REST API reads from a request besides its JSON body: the bearer token it was given,
the version an editor saw (If-Match), the Idempotency-Key, and the parameters an action takes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.ports import InboundKey
from bot.http.problems import ApiError
from bot.http.views import invalid, param
from core.commands import ActionParams, Assign, SetPriority, WriteComment
from core.text import field_problem
from core.workflow import Action

# tickets.version is a 32-bit integer column
VERSION_MAX = 2**31 - 1


@dataclass(frozen=True)
class BearerToken:
    """A configured API token (`api.tokens`) as the API checks it: who presents it acts as whom."""

    name: str
    token: str
    person_id: str


def action_params(action: Action, body: Mapping[str, Any]) -> ActionParams:
    """The fields an action reads from the request body; the others are ignored."""
    if action == Action.ASSIGN:
        return Assign(str(body.get("assignee", "")))
    if action == Action.SET_PRIORITY:
        return SetPriority(str(body.get("priority")))
    if action == Action.COMMENT:
        return WriteComment(str(body.get("body", "")))
    if action in (Action.WAIT, Action.RESOLVE) and body.get("body"):
        # the question for the requester, or the resolution: told to them, kept as a reply
        return WriteComment(str(body["body"]))
    return None


def expected_version(request: web.Request, body: Mapping[str, Any]) -> int | None:
    """The version the editor saw: If-Match ("3" or W/"3") or the body's `version`."""
    header = request.headers.get("If-Match")
    version = body.get("version")
    if header is not None:
        tag = header.strip().removeprefix("W/").strip('"')
        if not tag.isdigit() or len(tag) > 10:
            raise ApiError(400, "bad_request", 'If-Match: give the ETag GET returned, e.g. "3"')
        if version is not None and version != int(tag):
            raise invalid("version", "conflict", "differs from If-Match")
        return int(tag)
    if version is None:
        return None
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= VERSION_MAX:
        raise invalid("version", "type", f"must be an integer from 0 to {VERSION_MAX}")
    return version


def idempotency_key(
    request: web.Request, token: BearerToken, fingerprint: str
) -> InboundKey | None:
    """The request's Idempotency-Key, scoped to the token; None when it sent none."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    problem = field_problem("Idempotency-Key", key)
    if not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()) or problem:
        # aiohttp keeps bytes that are not UTF-8 as lone surrogates: field_problem names them
        reason = f": it {problem.message}" if problem else ""
        raise ApiError(
            400,
            "bad_request",
            f"Idempotency-Key must be 1 to 255 printable ASCII characters{reason}",
        )
    return InboundKey(f"api:{token.name}", key, fingerprint)


def path_param(request: web.Request, name: str) -> str:
    return param(name, request.match_info[name])
