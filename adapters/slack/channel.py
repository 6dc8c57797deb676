"""The Slack channel: a slack-bolt AsyncApp over HTTP (/slack/events) or Socket Mode, same listeners.

Inbound: bolt verifies the signature (5-minute window on the raw body) and routes each delivery
to adapters.slack.intake, which commits before bolt answers. Outbound: the outbox dispatcher
calls post_card / update_card / post_text, which render core Cards as Block Kit and raise
DeliveryError (429 with Retry-After) on failure.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.contract import (
    Capabilities,
    CardRenderer,
    CardState,
    DeliveryError,
    MessageRef,
    PlatformCalls,
)
from adapters.kit.conversation import ChatIntake
from adapters.kit.locale import recipient_locale
from adapters.kit.wire import compact_json
from adapters.ports import Cards, Commands, Conversations, People
from adapters.slack.client import BotIdentity, SlackClient, sdk_logger
from adapters.slack.config import SlackSettings, WorkspaceRouting
from adapters.slack.escape import clip_mrkdwn
from adapters.slack.inbound import SlackPayloadError
from adapters.slack.intake import SlackListeners
from adapters.slack.modals import COMMENT_CALLBACK_ID, PICK_CALLBACK_ID
from adapters.slack.people import CHANNEL, SlackPeople, SlackReach
from adapters.slack.render import render_card
from adapters.slack.types import ACTION_PREFIX, CREATE_SHORTCUT_ID, FORM_CALLBACK_ID
from core.clock import Clock
from core.i18n import Locale
from core.people import Person
from core.ticket import ChannelRef

log = logging.getLogger("gongdan.slack")

EVENTS_PATH = "/slack/events"
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_RECONNECT_S = (1, 2, 5, 10, 30)
TEXT_MAX = 12_000  # Slack truncates message text at 40,000; a comment is at most 10,000


class SlackPorts(Commands, People, Cards, Conversations, Protocol):
    """What Slack asks of the bot."""


class SlackChannel(SlackReach):
    name = CHANNEL
    capabilities = Capabilities(
        update_in_place=True, ephemeral=True, threads=True, native_forms=True, retry_after=True
    )

    @property
    def platform_calls(self) -> PlatformCalls:
        return self.client.calls

    def __init__(self, settings: SlackSettings, gateway: SlackPorts, clock: Clock) -> None:
        if settings.mode == "http" and not settings.signing_secret:
            raise ValueError("Slack over HTTP needs a signing secret")
        if settings.mode == "socket" and not settings.app_token:
            raise ValueError("Slack Socket Mode needs an app-level token (xapp-...)")
        self.settings = settings
        self.gateway = gateway
        self.client = SlackClient(settings.bot_token, settings.api_base_url)
        self.people = SlackPeople(self.client, gateway, settings.people, settings.locale)
        self.bot: BotIdentity | None = None
        intake = WorkspaceRouting(
            help_desk_channels=dict(settings.help_desk_channels),
            default_ticket_type=settings.default_ticket_type,
            locale=settings.locale,
            team_id=settings.team_id,
            people=settings.people,
        )
        self.listeners = SlackListeners(
            intake,
            gateway,
            self.client,
            self.people,
            lambda: self.bot.user_id if self.bot else "",
            workspace_url=lambda: self.bot.url if self.bot else None,
            chat=ChatIntake(CHANNEL, gateway, clock, commands="/ticket "),
        )
        self.app = self._build_app()
        self._socket: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._rate_limited_minute: object = None
        # the start-up lookup of configured people by e-mail (tests await it)
        self.linking: asyncio.Task[list[Person]] | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def routes(self) -> list[web.AbstractRouteDef]:
        if self.settings.mode != "http":
            return []
        return [web.post(EVENTS_PATH, self._http)]

    async def start(self) -> None:
        # one pooled session: a card post must not pay for a new TCP connection; Block Kit
        # payloads are encoded by orjson (the standard library's took about a seventh of the client's time per post)
        self.client.open_session(compact_json)
        await self._identify()
        if self.settings.mode == "socket":
            self._socket = AsyncSocketModeHandler(self.app, app_token=self.settings.app_token)
            self._connecting = asyncio.create_task(self._connect(), name="slack-socket-mode")
        self._start_linking()

    async def stop(self) -> None:
        """Stop taking deliveries. Outbound calls still work: the outbox drains after this."""
        await self._stop_linking()
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        session = self.client.web.session
        self.client.web.session = None  # later calls open a session of their own
        if session is not None:
            await session.close()

    async def _connect(self) -> None:
        assert self._socket is not None
        for attempt in range(1_000_000):
            try:
                await self._socket.connect_async()  # type: ignore[no-untyped-call]
                return
            except Exception as exc:  # the SDK raises whatever its transport raised
                wait = _RECONNECT_S[min(attempt, len(_RECONNECT_S) - 1)]
                log.warning(
                    "slack socket mode connect failed; retrying",
                    extra={"error": str(exc), "retry_in_s": wait},
                )
                await asyncio.sleep(wait)

    async def _identify(self) -> BotIdentity | None:
        if self.bot is None:
            try:
                self.bot = await self.client.auth_test()
            except DeliveryError as exc:
                log.error("slack auth.test failed; will retry", extra={"error": str(exc)})
        return self.bot

    # ---- configured people found on Slack by e-mail ----------------------------------------
    def _start_linking(self) -> None:
        """Look configured people up by e-mail in the background: start and ingest never wait."""
        if self.linking is None and any(
            p.email and CHANNEL not in p.identities for p in self.settings.configured
        ):
            self.linking = asyncio.create_task(self._link_by_email(), name="slack-link-by-email")

    async def _link_by_email(self) -> list[Person]:
        try:
            return await self.people.link_by_email(self.settings.configured)
        except Exception:  # a background task: nobody else would see it fail
            log.exception("linking people to Slack by e-mail failed")
            return []

    async def _stop_linking(self) -> None:
        task, self.linking = self.linking, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---- inbound ----------------------------------------------------------------------------
    async def _http(self, request: web.Request) -> web.Response:
        body = await _verifiable_body(request)
        try:
            bolt_request = AsyncBoltRequest(
                body=body,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]  # bolt reads it as a mapping
            )
        except ValueError as exc:  # bolt decodes the JSON before it checks the signature
            raise web.HTTPBadRequest(reason=f"the body is not valid JSON ({exc})") from None
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    def _build_app(self) -> AsyncApp:
        s = self.settings

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return await self._authorize(enterprise_id, team_id)

        app = AsyncApp(
            # bolt hands listeners a client carrying the token authorize() returns
            client=AsyncWebClient(
                base_url=s.api_base_url, timeout=self.client.web.timeout, logger=sdk_logger()
            ),
            signing_secret=s.signing_secret or "unused-in-socket-mode",
            authorize=authorize,
            # the listener commits before bolt answers Slack: an ack means nothing is lost
            process_before_response=True,
            request_verification_enabled=s.mode == "http",
            raise_error_for_unhandled_request=False,
            logger=sdk_logger("gongdan.slack.bolt"),
        )
        on = self.listeners
        # bolt injects arguments by parameter name, so it is handed plain functions, not methods
        # bolt tries listeners in order: the commonest delivery (a message) is matched first
        app.event("message")(_body_only(on.on_event))
        app.event("app_mention")(_body_only(on.on_event))
        app.event(re.compile(".*"))(_ignore)  # known but unhandled: 200, never a retry
        app.action(re.compile(f"^{re.escape(ACTION_PREFIX)}"))(_with_ack(on.on_block_action))
        app.action(re.compile(".*"))(_ack)
        app.command(s.command)(_with_ack(on.on_slash))
        app.shortcut(CREATE_SHORTCUT_ID)(_with_ack(on.on_shortcut))
        app.view(FORM_CALLBACK_ID)(_with_ack(on.on_form))
        app.view(PICK_CALLBACK_ID)(_with_ack(on.on_pick))
        app.view(COMMENT_CALLBACK_ID)(_with_ack(on.on_comment))

        async def rate_limited(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
            if body.get("type") != "app_rate_limited":
                return await next()
            self._rate_limited(body)
            return BoltResponse(status=200, body="")

        app.use(rate_limited)

        async def on_error(error: Exception) -> BoltResponse | None:
            return await self._error(error)

        app.error(on_error)
        return app

    async def _authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        bot = await self._identify()
        if bot is None:
            raise DeliveryError("slack auth.test failed")
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id or enterprise_id,
            team_id=bot.team_id or team_id,
            bot_token=self.settings.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.user_id,
        )

    def _rate_limited(self, body: Mapping[str, Any]) -> None:
        """Slack stops delivering events to an app that would get more than 30,000 in an hour
        from one workspace, and says so with this (signed) notice. Events are lost upstream
        from here, so an operator must hear about it: one error per rate-limited minute."""
        minute = body.get("minute_rate_limited")
        if minute == self._rate_limited_minute:
            return
        self._rate_limited_minute = minute
        log.error(
            "slack is rate limiting event deliveries to this app (over 30,000 events in an hour "
            "from one workspace); messages sent meanwhile do not reach Gongdan",
            extra={"team_id": body.get("team_id"), "minute_rate_limited": minute},
        )

    async def _error(self, error: Exception) -> BoltResponse | None:
        if isinstance(error, SlackPayloadError):
            return BoltResponse(status=400, body=str(error))
        # anything else is a 500: Slack retries events, and nothing was acknowledged
        log.error("slack delivery failed", exc_info=error)
        return None

    # ---- outbound (called by the outbox dispatcher) -----------------------------------------
    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        channel = _conversation(where)
        message = render_card(cards(self._locale(channel)))
        data = await self.client.call(
            "chat.postMessage",
            channel=channel,
            thread_ts=where.thread,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
        )
        return MessageRef(
            CHANNEL, str(data.get("channel") or channel), str(data["ts"]), where.thread
        )

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> CardState | None:
        message = render_card(cards(self._locale(ref.conversation)))
        await self.client.call(
            "chat.update",
            channel=ref.conversation,
            ts=ref.message,
            text=message["text"],
            blocks=message["blocks"],
        )
        return None

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        channel = _conversation(where)
        # replies and notices belong in the card's thread (or the thread it was raised in)
        thread = where.thread or where.message
        if ephemeral_to is not None:
            user = self._slack_user(ephemeral_to)
            # for one person's eyes: in their language
            chosen = text.get(self._locale(user)) or text.get("en") or ""
            body = clip_mrkdwn(chosen, TEXT_MAX)
            await self.client.call(
                "chat.postEphemeral", channel=channel, user=user, text=body, thread_ts=thread
            )
            return None
        chosen = text.get(self._locale(channel)) or text.get("en") or ""
        body = clip_mrkdwn(chosen, TEXT_MAX)
        data = await self.client.call(
            "chat.postMessage", channel=channel, text=body, thread_ts=thread
        )
        return MessageRef(CHANNEL, channel, str(data["ts"]), thread)

    def _locale(self, conversation: str) -> Locale:
        """A DM (posted to a user id) is in that person's language; a channel in the workspace's."""
        directory = self.gateway.directory
        return recipient_locale(directory, CHANNEL, conversation, self.settings.locale)

    def _slack_user(self, who: str) -> str:
        if _SLACK_USER.fullmatch(who):
            return who
        user = self.people.slack_user_of(who)
        if user is None:
            raise DeliveryError(f"{who!r} has no Slack identity", permanent=True)
        return user


async def _verifiable_body(request: web.Request) -> str:
    """The body as text, if the delivery can be checked at all: Slack signs the UTF-8 bytes of
    the body with an integer timestamp. Anything else is refused here (the middleware logs one
    line), before bolt's verifier would fail on it with a server error."""
    stamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise web.HTTPUnauthorized(reason="X-Slack-Request-Timestamp is not a Unix time")
    if not request.headers.get("X-Slack-Signature", "").isascii():
        raise web.HTTPUnauthorized(reason="X-Slack-Signature is not a Slack signature")
    charset = request.charset
    if charset is not None:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise web.HTTPBadRequest(reason="unknown charset in Content-Type") from None
    try:
        return (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        raise web.HTTPBadRequest(reason="the body is not UTF-8") from None


def _conversation(where: ChannelRef) -> str:
    if not where.conversation:
        raise DeliveryError("no Slack channel to post in", permanent=True)
    return where.conversation


Listener = Callable[[dict[str, Any]], Awaitable[None]]
AckListener = Callable[[dict[str, Any], Any], Awaitable[None]]


def _body_only(handle: Listener) -> Listener:
    async def listener(body: dict[str, Any]) -> None:
        await handle(body)

    return listener


def _with_ack(handle: AckListener) -> AckListener:
    async def listener(body: dict[str, Any], ack: Any) -> None:
        await handle(body, ack)

    return listener


async def _ignore() -> None:
    return None


async def _ack(ack: Any) -> None:
    await ack()
