"""HTTP mode: DingTalk POSTs each robot message to us, signed with the app secret.

The body is the JSON a Stream callback carries as its data (parsed by inbound.py). The headers
`timestamp` (ms) and `sign` = base64(HmacSHA256(key=appSecret, f"{timestamp}\\n{appSecret}"))
prove it comes from DingTalk; a timestamp more than an hour from our clock is refused, as
DingTalk's robot documentation says to.

The signature covers the timestamp only, not the body, so a captured pair could carry another
body within the hour. The replay guard binds each signed timestamp to the conversation and
sender of the first message that carried it: the same pair speaking for someone else, or
somewhere else, is refused. (Nobody sends two messages in one millisecond; two people's messages
signed in the same millisecond would be told apart by their sender.) The same message again
passes: the inbox dedupes its msgId.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from adapters.kit.callbacks import CallbackRejected

WINDOW_MS = 3_600_000  # DingTalk: "timestamp 与系统当前时间戳如果相差1小时以上，则认为是非法的请求"
MAX_BODY = 256 * 1024  # a robot message is a few KB; rich text with many pictures stays far below
SEEN_CAP = 100_000


def sign(secret: str, timestamp: str) -> str:
    """DingTalk's signature of a timestamp (the same as its custom robots' `sign`)."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class CallbackVerifier:
    """Checks the signature and time of DingTalk's robot callbacks for one app."""

    def __init__(self, secret: str, window_ms: int = WINDOW_MS) -> None:
        self._secret = secret
        self._window_ms = window_ms
        self._seen: OrderedDict[str, tuple[tuple[str, str], float]] = OrderedDict()

    def open(self, headers: Mapping[str, str], body: bytes, now_ms: float) -> dict[str, Any]:
        """The callback's JSON object, once its headers prove it is DingTalk's and recent."""
        timestamp = self._verified(headers, now_ms)
        if len(body) > MAX_BODY:
            raise CallbackRejected(400, f"the body is over {MAX_BODY} bytes")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise CallbackRejected(400, f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise CallbackRejected(400, "the body is not a JSON object")
        speaker = (str(data.get("conversationId", "")), str(data.get("senderStaffId", "")))
        self._remember(timestamp, speaker, now_ms)
        return data

    def _verified(self, headers: Mapping[str, str], now_ms: float) -> str:
        timestamp, given = headers.get("timestamp", ""), headers.get("sign", "")
        missing = [name for name, value in (("timestamp", timestamp), ("sign", given)) if not value]
        if missing:
            raise CallbackRejected(401, f"missing header(s): {', '.join(missing)}")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
            raise CallbackRejected(401, "the timestamp header is not a time in milliseconds")
        expected = sign(self._secret, timestamp).encode()
        if not hmac.compare_digest(expected, unquote(given).encode()):
            raise CallbackRejected(
                401,
                "the sign header does not match (checked with channels.dingtalk.client_secret: "
                "is it the app's Client Secret?)",
            )
        if abs(now_ms - int(timestamp)) > self._window_ms:
            raise CallbackRejected(401, "the timestamp is more than an hour from our clock")
        return timestamp

    def _remember(self, timestamp: str, speaker: tuple[str, str], now_ms: float) -> None:
        while self._seen:
            _, (_, seen_at) = next(iter(self._seen.items()))
            if now_ms - seen_at <= 2 * self._window_ms and len(self._seen) < SEEN_CAP:
                break
            self._seen.popitem(last=False)
        seen = self._seen.get(timestamp)
        if seen is not None and seen[0] != speaker:
            raise CallbackRejected(
                401, "this timestamp and sign already came with another sender or chat (replay)"
            )
        if seen is None:
            self._seen[timestamp] = (speaker, now_ms)
