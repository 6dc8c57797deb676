"""The Slack Web API as Gongdan uses it: slack_sdk's AsyncWebClient, with failures sorted.

Every failure leaves here as adapters.base.DeliveryError, so the outbox dispatcher can tell a
429 (wait Retry-After), a passing fault (back off and retry) and a request that can never work
(give up) apart.
https://docs.slack.dev/apis/web-api/rate-limits
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.contract import DeliveryError, PlatformCalls

DEFAULT_BASE_URL = "https://slack.com/api/"
DEFAULT_TIMEOUT_S = 10

# Errors that no retry can fix: a wrong token, a channel or message that is gone, a payload Slack
# refuses. Anything not listed (fatal_error, internal_error, request_timeout...) is retried.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "user_not_found",
        "user_not_in_channel",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
    }
)


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is in its workspace (auth.test)."""

    team_id: str
    user_id: str
    bot_id: str | None
    enterprise_id: str | None = None
    url: str | None = None  # the workspace, "https://acme.slack.com/": permalinks start here


def sdk_logger(name: str = "gongdan.slack.sdk") -> logging.Logger:
    """A logger for slack_sdk / slack-bolt with its level set on the logger itself.

    The SDKs decide whether to format their debug lines with `logger.level <= DEBUG`, not
    `isEnabledFor`: with the default NOTSET level (0) every API call renders its whole request
    and response into a string that is then thrown away (about a tenth of slack_sdk's time per call when profiled).
    Setting the effective level explicitly keeps debug output available when it is wanted.
    """
    logger = logging.getLogger(name)
    logger.setLevel(logging.getLogger(name).getEffectiveLevel())
    return logger


class SlackClient:
    """Thin wrapper of AsyncWebClient: each call returns Slack's JSON or raises DeliveryError."""

    def __init__(
        self, token: str, base_url: str = DEFAULT_BASE_URL, timeout: int = DEFAULT_TIMEOUT_S
    ) -> None:
        self.web = AsyncWebClient(
            token=token, base_url=base_url, timeout=timeout, logger=sdk_logger()
        )
        self.calls = PlatformCalls()  # Web API calls by method and outcome, for the metrics

    def open_session(self, json_serialize: Callable[[Any], str]) -> None:
        """Give the client one pooled session, with the client's timeout on every call.

        slack_sdk applies its `timeout` only to the sessions it makes itself; a session handed to
        it keeps its own, and aiohttp's default is 300 s: one hung call then held a delivery for
        minutes."""
        self.web.session = aiohttp.ClientSession(
            json_serialize=json_serialize, timeout=aiohttp.ClientTimeout(total=self.web.timeout)
        )

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """POST one Web API method as JSON; the answer's data on success."""
        try:
            response = await self.web.api_call(method, json=_without_none(params))
        except SlackApiError as exc:
            error = delivery_error(method, exc)
            self.calls.failed(method, error)
            raise error from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = DeliveryError(f"{method}: {type(exc).__name__}: {exc}")
            self.calls.failed(method, failure)
            raise failure from exc
        self.calls.ok(method)
        data = response.data
        return dict(data) if isinstance(data, Mapping) else {}

    async def auth_test(self) -> BotIdentity:
        data = await self.call("auth.test")
        return BotIdentity(
            team_id=str(data.get("team_id") or ""),
            user_id=str(data.get("user_id") or ""),
            bot_id=data.get("bot_id") or None,
            enterprise_id=data.get("enterprise_id") or None,
            url=str(data.get("url") or "") or None,
        )

    async def user_info(self, user_id: str) -> dict[str, Any] | None:
        """users.info's user object, or None when Slack does not know the user."""
        return await self._user("users.info", "user_not_found", user=user_id)

    async def lookup_by_email(self, email: str) -> dict[str, Any] | None:
        """users.lookupByEmail's user object, or None when nobody in the workspace has it.

        Raises DeliveryError otherwise (a 429 carries Retry-After: the method is Tier 3).
        """
        return await self._user("users.lookupByEmail", "users_not_found", email=email)

    async def _user(self, method: str, not_found: str, **params: str) -> dict[str, Any] | None:
        try:
            # the users.* methods read their arguments from the query or a form, not from JSON
            response = await self.web.api_call(method, http_verb="GET", params=params)
        except SlackApiError as exc:
            if exc.response.get("error") == not_found:
                self.calls.ok(method)  # an answer: nobody by that id or address
                return None
            error = delivery_error(method, exc)
            self.calls.failed(method, error)
            raise error from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = DeliveryError(f"{method}: {type(exc).__name__}: {exc}")
            self.calls.failed(method, failure)
            raise failure from exc
        self.calls.ok(method)
        user = response.get("user")
        return dict(user) if isinstance(user, Mapping) else None


def delivery_error(method: str, exc: SlackApiError) -> DeliveryError:
    """SlackApiError -> DeliveryError: 429 carries Retry-After, known errors are permanent."""
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    error = str(response.get("error") or f"HTTP {status}")
    message = f"{method}: {error}"
    if status == 429 or error == "ratelimited":
        return DeliveryError(message, retry_after=_retry_after(response.headers))
    if status >= 500:
        return DeliveryError(message)
    return DeliveryError(message, permanent=error in PERMANENT_ERRORS)


def _retry_after(headers: Mapping[str, Any] | None) -> float:
    for name, value in (headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                break
    return 1.0  # Slack always sends the header; a missing one still must not hammer it


def _without_none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
