"""How Slack's failures reach the outbox: wait, retry, or give up."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.client import delivery_error


def _failure(status: int, error: str, **headers: str) -> SlackApiError:
    data: dict[str, Any] = {"ok": False, "error": error}
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.update",
        req_args={},
        data=data,
        headers=headers,
        status_code=status,
    )
    # slack_sdk leaves SlackApiError.__init__ unannotated
    return SlackApiError(f"The request to the Slack API failed: {error}", response)  # type: ignore[no-untyped-call]


def test_rate_limit_waits_for_retry_after_seconds() -> None:
    exc = delivery_error("chat.update", _failure(429, "ratelimited", **{"Retry-After": "30"}))

    assert exc.retry_after == 30.0 and not exc.permanent
    assert "ratelimited" in str(exc)


def test_rate_limit_header_is_read_whatever_its_case() -> None:
    exc = delivery_error("chat.update", _failure(429, "ratelimited", **{"retry-after": "7"}))

    assert exc.retry_after == 7.0


def test_server_errors_are_retried_with_backoff() -> None:
    exc = delivery_error("chat.postMessage", _failure(503, "service_unavailable"))

    assert exc.retry_after is None and not exc.permanent


@pytest.mark.parametrize(
    "error", ["invalid_auth", "channel_not_found", "message_not_found", "not_in_channel"]
)
def test_errors_no_retry_can_fix_are_given_up(error: str) -> None:
    assert delivery_error("chat.update", _failure(200, error)).permanent


def test_unknown_ok_false_errors_are_retried() -> None:
    exc = delivery_error("chat.postMessage", _failure(200, "fatal_error"))

    assert not exc.permanent and exc.retry_after is None
