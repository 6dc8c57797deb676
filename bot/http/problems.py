"""HTTP errors as JSON {"error": code, "detail": message}; domain errors mapped to 4xx.

Every refused request logs one line (rate-limited per kind of refusal); a server error logs its
traceback, also rate-limited, so a flood of bad requests cannot fill the disk.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestPayloadError

from adapters.ports import RECEIVED_AT
from bot.logs import Throttle, one_line
from bot.metrics import Metrics
from core.errors import (
    ConcurrencyError,
    Conflict,
    DomainError,
    FormInvalid,
    NotFound,
    PermissionDenied,
)
from core.i18n import Locale

log = logging.getLogger("gongdan.http")

# seconds a request's body may take to arrive after its head (set by bootstrap.listen)
BODY_TIMEOUT = web.AppKey("body_timeout_s", float)
DEFAULT_BODY_TIMEOUT_S = 60.0
# log lines a minute for each kind of refused request (and for server errors)
REFUSED_LINES_PER_MINUTE = 20


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def error_response(status: int, error: str, detail: str, **extra: object) -> web.Response:
    return web.json_response({"error": error, "detail": detail, **extra}, status=status)


def request_locale(request: web.Request) -> Locale | None:
    """The supported language the request's Accept-Language prefers (None: it names none)."""
    best: tuple[float, Locale] | None = None
    for part in request.headers.get("Accept-Language", "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        tag = tag.strip().lower()
        locale: Locale | None = (
            "zh-CN" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        )
        if locale is not None and quality > 0 and (best is None or quality > best[0]):
            best = (quality, locale)
    return best[1] if best else None


def domain_response(exc: DomainError, locale: Locale | None = None) -> web.Response:
    """The error as JSON; with a locale (Accept-Language) its texts in that language."""
    if isinstance(exc, FormInvalid):
        fields = [
            {
                "field": e.field,
                "rule": e.rule,
                "message": e.text(locale) if locale else e.message,
            }
            for e in exc.errors
        ]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return error_response(422, "invalid", detail, fields=fields)
    status = {NotFound: 404, PermissionDenied: 403, Conflict: 409, ConcurrencyError: 409}.get(
        type(exc), 400
    )
    return error_response(status, exc.code, exc.text(locale) if locale else exc.message)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_middleware(metrics: Metrics, throttle: Throttle | None = None) -> Middleware:
    throttle = throttle or Throttle(REFUSED_LINES_PER_MINUTE)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        RECEIVED_AT.set(started)  # what the request commits is timed from here
        route = (
            request.match_info.route.resource.canonical
            if request.match_info.route.resource
            else "unmatched"
        )
        error = detail = ""
        try:
            await _read_body(request)
            response = await handler(request)
        except ApiError as exc:
            error, detail = exc.error, exc.detail
            response = error_response(exc.status, error, detail)
            if isinstance(exc, _Refused):
                await _answer_and_close(request, response)
        except DomainError as exc:
            error, detail = exc.code, exc.message
            response = domain_response(exc, request_locale(request))
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            error, detail = _reason(exc.status), exc.reason or ""
            response = error_response(exc.status, error, detail)
            if "Allow" in exc.headers:  # a 405 says which methods the resource has (RFC 9110)
                response.headers["Allow"] = exc.headers["Allow"]
        except ConnectionError:  # the client went away (or was cut off): nobody to answer
            return web.Response(status=400)
        except Exception as exc:
            incident = uuid.uuid4().hex[:12]
            _log_failure(throttle, request, incident, exc)
            response = error_response(
                500, "internal", f"something went wrong on our side (incident {incident})"
            )
        if 400 <= response.status < 500:
            _log_refusal(throttle, request, response.status, error, detail)
        metrics.http_requests.inc(route=route, method=request.method, status=str(response.status))
        metrics.http_latency.observe(time.perf_counter() - started, route=route)
        return response

    return middleware


async def _read_body(request: web.Request) -> None:
    """Read the whole body now, within the body timeout: a client that sends its body a byte at
    a time must not hold a handler (and a connection) forever. Handlers then read it from memory."""
    if not request.body_exists:
        return
    limit = request.app.get(BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT_S)
    try:
        async with asyncio.timeout(limit):
            await request.read()
    except TimeoutError:
        raise _Refused(
            408, "request_timeout", f"body: did not arrive within {limit:g} s of the request"
        ) from None
    except RequestPayloadError as exc:
        cause = exc.__cause__ or exc.__context__ or exc
        raise _Refused(
            400, "bad_request", f"body: cannot be read ({one_line(str(cause), 120)})"
        ) from None


class _Refused(ApiError):
    """An ApiError after which the connection is closed: the rest of the body is not awaited."""


async def _answer_and_close(request: web.Request, response: web.StreamResponse) -> None:
    """Send the answer now and close the connection, instead of letting the server read and
    discard (for up to its lingering time) a body that is too slow or cannot be decoded."""
    response.force_close()
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:
        pass
    request.protocol.force_close()


def _log_refusal(
    throttle: Throttle, request: web.Request, status: int, error: str, detail: str
) -> None:
    suppressed = throttle.admit(f"{status} {error}")
    if suppressed is None:
        return
    extra: dict[str, object] = {
        "status": status,
        "method": one_line(request.method, 16),
        "path": one_line(request.raw_path, 200),
        "peer": request.remote,
    }
    if suppressed:
        extra["suppressed"] = suppressed
    log.info("refused %s: %s", error or status, one_line(detail), extra=extra)


def _log_failure(throttle: Throttle, request: web.Request, incident: str, exc: Exception) -> None:
    suppressed = throttle.admit("500 internal")
    if suppressed is None:
        return
    extra: dict[str, object] = {"incident": incident, "path": one_line(request.raw_path, 200)}
    if suppressed:
        extra["suppressed"] = suppressed
    log.error("unhandled error", exc_info=exc, extra=extra)


def _reason(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        status, "bad_request"
    )
