"""What a chat message is: a command, chatter, a follow-up, a comment on a named ticket, or a
new ticket. Pure: the channel (through the chat kit) gives the message and a small view of
recent state; nothing here reads storage, so a room with 1,000 open tickets costs the same as
an empty one.

The order of the rules is the order a person would expect: a command is always a command; a
reply in a card's thread (or a quote of the card, or a reply to its mail) belongs to that card;
thanks and emoji never open or extend anything; a message naming a ticket key comments on it;
a message right after one's own new ticket adds to it; anything else opens a ticket.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from core.i18n import Locale

DEFAULT_FOLLOW_UP_WINDOW = timedelta(minutes=5)

# What counts as small talk, per language; compared after normalising (case, width, the
# punctuation and particles people add: "谢谢！", "OK.", "好的呀"). Config: conversation.chatter.
DEFAULT_CHATTER: Mapping[Locale, tuple[str, ...]] = {
    "zh-CN": (
        "谢谢", "谢谢你", "多谢", "感谢", "谢了", "好的", "好", "好滴", "收到", "知道了", "明白",
        "明白了", "嗯", "嗯嗯", "哦", "哦哦", "行", "可以", "没问题", "辛苦了", "辛苦", "早",
        "早上好", "你好", "您好", "在吗", "再见", "拜拜", "ok", "好的谢谢", "收到谢谢",
    ),
    "en": (
        "thanks", "thank you", "thx", "ty", "ok", "okay", "k", "got it", "cool", "great",
        "nice", "sure", "yes", "no", "hi", "hello", "hey", "bye", "good morning", "np",
        "no problem", "thanks a lot", "many thanks", "noted", "will do", "lol",
    ),
}  # fmt: skip

# trailing or leading noise that does not change what a short message means
_STRIP = " \t\r\n.,!?~。，！？～…、:;：；'\"“”‘’()（）[]【】-—_*"
_PARTICLES = ("呀", "啊", "哈", "啦", "哈哈", "哦", "嘛", "了")


class Kind(StrEnum):
    COMMAND = "command"
    CHATTER = "chatter"  # small talk: nothing happens
    IGNORE = "ignore"  # not addressed to the bot (a group room, no mention)
    CARD_REPLY = "card_reply"  # a thread reply, a quote of the card, a reply to its mail
    KEY_MENTION = "key_mention"  # names a ticket key: a comment on it
    FOLLOW_UP = "follow_up"  # the same person, soon after opening a ticket here
    NEW_TICKET = "new_ticket"


class CommandName(StrEnum):
    NEW = "new"
    MINE = "mine"
    QUEUE = "queue"
    STATUS = "status"
    CLOSE = "close"
    NOTE = "note"
    HELP = "help"


# every name a person may type, zh-CN aliases included; the canonical name is what /help shows
_ALIASES: dict[str, CommandName] = {
    "new": CommandName.NEW,
    "新建": CommandName.NEW,
    "mine": CommandName.MINE,
    "我的": CommandName.MINE,
    "queue": CommandName.QUEUE,
    "队列": CommandName.QUEUE,
    "status": CommandName.STATUS,
    "状态": CommandName.STATUS,
    "close": CommandName.CLOSE,
    "关闭": CommandName.CLOSE,
    "note": CommandName.NOTE,
    "备注": CommandName.NOTE,
    "help": CommandName.HELP,
    "帮助": CommandName.HELP,
    "?": CommandName.HELP,
}
# commands that need a ticket key; /note also needs text after it
_NEEDS_KEY = frozenset({CommandName.STATUS, CommandName.CLOSE, CommandName.NOTE})


@dataclass(frozen=True)
class ChatCommand:
    name: CommandName
    key: str | None = None  # /status, /close, /note
    type_id: str | None = None  # /new [type]
    text: str = ""  # /note's text
    # why this became /help: the unknown command typed ("/list"), or the command whose
    # arguments were missing ("status"); empty for a plain /help
    unknown: str = ""
    usage_of: CommandName | None = None


@dataclass(frozen=True)
class ChatMessage:
    text: str
    sender_id: str
    conversation: str
    at: datetime
    mentions_bot: bool = False
    # the ticket whose card this message answers: a thread reply (Slack), a quote (DingTalk,
    # WeCom), a reply to its mail; the channel resolves it before asking
    card_key: str | None = None


@dataclass(frozen=True)
class RecentTicket:
    """This sender's last ticket opened in this conversation."""

    key: str
    opened_at: datetime
    # the sender was already told that their follow-ups go to this ticket
    told: bool = False


@dataclass(frozen=True)
class ConversationView:
    last_opened: RecentTicket | None = None
    prefixes: frozenset[str] = frozenset()
    # a help-desk room files every message; elsewhere only messages that mention the bot
    help_desk: bool = True


