"""HTTP errors as JSON {"error": code, "detail": message}; domain errors mapped to 4xx."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.metrics import Metrics
from core.errors import (
    ConcurrencyError,
    Conflict,
    DomainError,
    FormInvalid,
    NotFound,
    PermissionDenied,
)

log = logging.getLogger("gongdan.http")


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def error_response(status: int, error: str, detail: str, **extra: object) -> web.Response:
    return web.json_response({"error": error, "detail": detail, **extra}, status=status)


def domain_response(exc: DomainError) -> web.Response:
    if isinstance(exc, FormInvalid):
        fields = [{"field": e.field, "rule": e.rule, "message": e.message} for e in exc.errors]
        return error_response(422, "invalid", exc.message, fields=fields)
    status = {NotFound: 404, PermissionDenied: 403, Conflict: 409, ConcurrencyError: 409}.get(
        type(exc), 400
    )
    return error_response(status, exc.code, exc.message)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_middleware(
    metrics: Metrics,
) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        route = (
            request.match_info.route.resource.canonical
            if request.match_info.route.resource
            else "unmatched"
        )
        try:
            response = await handler(request)
        except ApiError as exc:
            response = error_response(exc.status, exc.error, exc.detail)
        except DomainError as exc:
            response = domain_response(exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = error_response(exc.status, _reason(exc.status), exc.reason or "")
        except Exception:
            incident = uuid.uuid4().hex[:12]
            log.exception("unhandled error", extra={"incident": incident, "path": request.path})
            response = error_response(
                500, "internal", f"something went wrong on our side (incident {incident})"
            )
        metrics.http_requests.inc(route=route, method=request.method, status=str(response.status))
        metrics.http_latency.observe(time.perf_counter() - started, route=route)
        return response

    return middleware


def _reason(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        status, "bad_request"
    )
