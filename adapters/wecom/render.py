"""core.Card -> WeCom template card (`button_interaction`), markdown and one-line notices.

Pure functions. Template cards show text literally (no markup), so user text is only clipped;
markdown (webhooks, robot notices) escapes the characters WeCom's markdown reads.
https://developer.work.weixin.qq.com/document/path/90236 (template_card)
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from adapters.contract import DeliveryError
from adapters.wecom.inbound import ASSIGNEE_QUESTION, event_key
from core.card import ActionKind, Card, CardAction, Style
from core.i18n import Locale, Text, t
from core.workflow import Action

MAX_BUTTONS = 6
MAX_FIELDS = 6
TITLE_MAX = 36
DESC_MAX = 44
SUB_TITLE_MAX = 112
KEYNAME_MAX = 10
VALUE_MAX = 30
BUTTON_TEXT_MAX = 10
MAX_OPTIONS = 10  # a button_selection's option_list
OPTION_TEXT_MAX = 16
MARKDOWN_MAX = 4000  # webhooks take 4096 bytes of markdown; robot markdown is larger
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#])")
_ASIDE = re.compile(r"\s*[(（][^()（）]*[)）]$")
# actions that need input (a person, a priority, a comment) are done on another channel or
# the web; a template card button carries no value of its own. The smart robot's cards are the
# exception for a person: a button_interaction card may carry one dropdown (`button_selection`),
# sent back with whichever button is pressed — so Assign gets it, and priority stays off.
_NEEDS_INPUT = {Action.ASSIGN, Action.SET_PRIORITY, Action.COMMENT}

TEXTS = {
    "fresh": Text(
        "This card can no longer be updated; here is its current state.",
        "原卡片已无法更新，以下是工单的最新状态。",
    ),
    "status": Text("{key} is now {status} — {title}", "{key} 当前状态：{status} — {title}"),
    "status_with": Text(
        "{key} is now {status}, handled by {who} — {title}",
        "{key} 当前状态：{status}，处理人：{who} — {title}",
    ),
    "welcome": Text(
        "Hello! To raise a ticket, just tell me what is wrong — in a group, @mention me with "
        "the problem, e.g. “@{bot} the projector in room 3 is off”. I answer with a card you can "
        "act on.",
        "你好！需要报修或提工单时，直接把问题发给我即可；在群里请 @我 并描述问题，例如"
        "“@{bot} 三号会议室投影仪不亮”。我会回复一张可以操作的工单卡片。",
    ),
}


UNREADABLE: dict[Locale, str] = {
    "zh-CN": "暂时无法读取这类消息（例如视频），请用文字描述问题。",
    "en": "I can't read this kind of message (a video, say). Please tell me in words what is wrong.",
}


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compact(text: str, limit: int) -> str:
    """A row's label or value in `limit` characters: a trailing aside in brackets goes first
    ("SLA 截止（首次响应）" → "SLA 截止", "2026-01-05 13:00 (Asia/Shanghai)" → "2026-01-05
    13:00"), then the end is clipped."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = _ASIDE.sub("", text) or text
    return clip(text, limit)


def template_card(
    card: Card, task_id: str, *, note: str = "", choose: bool = False
) -> dict[str, Any]:
    """`choose`: offer Assign with a dropdown of people (the smart robot reads the choice)."""
    buttons = [
        {
            "text": clip(a.label, BUTTON_TEXT_MAX),
            "style": 1 if a.style == Style.PRIMARY else 2,
            "key": event_key(a.id, card.ticket_key, card.version),
        }
        for a in card.actions
        if a.kind == ActionKind.BUTTON and a.id not in _NEEDS_INPUT
    ]
    assign = next((a for a in card.actions if a.id == Action.ASSIGN and a.options), None)
    selection = _assignee_selection(assign) if choose and assign else None
    buttons = buttons[: MAX_BUTTONS - 1 if selection else MAX_BUTTONS]
    if selection and assign:
        key = event_key(Action.ASSIGN, card.ticket_key, card.version)
        buttons.append({"text": clip(assign.label, BUTTON_TEXT_MAX), "style": 2, "key": key})
    # the status is the title's desc: a row for it too would push priority or the SLA due
    # time off a card that has six rows at most
    status_row = _status_label(card.locale)
    fields = [
        {"keyname": compact(f.label, KEYNAME_MAX), "value": compact(f.value, VALUE_MAX)}
        for f in card.fields
        if f.label != status_row
    ]
    sub = " ".join(p for p in (note, card.body) if p)
    out: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {
            "title": clip(card.heading, TITLE_MAX),
            "desc": clip(card.status_label, DESC_MAX),
        },
        "horizontal_content_list": fields[:MAX_FIELDS],
        "task_id": task_id,
        "button_list": buttons,
    }
    if sub:
        out["sub_title_text"] = clip(sub, SUB_TITLE_MAX)
    if selection:
        out["button_selection"] = selection
    if not buttons:
        # an interactive card needs a button; a closed ticket's card shows its state only
        out["button_list"] = [
            {
                "text": clip(card.status_label, BUTTON_TEXT_MAX),
                "style": 2,
                "key": f"noop|{card.ticket_key}|{card.version}",
            }
        ]
    return out


