"""Pathological REST requests get a 4xx naming what is wrong, never a 5xx, on both databases.

One service per database serves every case (each case is refused, so none changes what the next
one sees); the cases are sent as raw bytes, so headers need not be valid UTF-8.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from tests.dbs import fresh_database
from tests.e2e.harness import TOKENS, Running, running, service_config

pytestmark = pytest.mark.asyncio(loop_scope="module")

API = "/api/v1"
ADMIN = f"Bearer {TOKENS['admin']}".encode()
DEEP = 100_000
HUGE_INT = "9" * 5000  # over Python's 4,300-digit limit for int <-> str
BIG_INT = "9" * 1000


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    body: bytes = b""
    status: int = 422
    names: str = ""  # the field or parameter the answer must name
    headers: tuple[tuple[bytes, bytes], ...] = ()
    auth: bool = True


def _j(value: Any) -> bytes:
    return json.dumps(value).encode()


def _ticket(**extra: Any) -> bytes:
    return _j({"type": "it", "title": "printer", **extra})


def _purchase(amount: str) -> bytes:
    return b'{"type": "purchase", "title": "chairs", "fields": {"item": "chair", "amount": %s}}' % (
        amount.encode()
    )


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


T = f"{API}/tickets"
C = f"{API}/tickets/IT-1001/comments"
A = f"{API}/tickets/IT-1001/actions"
IDEM = b"Idempotency-Key"

CASES = [
    # nesting deeper than any parser should follow
    Case("deep-array", "POST", T, b"[" * DEEP + b"]" * DEEP, 400, "nest"),
    Case("deep-object", "POST", T, b'{"a":' * DEEP + b"1" + b"}" * DEEP, 400, "nest"),
    Case("deep-comment", "POST", C, b'{"body":' + b"[" * DEEP + b"]" * DEEP + b"}", 400, "nest"),
    Case("deep-action", "POST", A + "/assign", b"[" * DEEP + b"]" * DEEP, 400, "nest"),
    Case("deep-field", "POST", T, _ticket(fields={"location": [[[[["x"]]]]]}), 422, "location"),
    # integers with thousands of digits
    Case("huge-int-amount", "POST", T, _purchase(HUGE_INT), 422, "amount"),
    Case(
        "huge-int-version",
        "POST",
        A + "/accept",
        b'{"version": %s}' % HUGE_INT.encode(),
        422,
        "version",
    ),
    Case(
        "huge-int-comment",
        "POST",
        C,
        b'{"body": "x", "public": %s}' % HUGE_INT.encode(),
        422,
        "public",
    ),
    Case(
        "huge-int-title",
        "POST",
        T,
        b'{"type": "it", "title": -%s}' % HUGE_INT.encode(),
        422,
        "title",
    ),
    Case("big-int-amount", "POST", T, _purchase(BIG_INT), 422, "amount"),
    Case(
        "big-int-version",
        "POST",
        A + "/accept",
        b'{"version": %s}' % BIG_INT.encode(),
        422,
        "version",
    ),
    Case("version-2^64", "POST", A + "/accept", _j({"version": 2**64}), 422, "version"),
    Case("version-negative", "POST", A + "/accept", _j({"version": -(2**63) - 1}), 422, "version"),
    # numbers a database column cannot hold
    Case("amount-1e20", "POST", T, _purchase("1e20"), 422, "amount"),
    Case("amount-2^64", "POST", T, _purchase(str(2**64)), 422, "amount"),
    Case("amount-2^53+1", "POST", T, _purchase(str(2**53 + 1)), 422, "amount"),
    Case("amount-1e308", "POST", T, _purchase("1e308"), 422, "amount"),
    Case("amount-string-1e20", "POST", T, _purchase('"1e20"'), 422, "amount"),
    Case("amount-1e400", "POST", T, _purchase("1e400"), 422, "amount"),
    Case("amount-negative-huge", "POST", T, _purchase("-1e20"), 422, "amount"),
    # NUL and unpaired surrogates (JSON escapes) in every kind of string
    Case("nul-title", "POST", T, _ticket(title="a\u0000b"), 422, "title"),
    Case("nul-description", "POST", T, _ticket(description="a\u0000"), 422, "description"),
    Case("surrogate-title", "POST", T, b'{"type": "it", "title": "a\\ud800"}', 422, "title"),
    Case("surrogate-low-title", "POST", T, b'{"type": "it", "title": "\\udfff"}', 422, "title"),
    Case(
        "surrogate-description",
        "POST",
        T,
        b'{"type": "it", "title": "x", "description": "\\udc80"}',
        422,
        "description",
    ),
    Case("nul-type", "POST", T, _j({"type": "i\u0000t", "title": "x"}), 422, "type"),
    Case("nul-priority", "POST", T, _ticket(priority="hi\u0000gh"), 422, "priority"),
    Case("nul-requester", "POST", T, _ticket(requester="li\u0000lei"), 422, "requester"),
    Case("nul-field", "POST", T, _ticket(fields={"location": "3\u0000F"}), 422, "location"),
    Case(
        "surrogate-field",
        "POST",
        T,
        b'{"type": "it", "title": "x", "fields": {"location": "\\ud83d"}}',
        422,
        "location",
    ),
    Case("nul-select", "POST", T, _ticket(fields={"category": "hard\u0000ware"}), 422, "category"),
    Case("nul-field-name", "POST", T, _ticket(fields={"loc\u0000": "x"}), 422, "fields"),
    Case("nul-comment", "POST", C, _j({"body": "a\u0000b"}), 422, "body"),
    Case("surrogate-comment", "POST", C, b'{"body": "a\\ud800b"}', 422, "body"),
    Case("nul-assignee", "POST", A + "/assign", _j({"assignee": "li\u0000lei"}), 422, "assignee"),
    Case("surrogate-action-body", "POST", A + "/comment", b'{"body": "\\udbff"}', 422, "body"),
    Case(
        "nul-action-priority",
        "POST",
        A + "/set_priority",
        _j({"priority": "\u0000"}),
        422,
        "priority",
    ),
    Case(
        "deep-assignee",
        "POST",
        A + "/assign",
        _j(
            {
                "assignee": [
                    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
                ]
            }
        ),
        422,
        "assignee",
    ),
    # headers that are not UTF-8, or not what they claim
    Case("idem-not-utf8", "POST", T, _ticket(), 400, "Idempotency-Key", ((IDEM, b"k\xff\xfe"),)),
    Case("idem-latin1", "POST", T, _ticket(), 400, "Idempotency-Key", ((IDEM, b"caf\xe9"),)),
    Case(
        "idem-comment-not-utf8",
        "POST",
        C,
        _j({"body": "x"}),
        400,
        "Idempotency-Key",
        ((IDEM, b"\xc0\xaf"),),
    ),
    Case(
        "idem-utf8-not-ascii",
        "POST",
        C,
        _j({"body": "x"}),
        400,
        "Idempotency-Key",
        ((IDEM, "键".encode()),),
    ),
    Case("priority-on-resolve", "POST", A + "/resolve", _j({"priority": "soon"}), 422, "priority"),
    Case("assignee-not-text", "POST", A + "/assign", _j({"assignee": 7}), 422, "assignee"),
    Case("created-to-empty", "GET", T + "?created_to=", status=400, names="created_to"),
    Case("idem-too-long", "POST", T, _ticket(), 400, "Idempotency-Key", ((IDEM, b"k" * 300),)),
    Case(
        "auth-not-utf8",
        "GET",
        T,
        headers=((b"Authorization", b"Bearer \xff\xfe"),),
        status=401,
        auth=False,
    ),
    Case("body-not-utf8", "POST", T, b'{"type": "it", "title": "\xff"}', 400, "UTF-8"),
    Case("body-not-object", "POST", C, b"[1, 2]", 400, "object"),
    # query parameters
    Case(
        "cursor-over-int64",
        "GET",
        T + "?cursor=" + _cursor("t1:" + "9" * 20),
        status=400,
        names="cursor",
    ),
    Case(
        "cursor-under-int64",
        "GET",
        T + "?cursor=" + _cursor("t1:-" + "9" * 20),
        status=400,
        names="cursor",
    ),
    Case("cursor-2^63", "GET", T + "?cursor=" + _cursor(f"t1:{2**63}"), status=400, names="cursor"),
    Case("cursor-zero", "GET", T + "?cursor=" + _cursor("t1:0"), status=400, names="cursor"),
    Case(
        "cursor-huge", "GET", T + "?cursor=" + _cursor("t1:" + HUGE_INT), status=400, names="cursor"
    ),
    Case("cursor-nul", "GET", T + "?cursor=%00", status=400, names="cursor"),
    Case("assignee-nul", "GET", T + "?assignee=%00", status=400, names="assignee"),
    Case("team-nul", "GET", T + "?team=%00", status=400, names="team"),
    Case("type-nul", "GET", T + "?type=a%00b", status=400, names="type"),
    Case("requester-nul", "GET", T + "?requester=x%00", status=400, names="requester"),
    Case("status-nul", "GET", T + "?status=%00", status=400, names="status"),
    Case("limit-huge", "GET", T + "?limit=" + HUGE_INT, status=400, names="limit"),
    Case("limit-big", "GET", T + "?limit=" + BIG_INT, status=400, names="limit"),
    Case(
        "created-from-max",
        "GET",
        T + "?created_from=9999-12-31T23:59:59-14:00",
        status=400,
        names="created_from",
    ),
    Case(
        "created-to-min",
        "GET",
        T + "?created_to=0001-01-01T00:00:00%2B14:00",
        status=400,
        names="created_to",
    ),
    Case("created-from-nul", "GET", T + "?created_from=%00", status=400, names="created_from"),
    # path parameters
    Case("key-nul", "GET", T + "/IT%00-1", status=400, names="key"),
    # undecodable percent-escapes stay as they are: a key that names no ticket
    Case("key-not-utf8", "GET", T + "/%ED%A0%80", status=404, names="no ticket"),
    Case("key-nul-comments", "GET", T + "/%00/comments", status=400, names="key"),
    Case("key-nul-comment", "POST", T + "/%00/comments", _j({"body": "x"}), 400, "key"),
    Case("key-nul-events", "GET", T + "/%00/events", status=400, names="key"),
    Case("key-nul-attachments", "GET", T + "/%00/attachments", status=400, names="key"),
    Case("key-nul-action", "POST", T + "/%00/actions/accept", status=400, names="key"),
    Case("attachment-nul", "GET", f"{API}/attachments/%00", status=400, names="id"),
    Case(
        "attachment-not-utf8",
        "GET",
        f"{API}/attachments/%ED%BF%BF",
        status=404,
        names="no attachment",
    ),
    Case("body-bad-gzip", "POST", C, b"not gzip", 400, "body", ((b"Content-Encoding", b"gzip"),)),
]


@dataclass
class Answer:
    status: int
    body: Any


async def send(url: str, case: Case) -> Answer:
    """One request as raw bytes (headers need not be UTF-8); the connection closes after it."""
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    head = [
        f"{case.method} {case.path} HTTP/1.1".encode(),
        f"Host: {where.netloc}".encode(),
        b"Connection: close",
        b"Content-Type: application/json",
        f"Content-Length: {len(case.body)}".encode(),
    ]
    if case.auth:
        head.append(b"Authorization: " + ADMIN)
    head += [name + b": " + value for name, value in case.headers]
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + case.body)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    try:
        body = json.loads(payload)
    except ValueError:
        body = payload.decode(errors="replace")
    return Answer(int(status_line.split()[1]), body)


async def _serve(kind: str, tmp: Any) -> AsyncIterator[Running]:
    async with fresh_database(kind, tmp) as url, running(service_config(url)) as svc:  # type: ignore[arg-type]
        async with svc.http.post(
            svc.url + T, json={"type": "it", "title": "seed"}, headers=svc.auth("admin")
        ) as r:
            assert r.status == 201
        yield svc


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "pg"])
async def svc(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    async for running_service in _serve(request.param, tmp_path_factory.mktemp(request.param)):
        yield running_service


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_pathological_request_gets_a_4xx_naming_the_problem(
    svc: Running, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    answer = await send(svc.url, case)
    # a refusal is one log line, never a traceback
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert answer.status == case.status, answer.body
    assert isinstance(answer.body, dict) and answer.body["error"], answer.body
    named = [answer.body["detail"], *(f["field"] for f in answer.body.get("fields", []))]
    assert case.names.lower() in " ".join(named).lower(), answer.body
