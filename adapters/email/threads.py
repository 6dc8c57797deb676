"""Which ticket a mail belongs to: Message-IDs we issued, then the subject tag, never bare subjects.

Matching order (the caller applies it): first any ID from `referenced_ids` that
`ticket_key_from_message_id` recognises, then `ticket_key_from_subject`. Outlook and
some mobile clients drop References, which is why the subject tag is the fallback.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from typing import Protocol


class Threaded(Protocol):
    """What threading reads of a parsed mail (adapters.email.parse.ParsedMail): its parents.
    A protocol, so this module needs nothing from the parser (which needs it)."""

    @property
    def in_reply_to(self) -> tuple[str, ...]: ...

    @property
    def references(self) -> tuple[str, ...]: ...


_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_BARE_ID = re.compile(r"[^\s<>()\"',;]+@[^\s<>()\"',;]+")

# Reply/forward markers seen in the wild: English, German (AW/WG), Nordic (SV/VS), Dutch
# (Antw), and Chinese clients (Foxmail, Tencent Exmail, NetEase, Outlook zh-CN/zh-TW).
_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|fw|aw|wg|sv|vs|antw|回复|回覆|答复|答覆|转发|轉寄|转寄|轉發)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)
_TAG = re.compile(r"[\[【〔]\s*([A-Za-z][A-Za-z0-9]{0,9})-(\d{1,12})\s*[\]】〕]")
_KEY = re.compile(r"[A-Z][A-Z0-9]{0,9}-\d{1,12}")
_ID_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_MAX_REFERENCES = 20


def message_ids(value: str | None) -> tuple[str, ...]:
    """Every Message-ID in a header value, normalised to `<id>`, in order, without repeats."""
    if not value:
        return ()
    found = _ANGLE_ID.findall(value) or _BARE_ID.findall(value)
    return tuple(dict.fromkeys(f"<{mid}>" for mid in found))


def normalize_message_id(value: str | None) -> str | None:
    ids = message_ids(value)
    return ids[0] if ids else None


def strip_reply_prefixes(subject: str) -> str:
    """Drop any number of Re:/Fwd:/回复：… prefixes (a subject may carry several)."""
    text = subject
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            return text.strip()
        text = stripped


def ticket_key_from_subject(subject: str, prefixes: Collection[str]) -> str | None:
    """The first `[IT-1042]`/`【IT-1042】`/`［IT-1042］` tag whose prefix is one of ours."""
    known = {p.upper() for p in prefixes}
    # NFKC folds full-width brackets, letters and digits (［ＩＴ－１０４２］) to ASCII.
    text = unicodedata.normalize("NFKC", strip_reply_prefixes(subject))
    for match in _TAG.finditer(text):
        prefix = match.group(1).upper()
        if prefix in known:
            return f"{prefix}-{int(match.group(2))}"
    return None


def referenced_ids(parsed: Threaded) -> tuple[str, ...]:
    """In-Reply-To first, then References newest first: the likeliest parent comes first."""
    ordered = (*parsed.in_reply_to, *reversed(parsed.references))
    return tuple(dict.fromkeys(ordered))


def our_message_id(ticket_key: str, unique: str, domain: str) -> str:
    """`<IT-1042.{unique}@{domain}>`: the key rides in the ID so replies thread without a lookup."""
    if not _KEY.fullmatch(ticket_key):
        raise ValueError(f"ticket key {ticket_key!r} is not like IT-1042")
    if not _ID_PART.fullmatch(unique) or not _ID_PART.fullmatch(domain):
        raise ValueError("unique part and domain must be dot-atoms (no spaces, @, < or >)")
    return f"<{ticket_key}.{unique}@{domain}>"


def ticket_key_from_message_id(mid: str, domain: str) -> str | None:
    """The ticket key inside a Message-ID we issued for `domain`, else None."""
    ident = normalize_message_id(mid)
    if ident is None:
        return None
    local, _, host = ident[1:-1].rpartition("@")
    if host.lower() != domain.lower():
        return None
    key, dot, unique = local.partition(".")
    key = key.upper()
    if not dot or not unique or not _KEY.fullmatch(key):
        return None
    prefix, _, number = key.partition("-")
    return f"{prefix}-{int(number)}"


def reply_headers(parent_ids: Sequence[str]) -> dict[str, str]:
    """In-Reply-To and References for a mail answering the last of `parent_ids` (oldest first).

    Long threads keep the root and the newest IDs (RFC 5322 §3.6.4 allows trimming) so the
    header stays well under line limits.
    """
    ids = list(dict.fromkeys(mid for value in parent_ids for mid in message_ids(value)))
    if not ids:
        return {}
    if len(ids) > _MAX_REFERENCES:
        ids = [ids[0], *ids[-(_MAX_REFERENCES - 1) :]]
    return {"In-Reply-To": ids[-1], "References": " ".join(ids)}


def subject_with_tag(key: str, subject: str) -> str:
    """`[IT-1042] subject`, leaving a subject that already carries this key's tag alone."""
    clean = " ".join(subject.split())
    prefix = key.partition("-")[0]
    if ticket_key_from_subject(clean, [prefix]) == key:
        return clean
    return f"[{key}] {clean}".rstrip()
