"""What the web chat says to a browser that sent something it cannot take, in both languages."""

from __future__ import annotations

from adapters.kit.texts import FAILED, UNKNOWN_TYPE
from core.i18n import Locale

__all__ = [
    "BINARY",
    "EMPTY_TEXT",
    "FAILED",
    "HELLO_FIRST",
    "UNKNOWN_PERSON_OR_ROOM",
    "UNKNOWN_TYPE",
    "comment_added",
]

BINARY: dict[Locale, str] = {
    "en": "binary frames are not accepted: send JSON text",
    "zh-CN": "不接受二进制消息帧：请发送 JSON 文本",
}
HELLO_FIRST: dict[Locale, str] = {
    "en": "say hello first: choose who you are and a room",
    "zh-CN": "请先发送 hello：选择你的身份和频道",
}
UNKNOWN_PERSON_OR_ROOM: dict[Locale, str] = {
    "en": "unknown person or room",
    "zh-CN": "未知的人员或频道",
}
EMPTY_TEXT: dict[Locale, str] = {"en": "text: must not be empty", "zh-CN": "text：不能为空"}


def comment_added(key: str) -> dict[Locale, str]:
    """The confirmation of a comment posted from a card."""
    return {"en": f"Comment added to {key}.", "zh-CN": f"已在 {key} 添加评论。"}
