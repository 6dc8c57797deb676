"""Raw RFC 5322 bytes -> ParsedMail: readable text in any charset real mailers send, never a crash.

Parsing uses `policy.compat32` on purpose: it keeps raw 8-bit header bytes (as surrogate
escapes) instead of guessing UTF-8, so we can try strict UTF-8 and then GB18030 ourselves.
"""

from __future__ import annotations

import email
import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime, unquote
from types import MappingProxyType

from adapters.email.bodytext import CONTROL_CHARS, clean_text, html_to_text, strip_quoted
from adapters.email.charsets import decode_bytes, decode_header_text, raw_8bit_to_str
from adapters.email.loop import DEFAULT_LOOP_HEADER, AutoKind, auto_kind
from adapters.email.threads import message_ids, normalize_message_id
from core.text import clean_text as replace_unstorable

__all__ = ["Attachment", "ParsedMail", "parse_mail", "strip_quoted"]

_EXT = {"message/rfc822": ".eml", "text/calendar": ".ics", "text/html": ".html"}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    data: bytes  # empty when the part was larger than the limit; `size` is still the real size

    @property
    def stored(self) -> bool:
        return len(self.data) == self.size


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_addr: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    text: str
    attachments: tuple[Attachment, ...]
    headers: Mapping[str, str]
    auto: AutoKind | None
    dedupe_key: str


def parse_mail(
    raw: bytes,
    *,
    max_attachment_bytes: int = 10 * 2**20,
    envelope_from: str | None = None,
    our_loop_header: str = DEFAULT_LOOP_HEADER,
    our_addresses: Collection[str] = (),
) -> ParsedMail:
    """Parse one mail. The keyword arguments after the size limit feed `auto_kind`."""
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    headers = _headers(msg)
    from_name, from_addr = _sender(msg)
    bodies: list[Message] = []
    files: list[Message] = []
    _collect(msg, bodies, files)
    mid = normalize_message_id(headers.get("message-id"))
    return ParsedMail(
        message_id=mid,
        in_reply_to=message_ids(headers.get("in-reply-to")),
        references=message_ids(headers.get("references")),
        subject=_one_line(headers.get("subject", "")),
        from_addr=from_addr,
        from_name=from_name,
        to=_addresses(msg, "to"),
        cc=_addresses(msg, "cc"),
        date=_date(headers.get("date")),
        text=_body_text(bodies),
        attachments=tuple(_attachment(p, i, max_attachment_bytes) for i, p in enumerate(files, 1)),
        headers=MappingProxyType(headers),
        auto=auto_kind(
            headers,
            from_addr=from_addr,
            envelope_from=envelope_from,
            our_loop_header=our_loop_header,
            our_addresses=our_addresses,
            part_types={p.get_content_type() for p in msg.walk()},
        ),
        dedupe_key=mid or "sha256:" + hashlib.sha256(raw).hexdigest(),
    )


def _headers(msg: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in msg.raw_items():
        key = name.strip().lower()
        if key not in out:
            out[key] = decode_header_text(str(value)).strip()
    return out


def _one_line(text: str) -> str:
    return " ".join(replace_unstorable(CONTROL_CHARS.sub("", text)).split())


def _raw_header(msg: Message, name: str) -> list[str]:
    return [
        raw_8bit_to_str(re.sub(r"\r?\n(?=[ \t])", "", str(v)))
        for k, v in msg.raw_items()
        if k.lower() == name
    ]


def _sender(msg: Message) -> tuple[str, str]:
    for name in ("from", "sender"):
        for display, address in getaddresses(_raw_header(msg, name)):
            if address or display:
                return _one_line(decode_header_text(display)), address.strip().lower()
    return "", ""


def _addresses(msg: Message, name: str) -> tuple[str, ...]:
    pairs = getaddresses(_raw_header(msg, name))
    return tuple(dict.fromkeys(a.strip().lower() for _, a in pairs if "@" in a))


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- MIME structure --------------------------------------------------------------------


def _collect(part: Message, bodies: list[Message], files: list[Message]) -> None:
    """Sort leaf parts into body text and attachments, honouring alternatives and reports."""
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "message/global"):
        files.append(part)
        return
    if ctype.startswith("message/") or ctype == "text/rfc822-headers":
        return  # machine-readable report parts; loop.parse_bounce reads them
    if not part.is_multipart():
        if ctype.startswith("multipart/"):  # no usable boundary: the parser left plain text
            bodies.append(part)
        elif _is_attachment(part):
            files.append(part)
        elif ctype in ("text/plain", "text/html"):
            bodies.append(part)
        return
    children = [c for c in part.get_payload() if isinstance(c, Message)]
    if ctype == "multipart/alternative" and children:
        best = _best_alternative(children)
        for child in children:
            _collect(child, bodies if child is best else [], files)
        return
    if ctype == "multipart/signed" and children:
        children = children[:1]
    for child in children:
        _collect(child, bodies, files)


def _best_alternative(children: list[Message]) -> Message:
    for child in children:
        if child.get_content_type() == "text/plain" and not _is_attachment(child):
            payload = child.get_payload(decode=True)
            if isinstance(payload, bytes) and payload.strip():
                return child
    return children[-1]


def _is_attachment(part: Message) -> bool:
    disposition = part.get_content_disposition()
    if disposition == "attachment":
        return True
    if part.get_content_type() in ("text/plain", "text/html"):
        return disposition != "inline" and _filename(part) is not None
    return True


def _filename(part: Message) -> str | None:
    for name, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = _param(part, name, header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, value as latin-1 text)
            text = decode_bytes(value[2].encode("latin-1", "surrogateescape"), value[0] or None)
        else:
            text = decode_header_text(unquote(value))
        clean = CONTROL_CHARS.sub("", text).replace("/", "_").replace("\\", "_").strip()
        if clean:
            return clean
    return None


def _param(
    part: Message, name: str, header: str
) -> str | tuple[str | None, str | None, str] | None:
    raw = _raw_header(part, header)
    if not raw:
        return None
    # Reading the header through `part` would replace raw 8-bit bytes with U+FFFD; parse
    # the parameters from the already-decoded value instead.
    holder = Message()
    holder[header] = raw[0]
    value = holder.get_param(name, header=header)
    return value if isinstance(value, str | tuple) else None


def _attachment(part: Message, index: int, limit: int) -> Attachment:
    ctype = part.get_content_type()
    if part.is_multipart():  # an attached message/rfc822: keep its source
        data = _message_source(part.get_payload(0))
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    name = _filename(part) or f"attachment-{index}{_EXT.get(ctype, '.bin')}"
    size = len(data)
    return Attachment(name, ctype, size, data if size <= limit else b"")


def _message_source(inner: object) -> bytes:
    if not isinstance(inner, Message):
        return b""
    try:
        return inner.as_bytes(policy=policy.compat32)
    except (ValueError, LookupError, UnicodeError):  # a mangled inner header must not sink the mail
        return b""


def _body_text(bodies: list[Message]) -> str:
    texts: list[str] = []
    for part in bodies:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        text = decode_bytes(payload, part.get_content_charset())
        if part.get_content_type() == "text/html":
            text = html_to_text(text)
        texts.append(text)
    return replace_unstorable(clean_text("\n\n".join(texts)))
