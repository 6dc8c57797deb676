"""Slack message permalinks, built from the workspace URL auth.test returned (no API call).

chat.getPermalink answers `https://acme.slack.com/archives/C1H9RESGA/p135854651500008` for a
message, and adds `?thread_ts=<parent ts>&cid=<channel>` for a reply in a thread:
https://docs.slack.dev/reference/methods/chat.getPermalink
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_CONVERSATION = re.compile(r"[A-Z0-9]+")
_TS = re.compile(r"[0-9]+\.[0-9]+")


def permalink(
    workspace_url: str | None, channel: str | None, ts: str | None, thread_ts: str | None = None
) -> str | None:
    """The link that opens message `ts` of `channel` in Slack; None when something is missing.

    `thread_ts` is the thread the message is in: a reply (thread_ts differs from ts) gets the
    thread parameters, a top-level message or a thread's parent does not.
    """
    base = _workspace(workspace_url)
    if base is None or not channel or not ts:
        return None
    if not _CONVERSATION.fullmatch(channel) or not _TS.fullmatch(ts):
        return None
    link = f"{base}archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts and _TS.fullmatch(thread_ts):
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


def _workspace(url: str | None) -> str | None:
    """auth.test's `url` ("https://acme.slack.com/"), with its trailing slash, if it is one."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
        return None
    return url if url.endswith("/") else url + "/"
