"""The Slack payloads Gongdan reads and writes: only the keys we use, with links to Slack's docs.

Inbound payloads are parsed defensively by adapters.slack.inbound; these types document their
shape (and type the test double's builders). Outbound types are what adapters.slack.render returns.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

# Interaction ids we put into Slack payloads; inbound routes on them.
ACTION_PREFIX = "tkt."
FORM_CALLBACK_ID = "tkt.form"
CREATE_SHORTCUT_ID = "tkt.create_from_message"
INPUT_ACTION_ID = "value"

Block = dict[str, Any]


# --- outbound --------------------------------------------------------------------------------


class SlackMessage(TypedDict):
    """Arguments for chat.postMessage / chat.update (plus channel, ts, thread_ts).

    https://docs.slack.dev/reference/methods/chat.postMessage
    """

    text: str
    blocks: list[Block]


class ModalView(TypedDict):
    """A modal for views.open. https://docs.slack.dev/reference/views/modal-views"""

    type: Literal["modal"]
    callback_id: str
    title: Block
    submit: Block
    close: Block
    private_metadata: str
    blocks: list[Block]


class ErrorsResponse(TypedDict):
    """The ack body that shows inline errors in a modal.

    https://docs.slack.dev/surfaces/modals#displaying_errors
    """

    response_action: Literal["errors"]
    errors: dict[str, str]


# --- inbound: Events API ---------------------------------------------------------------------


class MessageEvent(TypedDict):
    """`message` (message.channels / .groups / .im / .mpim) and `app_mention` events.

    https://docs.slack.dev/reference/events/message
    https://docs.slack.dev/reference/events/app_mention
    """

    type: Literal["message", "app_mention"]
    channel: str
    user: NotRequired[str]
    text: NotRequired[str]
    ts: str
    event_ts: NotRequired[str]
    thread_ts: NotRequired[str]
    channel_type: NotRequired[Literal["channel", "group", "im", "mpim"]]
    subtype: NotRequired[str]
    bot_id: NotRequired[str]
    team: NotRequired[str]


class EventCallback(TypedDict):
    """The Events API envelope. https://docs.slack.dev/apis/events-api/#callback-field"""

    type: Literal["event_callback"]
    team_id: str
    api_app_id: NotRequired[str]
    event_id: str
    event_time: int
    event: MessageEvent
    authorizations: NotRequired[list[dict[str, Any]]]


class UrlVerification(TypedDict):
    """https://docs.slack.dev/reference/events/url_verification"""

    type: Literal["url_verification"]
    challenge: str
    token: NotRequired[str]


# --- inbound: interactivity ------------------------------------------------------------------


class IdRef(TypedDict):
    id: str


class UserRef(TypedDict):
    id: str
    username: NotRequired[str]
    name: NotRequired[str]
    team_id: NotRequired[str]


class SelectedOption(TypedDict):
    value: str
    text: NotRequired[Block]


class BlockAction(TypedDict):
    """One element of `actions` in a block_actions payload."""

    type: str
    action_id: str
    block_id: str
    action_ts: NotRequired[str]
    value: NotRequired[str]
    selected_option: NotRequired[SelectedOption | None]


class Container(TypedDict):
    type: str
    message_ts: NotRequired[str]
    channel_id: NotRequired[str]
    thread_ts: NotRequired[str]


class BlockActionsPayload(TypedDict):
    """https://docs.slack.dev/reference/interaction-payloads/block_actions-payload"""

    type: Literal["block_actions"]
    user: UserRef
    team: IdRef | None
    container: Container
    channel: NotRequired[IdRef]
    message: NotRequired[dict[str, Any]]
    trigger_id: str
    response_url: NotRequired[str]
    actions: list[BlockAction]


class ShortcutMessage(TypedDict):
    ts: str
    text: NotRequired[str]
    user: NotRequired[str]
    thread_ts: NotRequired[str]


class MessageActionPayload(TypedDict):
    """A message shortcut. https://docs.slack.dev/reference/interaction-payloads/shortcuts-interaction-payload"""

    type: Literal["message_action"]
    callback_id: str
    trigger_id: str
    team: IdRef
    user: UserRef
    channel: IdRef
    message_ts: str
    message: ShortcutMessage
    response_url: str


class ViewState(TypedDict):
    # block_id -> action_id -> element state ({"type", "value" | "selected_option" | ...})
    values: dict[str, dict[str, dict[str, Any]]]


class SubmittedView(TypedDict):
    id: str
    callback_id: str
    private_metadata: str
    state: ViewState
    hash: NotRequired[str]


class ViewSubmissionPayload(TypedDict):
    """https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload#view_submission"""

    type: Literal["view_submission"]
    team: IdRef | None
    user: UserRef
    trigger_id: NotRequired[str]
    view: SubmittedView


class SlashCommandForm(TypedDict):
    """Form fields of a slash command. https://docs.slack.dev/interactivity/implementing-slash-commands"""

    team_id: str
    channel_id: str
    channel_name: NotRequired[str]
    user_id: str
    user_name: NotRequired[str]
    command: str
    text: str
    api_app_id: NotRequired[str]
    response_url: str
    trigger_id: str


# --- Socket Mode -----------------------------------------------------------------------------


class SocketEnvelope(TypedDict):
    """https://docs.slack.dev/apis/events-api/using-socket-mode#acknowledge"""

    envelope_id: str
    type: Literal["events_api", "interactive", "slash_commands"]
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: NotRequired[int]
    retry_reason: NotRequired[str]
