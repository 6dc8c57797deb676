"""core Card → DingTalk: the generic card template's cardParamMap, or a markdown/actionCard
message when no template is configured.

The template (deploy/dingtalk/gongdan-card.json) is the same for every card kind: the service
fills title, key, status, colour, the fields and the actions. Every value is a string, as the
card API requires; lists travel as JSON strings, which the template's loops read. Each button's
callback params are {"action": "<core action id>", "ticket": "<key>"}.

The template has buttons only, no select or text box, so an action that needs a choice
(Reassign: whom; Priority: which) is a button with `"menu": "open"`: pressing it shows that
person alone (the card's private data) a `menu` of one button per choice, whose params carry the
choice as `"value"`, and a Cancel button (`"menu": "close"`). Comment asks the person to reply
quoting the card (intake.py).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from adapters.kit.wire import compact_json
from core.card import ActionKind, Card, CardAction, CardKind, Colour
from core.workflow import Action

# the template's colour names (its status tag), from core's status colours
COLOURS: dict[Colour, str] = {
    Colour.GREY: "gray",
    Colour.BLUE: "blue",
    Colour.INDIGO: "purple",
    Colour.ORANGE: "orange",
    Colour.YELLOW: "yellow",
    Colour.GREEN: "green",
    Colour.RED: "red",
}
_MARKDOWN = re.compile(r"([\\`*_\[\]()#>!|~])")


def out_track_id(ticket_key: str, audience: str, notice: str = "") -> str:
    """The card instance of one ticket in one conversation: the same on every retry, so a
    repeated createAndDeliver changes nothing. A reminder or escalation (`notice`: what it
    says) is a card of its own, so the next one to the same person is seen, not folded into
    a card that already exists."""
    seed = f"{ticket_key}\x00{audience}" + (f"\x00{notice}" if notice else "")
    digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
    return f"gongdan-{ticket_key}-{digest}"


def notice_of(card: Card) -> str:
    """Which reminder or escalation a card carries (empty for a ticket's own card): its
    notice's key, the same on every retry of its delivery and different for the next one."""
    return card.notice_key if card.kind != CardKind.TICKET else ""


CANCEL = {"zh-CN": "取消", "en": "Cancel"}
MENU_CLOSED = {"menu": "[]"}  # a person's private data once their menu is closed


def card_params(card: Card, page_url: str = "", *, buttons: bool = True) -> dict[str, str]:
    """The template's cardParamMap for `card` (all strings); without `buttons` the card shows
    none (a press could not reach the service), only the link to its page."""
    actions = [_button(card, a) for a in card.actions if buttons]
    fields = [{"label": f.label, "value": f.value} for f in card.fields]
    return {
        "kind": str(card.kind),
        "key": card.ticket_key,
        "title": card.title,
        "status": card.status_label,
        "status_colour": COLOURS.get(card.colour, "gray"),
        "body": escape(card.body),  # shown by a markdown component: user text kept inert
        "fields": compact_json(fields),
        "actions": compact_json(actions),
        **MENU_CLOSED,
        "version": str(card.version),
        "locale": card.locale,
        "page_url": page_url,
    }


def menu_params(card: Card, action: Action) -> dict[str, str] | None:
    """The private data that opens `action`'s menu on `card` for one person: a button per
    choice, then Cancel; None when the card offers no such choice (any more)."""
    offered = next((a for a in card.actions if a.id == action and a.options), None)
    if offered is None:
        return None
    choices = [
        {"id": value, "label": label, "style": "default", "params": _params(card, action, value)}
        for value, label in offered.options
    ]
    close = _params(card, action) | {"menu": "close"}
    choices.append(
        {"id": "close", "label": CANCEL[card.locale], "style": "default", "params": close}
    )
    return {"menu": compact_json(choices)}


def _button(card: Card, action: CardAction) -> dict[str, Any]:
    params = _params(card, action.id)
    if action.kind in (ActionKind.PERSON_SELECT, ActionKind.SELECT):
        params["menu"] = "open"
    return {
        "id": str(action.id),
        "label": action.label,
        "style": str(action.style),
        "params": params,
    }


def _params(card: Card, action: Any, value: str = "") -> dict[str, str]:
    params = {"action": str(action), "ticket": card.ticket_key}
    if value:
        params["value"] = value
    return params


def escape(text: str) -> str:
    """User text kept inert in DingTalk markdown."""
    return _MARKDOWN.sub(r"\\\1", text).replace("<", "&lt;")


def card_markdown(card: Card) -> tuple[str, str]:
    """(title, markdown text) of a card, for a message when no template is configured."""
    lines = [f"### {escape(card.ticket_key)} {escape(card.title)}", ""]
    lines.append(f"**{escape(card.status_label)}**")
    lines += [f"- {escape(f.label)}: {escape(f.value)}" for f in card.fields]
    if card.body:
        lines += ["", escape(card.body)]
    return f"{card.ticket_key} {card.title}"[:64], "\n".join(lines)


def action_card(card: Card, page_url: str) -> dict[str, str]:
    """msgParam of a sampleActionCard: the card as markdown and one button opening its page."""
    title, text = card_markdown(card)
    label = "在网页中处理" if card.locale == "zh-CN" else "Open in the browser"
    return {"title": title, "text": text, "singleTitle": label, "singleURL": page_url}