@dataclass(frozen=True)
class ConversationRules:
    chatter: frozenset[str] = field(
        default_factory=lambda: normalised_chatter(DEFAULT_CHATTER.values())
    )
    follow_up_window: timedelta = DEFAULT_FOLLOW_UP_WINDOW

    @classmethod
    def of(
        cls,
        chatter: Mapping[str, Iterable[str]] | None = None,
        follow_up_window: timedelta = DEFAULT_FOLLOW_UP_WINDOW,
    ) -> ConversationRules:
        """Rules from configuration: chatter lists per language (None: the defaults)."""
        lists = DEFAULT_CHATTER.values() if chatter is None else chatter.values()
        return cls(normalised_chatter(lists), follow_up_window)


@dataclass(frozen=True)
class Classification:
    kind: Kind
    command: ChatCommand | None = None
    ticket_key: str | None = None  # the ticket a comment goes to
    body: str = ""  # the text to store (a comment's body, a new ticket's description)
    # a follow-up the sender has not been told about yet: say once, quietly, where it went
    tell: bool = False


def normalised_chatter(lists: Iterable[Iterable[str]]) -> frozenset[str]:
    return frozenset(n for words in lists for w in words if (n := normalise(w)))


def normalise(text: str) -> str:
    """Case, width and decoration folded away: "ＯＫ！" and "ok" compare equal."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip(_STRIP)
    folded = " ".join(folded.split())
    for particle in _PARTICLES:
        if len(folded) > len(particle) and folded.endswith(particle):
            folded = folded[: -len(particle)].strip(_STRIP)
            break
    return folded


def classify(
    message: ChatMessage, view: ConversationView, rules: ConversationRules
) -> Classification:
    text = message.text.strip()
    command = parse_command(text)
    if command is not None:
        return Classification(Kind.COMMAND, command=command)
    if message.card_key is not None:
        return Classification(Kind.CARD_REPLY, ticket_key=message.card_key, body=text)
    if not view.help_desk and not message.mentions_bot:
        return Classification(Kind.IGNORE)
    if is_chatter(text, rules):
        return Classification(Kind.CHATTER)
    found = _key_pattern(view.prefixes).search(text) if view.prefixes else None
    if found is not None:
        key = f"{found.group(1).upper()}-{found.group(2)}"
        rest = (text[: found.start()] + text[found.end() :]).strip(_STRIP)
        if not rest:  # a bare key: the person wants to see it
            return Classification(Kind.COMMAND, command=ChatCommand(CommandName.STATUS, key=key))
        return Classification(Kind.KEY_MENTION, ticket_key=key, body=text)
    last = view.last_opened
    if last is not None and timedelta(0) <= message.at - last.opened_at <= rules.follow_up_window:
        return Classification(Kind.FOLLOW_UP, ticket_key=last.key, body=text, tell=not last.told)
    return Classification(Kind.NEW_TICKET, body=text)


def is_chatter(text: str, rules: ConversationRules) -> bool:
    if not any(ch.isalnum() for ch in text):
        return True  # emoji, punctuation or nothing at all: 👍, 🙏🏻, "...", "？"
    return normalise(text) in rules.chatter


def parse_command(text: str) -> ChatCommand | None:
    """A slash command ("/status IT-1001", "／帮助"), or None for anything else."""
    if not text or text[0] not in "/／":
        return None
    if len(text) < 2 or text[1].isspace():
        return None  # a lone slash, or "/ 打印机坏了", is not a command
    head, rest = _split(text[1:])
    name = _ALIASES.get(head.casefold())
    if name is None:
        return ChatCommand(CommandName.HELP, unknown="/" + head)
    if name is CommandName.NEW:
        return ChatCommand(name, type_id=rest.split()[0] if rest else None)
    if name not in _NEEDS_KEY:
        return ChatCommand(name)
    key_text, after = _split(rest)
    key = key_text.upper()
    if not _KEY_SHAPE.fullmatch(key) or (name is CommandName.NOTE and not after):
        return ChatCommand(CommandName.HELP, usage_of=name)
    return ChatCommand(name, key=key, text=after)


def _split(text: str) -> tuple[str, str]:
    """The first word and the rest, split at any whitespace (a tab, a full-width space)."""
    parts = text.split(maxsplit=1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else (text.strip(), "")


_KEY_SHAPE = re.compile(r"[A-Z][A-Z0-9_]*-\d{1,12}")


def mentioned_key(text: str, prefixes: frozenset[str]) -> str | None:
    """The first ticket key with a known prefix the text names ("it-1001" counts)."""
    if not prefixes:
        return None
    found = _key_pattern(prefixes).search(text)
    return f"{found.group(1).upper()}-{found.group(2)}" if found else None


@lru_cache(maxsize=32)
def _key_pattern(prefixes: frozenset[str]) -> re.Pattern[str]:
    # not \b: in "IT-1001还是没修好" the key touches a Chinese character, which \w also matches
    names = "|".join(sorted((re.escape(p) for p in prefixes), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])({names})-(\d{{1,12}})(?!\d)", re.IGNORECASE)
