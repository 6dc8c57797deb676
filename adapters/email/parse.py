"""Raw RFC 5322 bytes -> ParsedMail: readable text in any charset real mailers send, never a crash.

Parsing uses `policy.compat32` on purpose: it keeps raw 8-bit header bytes (as surrogate
escapes) instead of guessing UTF-8, so we can try strict UTF-8 and then GB18030 ourselves.
"""

from __future__ import annotations

import email
import hashlib
import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime, unquote
from types import MappingProxyType

from adapters.email.bodytext import CONTROL_CHARS, clean_text, html_to_text, strip_quoted
from adapters.email.charsets import decode_bytes, decode_header_text, raw_8bit_to_str
from adapters.email.loop import DEFAULT_LOOP_HEADER, AutoKind, auto_kind
from adapters.email.mimetree import bounded_tree
from adapters.email.threads import message_ids, normalize_message_id
from core.text import clean_text as storable

__all__ = [
    "ORIGINAL_NAME",
    "Attachment",
    "ParsedMail",
    "parse_mail",
    "strip_quoted",
    "with_original",
]

log = logging.getLogger("gongdan.email")

ORIGINAL_NAME = "original-message.eml"

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
    # every Authentication-Results header, top first (senders.verify reads them)
    auth_results: tuple[str, ...] = ()
    # why the standard parse failed; the raw mail is then the last attachment (ORIGINAL_NAME)
    problem: str | None = None


@dataclass(frozen=True)
class _LoopFacts:
    envelope_from: str | None
    our_loop_header: str
    our_addresses: Collection[str]


def parse_mail(
    raw: bytes,
    *,
    max_attachment_bytes: int = 10 * 2**20,
    envelope_from: str | None = None,
    our_loop_header: str = DEFAULT_LOOP_HEADER,
    our_addresses: Collection[str] = (),
) -> ParsedMail:
    """Parse one mail; never raises. The keyword arguments after the size limit feed `auto_kind`.

    A mail the standard parser fails on (nesting too deep, or any other error: the same bytes
    fail the same way every time) is read again with the bounded parse in `mimetree`; then
    `problem` says why and the raw mail is the last attachment, so nothing is lost."""
    loop = _LoopFacts(envelope_from, our_loop_header, our_addresses)
    try:
        msg = email.message_from_bytes(raw, policy=policy.compat32)
        return _parsed(msg, raw, max_attachment_bytes, loop, None)
    except Exception as exc:  # RecursionError included: deterministic, so never "try later"
        problem = _problem(exc)
    log.warning("mail read with the bounded parser", extra={"problem": problem})
    # the bounded tree; else the headers alone; else nothing but the original attached
    for build in (bounded_tree, _headers_only, lambda _: Message()):
        try:
            return _parsed(build(raw), raw, max_attachment_bytes, loop, problem)
        except Exception:
            log.warning("mail read with less", extra={"problem": problem}, exc_info=True)
    raise AssertionError("unreachable: an empty Message always parses")


def _headers_only(raw: bytes) -> Message:
    head = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    head.set_payload([])  # the body is in the attached original
    return head


def _problem(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "MIME structure nested too deep"
    return f"unreadable MIME structure ({type(exc).__name__})"


def _parsed(
    msg: Message, raw: bytes, limit: int, loop: _LoopFacts, problem: str | None
) -> ParsedMail:
    headers = _headers(msg)
    from_name, from_addr = _sender(msg)
    bodies: list[Message] = []
    files: list[Message] = []
    _collect(msg, bodies, files)
    attachments = tuple(_attachment(p, i, limit) for i, p in enumerate(files, 1))
    mid = normalize_message_id(headers.get("message-id"))
    parsed = ParsedMail(
        message_id=mid,
        in_reply_to=message_ids(headers.get("in-reply-to")),
        references=message_ids(headers.get("references")),
        # the one place decoded text is made storable (NUL, unpaired surrogates)
        subject=storable(_one_line(headers.get("subject", ""))),
        from_addr=from_addr,
        from_name=storable(from_name),
        to=_addresses(msg, "to"),
        cc=_addresses(msg, "cc"),
        date=_date(headers.get("date")),
        text=storable(_body_text(bodies)),
        attachments=attachments,
        headers=MappingProxyType(headers),
        auto=auto_kind(
            headers,
            from_addr=from_addr,
            envelope_from=loop.envelope_from,
            our_loop_header=loop.our_loop_header,
            our_addresses=loop.our_addresses,
            part_types={p.get_content_type() for p in msg.walk()},
        ),
        dedupe_key=mid or "sha256:" + hashlib.sha256(raw).hexdigest(),
        auth_results=tuple(_raw_header(msg, "authentication-results")),
    )
    return parsed if problem is None else with_original(parsed, raw, problem, limit)


def with_original(parsed: ParsedMail, raw: bytes, problem: str, limit: int) -> ParsedMail:
    """parsed, marked with `problem`, with the raw mail as its last attachment (once: a mail
    already marked keeps its first problem)."""
    if parsed.problem is not None:
        return parsed
    original = Attachment(
        ORIGINAL_NAME, "message/rfc822", len(raw), raw if len(raw) <= limit else b""
    )
    return replace(parsed, problem=problem, attachments=(*parsed.attachments, original))


def _headers(msg: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in msg.raw_items():
        key = name.strip().lower()
        if key not in out:
            out[key] = decode_header_text(str(value)).strip()
    return out


def _one_line(text: str) -> str:
    return " ".join(CONTROL_CHARS.sub("", text).split())


def _raw_header(msg: Message, name: str) -> list[str]:
    return [raw_8bit_to_str(_unfolded(str(v))) for k, v in msg.raw_items() if k.lower() == name]


def _unfolded(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


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
    return clean_text("\n\n".join(texts))
