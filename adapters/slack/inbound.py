"""Parsed Slack payloads -> small normalised intakes. Pure: no I/O, no people lookup.

The service maps the Slack ids these carry to people and builds core commands from them.
Known-but-unhandled payloads come back as Ignored (answer 200); unreadable ones raise
SlackPayloadError (answer 400 with its message).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.kit.buttons import ButtonValueError, parse_button_value
from adapters.slack.escape import unescape
from adapters.slack.render import form_values
from adapters.slack.types import ACTION_PREFIX, CREATE_SHORTCUT_ID, FORM_CALLBACK_ID
from core.text import clean_text as replace_unstorable
from core.workflow import Action

# Subtypes that are still a person talking (a message with a file, a reply also sent to the
# channel); every other subtype is an edit, a join, a bot post... and never a ticket.
HUMAN_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
_CHANNEL_TYPES = {"C": "channel", "G": "group", "D": "im"}
_MARKUP = re.compile(r"<([^<>]*)>")
_BOT_GAP = re.compile(r"[ \t]*\x00[ \t]*")
_SHORTCODE = re.compile(r":[a-z0-9_+'-]+:(?::skin-tone-\d:)?")


class SlackPayloadError(ValueError):
    """Slack sent something we cannot read; the message says what is missing."""


def emoji_only(text: str) -> bool:
    """Nothing but emoji, as Slack writes them (":+1:", ":pray::skin-tone-2:") or as they are."""
    return not any(ch.isalnum() for ch in _SHORTCODE.sub("", text))


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class MessageIntake:
    team: str
    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str | None
    channel_type: str
    event_id: str
    mentioned: bool

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def is_direct(self) -> bool:
        return self.channel_type == "im"


@dataclass(frozen=True)
class ButtonClick:
    team: str
    channel: str
    message_ts: str
    user: str
    action: Action
    key: str
    version: int
    value: str | None  # the chosen option of a select; None for a button
    trigger_id: str
    response_url: str | None


@dataclass(frozen=True)
class SlashCommand:
    team: str
    channel: str
    user: str
    user_name: str
    command: str
    text: str
    trigger_id: str
    response_url: str


@dataclass(frozen=True)
class MessageShortcut:
    team: str
    channel: str
    user: str
    trigger_id: str
    response_url: str | None
    message_ts: str
    message_user: str | None
    message_text: str
    thread_ts: str | None


@dataclass(frozen=True)
class ViewSubmission:
    team: str
    user: str
    view_id: str
    private_metadata: str
    values: dict[str, Any]
    trigger_id: str | None


Interaction = ButtonClick | MessageShortcut | ViewSubmission


def slack_text(text: str, bot_user_id: str | None = None) -> str:
    """Slack's wire text -> what the person meant: markup resolved, entities decoded.

    `<@U1>` -> `@U1`, `<#C1|help>` -> `#help`, `<!here>` -> `@here`, `<https://x|y>` -> `y (https://x)`;
    a mention of the bot itself is removed.
    """

    def resolve(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "\x00" if target[1:] == bot_user_id else target
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            return label or f"@{target[1:].split('^')[0]}"
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if not label or label == target or target.endswith(f"//{label}"):
            return target
        return f"{label} ({target})"

    resolved = _MARKUP.sub(resolve, replace_unstorable(text))
    return unescape(_BOT_GAP.sub(" ", resolved)).strip()


def classify_event(body: Mapping[str, Any], bot_user_id: str) -> MessageIntake | Ignored:
    """An Events API body -> a person's message worth acting on, or why not."""
    if body.get("type") != "event_callback":
        return Ignored(f"envelope {body.get('type')!r}")
    event = _mapping(body, "event")
    kind = event.get("type")
    if kind not in ("message", "app_mention"):
        return Ignored(f"event {kind!r}")
    subtype = event.get("subtype")
    if subtype is not None and subtype not in HUMAN_SUBTYPES:
        return Ignored(f"message subtype {subtype!r}")
    if event.get("bot_id") or event.get("bot_profile"):
        return Ignored("message from a bot")
    user = event.get("user")
    if not isinstance(user, str) or not user:
        return Ignored("message without a user")
    if user == bot_user_id:
        return Ignored("our own message")
    channel = _str(event, "channel")
    raw = event.get("text")
    raw = raw if isinstance(raw, str) else ""
    thread_ts = event.get("thread_ts")
    return MessageIntake(
        team=_team_of_event(body, event),
        channel=channel,
        user=user,
        text=slack_text(raw, bot_user_id),
        ts=_str(event, "ts"),
        thread_ts=thread_ts if isinstance(thread_ts, str) else None,
        channel_type=event.get("channel_type") or _CHANNEL_TYPES.get(channel[:1], "channel"),
        event_id=_str(body, "event_id"),
        mentioned=kind == "app_mention" or f"<@{bot_user_id}" in raw,
    )


def dedupe_keys(body: Mapping[str, Any]) -> list[str]:
    """Keys under which one delivery is remembered: the event id, and the message itself.

    A mention arrives twice (app_mention and message.channels, two event ids), and a retry
    arrives with the same event id; either key seen before means "already handled".
    """
    if body.get("type") != "event_callback":
        return []
    keys: list[str] = []
    if isinstance(event_id := body.get("event_id"), str) and event_id:
        keys.append(event_id)
    event = body.get("event")
    if isinstance(event, Mapping):
        channel, ts = event.get("channel"), event.get("ts")
        if isinstance(channel, str) and isinstance(ts, str):
            keys.append(f"{_team_of_event(body, event)}:{channel}:{ts}")
    return keys


