"""Mail built to break parsers, shared by the unit, integration and end-to-end tests."""

from __future__ import annotations


def nested_multipart(
    depth: int,
    *,
    subject: str = "Nested mail",
    sender: str = "zhang.san@example.cn",
    to: str = "it@gongdan.example.com",
    message_id: str = "<nested-1000@example.cn>",
    top_text: str = "",
    inner_text: str = "the text at the very bottom",
) -> bytes:
    """multipart/mixed inside multipart/mixed `depth` times; `top_text`, when given, is a
    text/plain part beside the first nested level, where a bounded parse still reads it."""
    head = (
        f"From: 张三 <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
    )
    opening = "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(depth)
    )
    if top_text:
        first = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{top_text}\r\n--b0\r\n"
        opening = opening.replace("--b0\r\n", "--b0\r\n" + first, 1)
    inner = f"Content-Type: text/plain\r\n\r\n{inner_text}\r\n"
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(depth)))
    return (head + opening + inner + closing).encode()
