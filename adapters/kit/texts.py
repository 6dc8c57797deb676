"""Bilingual texts more than one chat channel says, and how a text becomes both languages."""

from __future__ import annotations

from core.i18n import LOCALES, Locale, Text

FAILED: dict[Locale, str] = {
    "en": "the server could not handle this message; please try again",
    "zh-CN": "服务器未能处理这条消息，请重试",
}
# for platforms that never send a message again (DingTalk's robot, WeCom's smart robot): the
# sender hears that a message whose commit failed is lost
NOT_RECORDED: dict[Locale, str] = {
    "zh-CN": "抱歉，这条消息没有记录下来（服务器出错），请稍后再发一次。",
    "en": "Sorry, this message was not recorded (a server error); please send it again later.",
}
UNKNOWN_TYPE: dict[Locale, str] = {"en": "unknown ticket type", "zh-CN": "未知的工单类型"}


def both(text: str) -> dict[Locale, str]:
    """Core's error messages come in the actor's language; show them as they are."""
    return dict.fromkeys(LOCALES, text)


def say(texts: dict[str, Text], text_id: str, /, **values: str) -> dict[Locale, str]:
    """`texts[text_id]` in both languages with `values` filled in (the outbox or the
    recipient's locale picks one)."""
    return {loc: texts[text_id].get(loc).format(**values) for loc in LOCALES}
