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
from html.parser import HTMLParser
from types import MappingProxyType

from adapters.email.charsets import decode_bytes, decode_header_text, raw_8bit_to_str
from adapters.email.loop import DEFAULT_LOOP_HEADER, AutoKind, auto_kind
from adapters.email.threads import message_ids, normalize_message_id

MAX_TEXT_CHARS = 100_000
MAX_HTML_CHARS = 2_000_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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
    return " ".join(_CONTROL.sub("", text).split())


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
        clean = _CONTROL.sub("", text).replace("/", "_").replace("\\", "_").strip()
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
        inner = part.get_payload(0)
        data = inner.as_bytes(policy=policy.compat32) if isinstance(inner, Message) else b""
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    name = _filename(part) or f"attachment-{index}{_EXT.get(ctype, '.bin')}"
    size = len(data)
    return Attachment(name, ctype, size, data if size <= limit else b"")


# --- text ------------------------------------------------------------------------------


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


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Unix newlines, no control characters, no trailing blanks, at most one empty line in a row."""
    text = _CONTROL.sub("", text[: limit * 2].replace("\r\n", "\n").replace("\r", "\n"))
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    out = "\n".join(lines).strip("\n")
    return out if len(out) <= limit else out[:limit].rstrip() + "\n[…]"


class _Enough(Exception):
    """Raised from inside the parser once the output limit is reached."""


class _HtmlText(HTMLParser):
    _SKIP = frozenset({"script", "style", "title", "template", "noscript"})
    _BLOCK = frozenset(
        [
            "p",
            "div",
            "li",
            "tr",
            "table",
            "ul",
            "ol",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "section",
            "article",
            "header",
            "footer",
            "hr",
            "dt",
            "dd",
            "form",
            "fieldset",
            "address",
            "center",
        ]
    )

    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.size = 0
        self.limit = limit
        self.skip = 0
        self.link: tuple[str, int] | None = None

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.size += len(text)
        if self.size > self.limit:
            raise _Enough

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag == "br":
            self.emit("\n")
        elif tag in self._BLOCK:
            self.emit("\n- " if tag == "li" else "\n")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            if href.lower().startswith(("http://", "https://", "mailto:")):
                self.link = (href, len(self.out))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self._BLOCK and tag != "li":
            self.emit("\n")
        elif tag == "a" and self.link:
            href, start = self.link
            self.link = None
            shown = "".join(self.out[start:]).strip()
            if href.removeprefix("mailto:") not in shown:
                self.emit(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.emit(re.sub(r"\s+", " ", data))


def html_to_text(html: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Visible text of an HTML body: no scripts or styles, line breaks kept, entities decoded."""
    parser = _HtmlText(limit)
    try:
        parser.feed(html[:MAX_HTML_CHARS])
        parser.close()
    except _Enough:
        pass
    except Exception:  # a hostile mail must degrade to less text, never to a failed parse
        return clean_text(re.sub(r"<[^>]{0,2000}>", " ", html[:limit]), limit)
    lines = (" ".join(line.split()) for line in "".join(parser.out).split("\n"))
    return clean_text("\n".join(lines), limit)


# --- reply text ------------------------------------------------------------------------

_RULE = re.compile(
    r"^-{2,}\s*(?:original message|原始邮件|原始郵件|ursprüngliche nachricht|message d'origine)\s*-{2,}$",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"^(?:on\b.{0,400}\bwrote|.{0,400}<[^<>@\s]+@[^<>\s]+>.{0,40}wrote)\s*:$", re.I
)
_ATTRIBUTION_ZH = re.compile(r"^(?:在|.{0,400}[于於@]).{0,400}[写寫]道\s*[:：]?$")
_FROM = re.compile(r"^(?:from|发件人|寄件者|寄件人)\s*[:：]", re.IGNORECASE)
_OUTLOOK_FIELD = re.compile(
    r"^(?:sent|date|to|subject|cc|发送时间|時間|日期|收件人|主题|主旨|抄送|副本)\s*[:：]",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted history, attribution lines and `>` lines removed.

    A mail that is nothing but quotation (a bare forward) is returned whole rather than empty.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    cut = next((i for i in range(len(lines)) if _starts_history(lines, i)), len(lines))
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    return clean_text("\n".join(kept)) or clean_text(text)


def _starts_history(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if not line:
        return False
    if _RULE.match(line):
        return True
    if set(line) == {"_"} and len(line) >= 10:
        return any(_FROM.match(s.strip()) for s in lines[i + 1 : i + 3])
    if _FROM.match(line):
        return any(_OUTLOOK_FIELD.match(s.strip()) for s in lines[i + 1 : i + 7])
    candidates = [line]
    # Gmail wraps long attributions; only an unfinished one may borrow the next line.
    if i + 1 < len(lines) and (
        line.startswith(("On ", "在", "於")) or line.count("<") > line.count(">")
    ):
        candidates.append(f"{line} {lines[i + 1].strip()}")
    return any(p.match(c) for p in (_ATTRIBUTION, _ATTRIBUTION_ZH) for c in candidates)
