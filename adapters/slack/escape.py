"""Slack mrkdwn escaping and the length limits Block Kit enforces.

Slack treats `<...>` as markup (mentions, `<!channel>`, links) and `&` as the start of an entity,
so user text must have exactly `&`, `<` and `>` escaped to stay inert:
https://docs.slack.dev/messaging/formatting-message-text#escaping
"""

from __future__ import annotations

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
ELLIPSIS = "…"


def escape_mrkdwn(text: str) -> str:
    """User text -> mrkdwn that shows literally (no pings, no links)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def unescape(text: str) -> str:
    """Slack's escaped message text -> what the user typed (`&amp;` last, so `&amp;lt;` stays `&lt;`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(text: str, limit: int) -> str:
    """Truncate plain text to `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def clip_mrkdwn(text: str, limit: int) -> str:
    """Escape user text and truncate it to `limit` characters without splitting an entity."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    budget = limit - len(ELLIPSIS)
    for ch in text:
        piece = _ESCAPES.get(ch, ch)
        if size + len(piece) > budget:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + ELLIPSIS
