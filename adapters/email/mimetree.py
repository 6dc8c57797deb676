"""A bounded MIME parse for the mail the standard parser cannot take.

`email.parser` recurses once per nesting level (multipart in multipart, message/rfc822 in
message/rfc822), so a mail nested about a thousand deep raises RecursionError — the same
error on every delivery. This parse splits the parts itself, iteratively, and stops
descending at `MAX_DEPTH` levels and `MAX_PARTS` parts: what lies deeper is left out of
the tree (the caller keeps the raw mail, so nothing is lost).
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesParser, Parser

MAX_DEPTH = 32
MAX_PARTS = 1000


def bounded_tree(raw: bytes) -> Message:
    """The mail as a compat32 Message tree at most MAX_DEPTH deep and MAX_PARTS parts."""
    root = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    headers = Parser(policy=policy.compat32)
    stack: list[tuple[Message, int]] = [(root, 0)]
    parts = 1
    while stack:
        part, depth = stack.pop()
        boundary = part.get_boundary() if part.get_content_maintype() == "multipart" else None
        if boundary is None or part.is_multipart():
            continue  # a leaf (or a multipart without boundary, read as text like the stdlib)
        # get_payload() would decode raw 8-bit bytes as ASCII with U+FFFD; the bytes are kept
        # as surrogate escapes instead, as BytesParser does, so leaves decode them later
        encoded = part.get_payload(decode=True)
        if not isinstance(encoded, bytes):
            continue
        body = encoded.decode("ascii", "surrogateescape")
        if depth >= MAX_DEPTH or parts >= MAX_PARTS:
            part.set_payload([])  # deeper parts are left out
            continue
        chunks = split_parts(body, boundary)[: MAX_PARTS - parts]
        children: list[Message | str] = [headers.parsestr(c, headersonly=True) for c in chunks]
        parts += len(children)
        part.set_payload(children)  # a list payload: is_multipart() from now on
        stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
    return root


def split_parts(body: str, boundary: str) -> list[str]:
    """The body parts between `--boundary` lines (RFC 2046 §5.1.1); preamble and epilogue
    are dropped, an unterminated last part is kept."""
    delimiter = re.compile(rf"^--{re.escape(boundary)}(--)?[ \t]*\r?$", re.MULTILINE)
    chunks: list[str] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            chunks.append(_without_line_end(body[start : match.start()]))
        if match.group(1):
            return chunks
        start = match.end() + 1 if body[match.end() : match.end() + 1] == "\n" else match.end()
    if start is not None:
        chunks.append(body[start:])
    return chunks


def _without_line_end(chunk: str) -> str:
    """The CRLF before a delimiter belongs to the delimiter, not to the part."""
    if chunk.endswith("\r\n"):
        return chunk[:-2]
    return chunk[:-1] if chunk.endswith("\n") else chunk
