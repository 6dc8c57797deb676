"""The Slack-only modals and notices: pick a ticket type, write a comment, and their wording.

Ticket forms themselves are rendered by adapters.slack.render; these are the small views around
them, which only make sense on Slack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from adapters.kit.texts import say as say_both
from adapters.slack.escape import clip
from adapters.slack.render import MODAL_TITLE_MAX, OPTION_TEXT_MAX, PRIVATE_METADATA_MAX, plain
from adapters.slack.types import INPUT_ACTION_ID, Block
from core.forms import TicketType
from core.i18n import Locale, Text

PICK_CALLBACK_ID = "tkt.pick_type"
COMMENT_CALLBACK_ID = "tkt.comment"
TYPE_BLOCK = "type"
BODY_BLOCK = "body"

TEXTS = {
    "pick.title": Text("New ticket", "新建工单"),
    "pick.label": Text("Ticket type", "工单类型"),
    "next": Text("Next", "下一步"),
    "cancel": Text("Cancel", "取消"),
    "comment.title": Text("Comment", "评论"),
    "comment.label": Text("Comment on {key}", "评论 {key}"),
    "send": Text("Send", "发送"),
    "opened": Text("Ticket {key} opened: {title}", "已创建工单 {key}：{title}"),
    "already": Text("This is already ticket {key}.", "这条消息已是工单 {key}。"),
    "unknown_type": Text(
        "Unknown ticket type; choose one of: {types}", "未知的工单类型，可选：{types}"
    ),
    "form_failed": Text(
        "Could not open the form ({error}); try /ticket again.",
        "无法打开表单（{error}），请重新输入 /ticket。",
    ),
}


def say(text_id: str, /, **values: str) -> dict[Locale, str]:
    """A Slack-only notice in both languages (the outbox picks the channel's one)."""
    return say_both(TEXTS, text_id, **values)


def metadata(**values: str | None) -> str:
    """private_metadata: where the modal came from, so its submission knows where to post."""
    text = json.dumps({k: v for k, v in values.items() if v is not None}, separators=(",", ":"))
    if len(text) > PRIVATE_METADATA_MAX:
        raise ValueError("private_metadata is longer than Slack allows")
    return text


def read_metadata(text: str) -> dict[str, str]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(data, Mapping):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def type_picker(types: Iterable[TicketType], locale: Locale, private_metadata: str) -> Block:
    """The first step of `/ticket`: choose a type; its form replaces this view on submit."""
    options = [{"text": plain(t.name.get(locale), OPTION_TEXT_MAX), "value": t.id} for t in types][
        :100
    ]
    element: Block = {
        "type": "static_select",
        "action_id": INPUT_ACTION_ID,
        "options": options,
        "initial_option": options[0],
    }
    label = TEXTS["pick.label"].get(locale)
    return _one_input_modal(
        PICK_CALLBACK_ID, "pick.title", "next", locale, private_metadata, TYPE_BLOCK, label, element
    )


def comment_modal(ticket_key: str, locale: Locale, private_metadata: str) -> Block:
    """What the Comment button opens: one multi-line text input."""
    label = TEXTS["comment.label"].get(locale).format(key=ticket_key)
    element: Block = {
        "type": "plain_text_input",
        "action_id": INPUT_ACTION_ID,
        "multiline": True,
        "max_length": 3000,
    }
    return _one_input_modal(
        COMMENT_CALLBACK_ID,
        "comment.title",
        "send",
        locale,
        private_metadata,
        BODY_BLOCK,
        label,
        element,
    )


def _one_input_modal(
    callback_id: str,
    title: str,
    submit: str,
    locale: Locale,
    private_metadata: str,
    block_id: str,
    label: str,
    element: Block,
) -> Block:
    """A modal holding one input; title and submit are TEXTS keys, Cancel closes it."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(TEXTS[title].get(locale), MODAL_TITLE_MAX),
        "submit": plain(TEXTS[submit].get(locale), MODAL_TITLE_MAX),
        "close": plain(TEXTS["cancel"].get(locale), MODAL_TITLE_MAX),
        "private_metadata": private_metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": block_id,
                "label": plain(clip(label, 2000), 2000),
                "element": element,
            }
        ],
    }
