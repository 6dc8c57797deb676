"""Card -> mail body: plain text and a simple HTML alternative, every value escaped.

Mail cannot carry buttons, so actions are not shown; the text tells the reader to answer the
mail instead, which threads back onto the ticket.
"""

from __future__ import annotations

import html

from core.card import Card
from core.i18n import Locale

_COLOUR = {
    "grey": "#6b7280",
    "blue": "#2563eb",
    "indigo": "#4f46e5",
    "orange": "#ea580c",
    "yellow": "#ca8a04",
    "green": "#16a34a",
    "red": "#dc2626",
}

_REPLY_HINT: dict[Locale, str] = {
    "en": "Reply to this mail to add a comment to the ticket.",
    "zh-CN": "直接回复本邮件即可为工单添加评论。",
}


def card_text(card: Card, lead: str = "", link: str | None = None) -> str:
    lines = [lead, ""] if lead else []
    lines.append(card.heading)
    lines.append("")
    lines += [f"{f.label}: {f.value}" for f in card.fields]
    if card.body:
        lines += ["", card.body]
    source = card.source
    if source is not None:
        lines += ["", f"{source.before}{source.text}{source.after} <{source.url}>"]
    if link:
        lines += ["", link]
    lines += ["", "-- ", _REPLY_HINT[card.locale]]
    return "\n".join(lines) + "\n"


def card_html(card: Card, lead: str = "", link: str | None = None) -> str:
    e = html.escape
    colour = _COLOUR.get(card.colour.value, "#6b7280")
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(f.label)}</th>'
        f"<td>{e(f.value)}</td></tr>"
        for f in card.fields
    )
    parts = ['<html><body style="font-family:sans-serif">']
    if lead:
        parts.append(f"<p>{_paragraphs(lead)}</p>")
    parts.append(
        f'<div style="border-left:4px solid {colour};padding:4px 12px">'
        f'<h3 style="margin:4px 0">{e(card.heading)}</h3><table>{rows}</table>'
    )
    if card.body:
        parts.append(f"<p>{_paragraphs(card.body)}</p>")
    source = card.source
    if source is not None:
        anchor = f'<a href="{e(source.url, quote=True)}">{e(source.text)}</a>'
        parts.append(
            f'<p style="color:#6b7280;font-size:small">{e(source.before)}{anchor}{e(source.after)}</p>'
        )
    parts.append("</div>")
    if link:
        parts.append(f'<p><a href="{e(link, quote=True)}">{e(link)}</a></p>')
    parts.append(f'<p style="color:#6b7280">{e(_REPLY_HINT[card.locale])}</p></body></html>')
    return "".join(parts)


def text_html(text: str) -> str:
    return f'<html><body style="font-family:sans-serif"><p>{_paragraphs(text)}</p></body></html>'


def _paragraphs(text: str) -> str:
    return html.escape(text).replace("\n", "<br>\n")
