"""Mail bodies as safe plain text: HTML converted, control characters and reply history removed."""

from __future__ import annotations

import contextlib
import html
import re

MAX_TEXT_CHARS = 100_000
MAX_HTML_CHARS = 1_000_000
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Unix newlines, no control characters, no trailing blanks, at most one empty line in a row."""
    text = CONTROL_CHARS.sub("", text[: limit * 2].replace("\r\n", "\n").replace("\r", "\n"))
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    out = "\n".join(lines).strip("\n")
    return out if len(out) <= limit else out[:limit].rstrip() + "\n[…]"


class _Enough(Exception):
    """Raised once the output limit is reached."""


# html.parser is not used: on malformed input (unclosed comments, `<a b='` repeated) the
# 3.11 HTMLParser goes quadratic (CVE-2025-6069) and 120 kB took 27 s here. This scanner
# looks at each character a bounded number of times.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]{0,30})([^<>]{0,4000})>")
_DECLARATION = re.compile(r"<[!?][^<>]{0,4000}>")
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_HIDDEN = {
    t: re.compile(rf"</{t}\s*>", re.IGNORECASE)
    for t in ("script", "style", "title", "template", "noscript")
}
_BLOCK = frozenset(
    {
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
        "address",
    }
)
_WS = re.compile(r"\s+")


class _Sink:
    def __init__(self, limit: int) -> None:
        self.out: list[str] = []
        self.size = 0
        self.limit = limit

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.size += len(text)
        if self.size > self.limit:
            raise _Enough

    def data(self, chunk: str) -> None:
        self.emit(_WS.sub(" ", html.unescape(chunk)))


def html_to_text(source: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Visible text of an HTML body: no scripts or styles, line breaks kept, entities decoded."""
    sink = _Sink(limit)
    # Whitespace is insignificant in HTML; folding it first means a megabyte of blanks
    # cannot push the real text past the input cap.
    folded = _WS.sub(" ", source[: MAX_HTML_CHARS * 8])[:MAX_HTML_CHARS]
    with contextlib.suppress(_Enough):
        _scan(folded, sink)
    lines = (" ".join(line.split()) for line in "".join(sink.out).split("\n"))
    return clean_text("\n".join(lines), limit)


def _scan(src: str, sink: _Sink) -> None:
    i, n = 0, len(src)
    link: tuple[str, int] | None = None
    while i < n:
        j = src.find("<", i)
        if j < 0:
            sink.data(src[i:])
            return
        if j > i:
            sink.data(src[i:j])
        if src.startswith("<!--", j):
            end = src.find("-->", j + 4)
            if end < 0:
                return  # an unclosed comment hides the rest, as in a browser
            i = end + 3
            continue
        tag = _TAG.match(src, j)
        if tag is None:
            other = _DECLARATION.match(src, j)
            if other is None:
                sink.data("<")
            i = other.end() if other else j + 1
            continue
        i = tag.end()
        closing, name, attrs = tag.group(1) == "/", tag.group(2).lower(), tag.group(3)
        if name in _HIDDEN and not closing:
            close = _HIDDEN[name].search(src, i)
            if close is None:
                return
            i = close.end()
        elif name == "br" or (name in _BLOCK and not (closing and name == "li")):
            sink.emit("\n- " if name == "li" else "\n")
        elif name == "a" and not closing:
            href = _HREF.search(attrs)
            url = html.unescape(next((g for g in href.groups() if g), "")) if href else ""
            link = (url, len(sink.out)) if url.lower().startswith(_SHOWN_LINKS) else None
        elif name == "a" and link:
            url, start = link
            link = None
            if url.removeprefix("mailto:") not in "".join(sink.out[start:]):
                sink.emit(f" <{url}>")


_SHOWN_LINKS = ("http://", "https://", "mailto:")


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