def _assignee_selection(assign: CardAction) -> dict[str, Any]:
    """The dropdown of people an Assign click sends: the team, less whoever holds it now."""
    options = [{"id": pid, "text": clip(name, OPTION_TEXT_MAX)} for pid, name in assign.options][
        :MAX_OPTIONS
    ]
    return {
        "question_key": ASSIGNEE_QUESTION,
        "title": clip(assign.label, KEYNAME_MAX),
        "option_list": options,
    }


def markdown_card(card: Card, link: str) -> str:
    """A card as markdown, for group webhooks (no buttons: a link to the ticket instead)."""
    lines = [
        f"**{escape(card.heading)}**",
        f"> {escape(_status_label(card.locale))}: {escape(card.status_label)}",
    ]
    status_row = _status_label(card.locale)
    lines += [
        f"> {escape(f.label)}: {escape(f.value)}" for f in card.fields if f.label != status_row
    ]
    if link:
        lines.append(f"[{escape(card.ticket_key)}]({link})")
    return clip_markdown("\n".join(lines))


def status_line(card: Card, who: str | None = None) -> str:
    """One markdown line: the ticket's status now, and who handles it (`who`, when someone)."""
    text = TEXTS["status_with" if who else "status"].get(card.locale)
    return text.format(
        key=escape(card.ticket_key),
        status=escape(card.status_label),
        title=escape(clip(card.title, TITLE_MAX)),
        who=escape(who or ""),
    )


def escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def clip_markdown(text: str) -> str:
    data = text.encode()
    if len(data) <= MARKDOWN_MAX:
        return text
    return data[: MARKDOWN_MAX - 3].decode(errors="ignore") + "…"


def _status_label(locale: Locale) -> str:
    return t("field.status", locale)


def split_conversation(conversation: str | None) -> tuple[str, str]:
    conv = conversation or ""
    for kind in ("robot:group", "robot:single", "app", "hook"):
        if conv.startswith(kind + ":"):
            return kind, conv[len(kind) + 1 :]
    raise DeliveryError(f"not a WeCom conversation: {conv!r}", permanent=True)


def new_task_id(card: Card) -> str:
    """Unique per app and at most 128 characters (WeCom refuses a task_id used before)."""
    return f"{card.ticket_key}-{card.version}-{uuid.uuid4().hex[:12]}"


def markdown_message(text: str) -> dict[str, Any]:
    """A markdown message body (group-robot webhooks and the robot's proactive sends)."""
    return {"msgtype": "markdown", "markdown": {"content": text}}