def parse_block_actions(payload: Mapping[str, Any]) -> ButtonClick | Ignored:
    """A click on one of our cards' buttons or selects."""
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        raise SlackPayloadError("block_actions payload has no actions")
    act: Mapping[str, Any] = actions[0]
    action_id = _str(act, "action_id")
    if not action_id.startswith(ACTION_PREFIX):
        return Ignored(f"action {action_id!r} is not ours")
    try:
        action = Action(action_id.removeprefix(ACTION_PREFIX))
    except ValueError:
        return Ignored(f"unknown action {action_id!r}")
    container = _mapping(payload, "container")
    if container.get("type") != "message":
        return Ignored(f"action in a {container.get('type')!r}")
    value: str | None = None
    if act.get("type") == "button":
        key, version = _key_version(_str(act, "value"), "|")
    else:
        option = act.get("selected_option")
        if not isinstance(option, Mapping):
            return Ignored("selection cleared")
        value = _str(option, "value")
        key, version = _key_version(_str(act, "block_id").removeprefix("tkt:"), ":")
    channel = container.get("channel_id") or _mapping(payload, "channel").get("id")
    if not isinstance(channel, str):
        raise SlackPayloadError("block_actions payload names no channel")
    user = _mapping(payload, "user")
    return ButtonClick(
        team=_team_of_interaction(payload),
        channel=channel,
        message_ts=_str(container, "message_ts"),
        user=_str(user, "id"),
        action=action,
        key=key,
        version=version,
        value=value,
        trigger_id=_str(payload, "trigger_id"),
        response_url=_opt_str(payload, "response_url"),
    )


def parse_slash_command(form: Mapping[str, str]) -> SlashCommand:
    """The form fields of a slash command (Socket Mode delivers the same fields as a dict)."""
    return SlashCommand(
        team=_str(form, "team_id"),
        channel=_str(form, "channel_id"),
        user=_str(form, "user_id"),
        user_name=form.get("user_name", ""),
        command=_str(form, "command"),
        text=slack_text(form.get("text", "")),
        trigger_id=_str(form, "trigger_id"),
        response_url=_str(form, "response_url"),
    )


def split_quick_create(text: str, type_ids: Iterable[str]) -> tuple[str | None, str]:
    """`/ticket it printer jammed` -> ("it", "printer jammed"); no known type -> (None, text)."""
    first, _, rest = text.strip().partition(" ")
    by_lower = {t.lower(): t for t in type_ids}
    if first.lower() in by_lower:
        return by_lower[first.lower()], rest.strip()
    return None, text.strip()


def parse_message_shortcut(payload: Mapping[str, Any]) -> MessageShortcut | Ignored:
    """ "Create ticket" chosen from a message's menu."""
    callback = payload.get("callback_id")
    if callback != CREATE_SHORTCUT_ID:
        return Ignored(f"shortcut {callback!r} is not ours")
    message = _mapping(payload, "message")
    raw = message.get("text")
    return MessageShortcut(
        team=_team_of_interaction(payload),
        channel=_str(_mapping(payload, "channel"), "id"),
        user=_str(_mapping(payload, "user"), "id"),
        trigger_id=_str(payload, "trigger_id"),
        response_url=_opt_str(payload, "response_url"),
        message_ts=_opt_str(payload, "message_ts") or _str(message, "ts"),
        message_user=_opt_str(message, "user"),
        message_text=slack_text(raw if isinstance(raw, str) else ""),
        thread_ts=_opt_str(message, "thread_ts"),
    )


def parse_view_submission(payload: Mapping[str, Any]) -> ViewSubmission | Ignored:
    """The ticket form submitted from its modal."""
    view = _mapping(payload, "view")
    callback = view.get("callback_id")
    if callback != FORM_CALLBACK_ID:
        return Ignored(f"view {callback!r} is not ours")
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    return ViewSubmission(
        team=_team_of_interaction(payload),
        user=_str(_mapping(payload, "user"), "id"),
        view_id=_str(view, "id"),
        private_metadata=view.get("private_metadata") or "",
        values=form_values(values) if isinstance(values, Mapping) else {},
        trigger_id=_opt_str(payload, "trigger_id"),
    )


def _key_version(text: str, sep: str) -> tuple[str, int]:
    try:
        return parse_button_value(text, sep)
    except ButtonValueError as exc:
        raise SlackPayloadError(str(exc)) from None


def _team_of_event(body: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    team = body.get("team_id") or event.get("team")
    return team if isinstance(team, str) else ""


def _team_of_interaction(payload: Mapping[str, Any]) -> str:
    team = payload.get("team")
    if isinstance(team, Mapping) and isinstance(team.get("id"), str):
        return str(team["id"])
    user = payload.get("user")
    # Org-wide installs send "team": null; the user still carries their workspace
    team_id = user.get("team_id") if isinstance(user, Mapping) else None
    return team_id if isinstance(team_id, str) else ""


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise SlackPayloadError(f"payload has no {key!r} object")
    return value


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise SlackPayloadError(f"payload has no {key!r}")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


INTERACTIONS: dict[str, Callable[[Mapping[str, Any]], Interaction | Ignored]] = {
    "block_actions": parse_block_actions,
    "message_action": parse_message_shortcut,
    "view_submission": parse_view_submission,
}


def classify_interaction(payload: Mapping[str, Any]) -> Interaction | Ignored:
    """An interactivity payload (the JSON inside `payload=`) routed by its type."""
    kind = payload.get("type")
    parse = INTERACTIONS.get(kind) if isinstance(kind, str) else None
    if parse is None:
        return Ignored(f"interaction {kind!r}")
    return parse(payload)
