"""A mail the standard parser cannot take is read with a bounded parse, never an error."""

from __future__ import annotations

import email
from email import policy

from adapters.email.mimetree import MAX_DEPTH, split_parts
from adapters.email.parse import ORIGINAL_NAME, parse_mail

from .hostile_mail import nested_multipart


def test_mail_nested_a_thousand_deep_parses_and_carries_the_original() -> None:
    raw = nested_multipart(1000, subject="打印机 nested")
    parsed = parse_mail(raw)
    assert parsed.problem == "MIME structure nested too deep"
    assert (parsed.subject, parsed.from_addr) == ("打印机 nested", "zhang.san@example.cn")
    assert parsed.message_id == "<nested-1000@example.cn>"
    original = parsed.attachments[-1]
    assert (original.filename, original.content_type) == (ORIGINAL_NAME, "message/rfc822")
    assert original.data == raw and original.stored


def test_bounded_parse_keeps_what_lies_within_the_depth_limit() -> None:
    raw = nested_multipart(1000, top_text="三楼打印机冒烟了")
    parsed = parse_mail(raw)
    assert parsed.problem is not None
    assert parsed.text == "三楼打印机冒烟了"
    assert "the text at the very bottom" not in parsed.text  # deeper than MAX_DEPTH


def test_nesting_within_the_limit_reads_the_same_as_the_standard_parser() -> None:
    raw = nested_multipart(MAX_DEPTH - 2, top_text="top")
    assert email.message_from_bytes(raw, policy=policy.compat32) is not None
    parsed = parse_mail(raw)
    assert parsed.problem is None
    assert parsed.text == "top\n\nthe text at the very bottom"
    assert parsed.attachments == ()


def test_original_over_the_attachment_limit_is_named_but_not_kept() -> None:
    raw = nested_multipart(1000)
    original = parse_mail(raw, max_attachment_bytes=1024).attachments[-1]
    assert (original.filename, original.size, original.stored) == (ORIGINAL_NAME, len(raw), False)


def test_split_parts_drops_preamble_and_epilogue_and_keeps_an_unterminated_part() -> None:
    body = "preamble\r\n--x\r\nA: 1\r\n\r\none\r\n--x \r\n\r\ntwo\r\n--x--\r\nepilogue"
    assert split_parts(body, "x") == ["A: 1\r\n\r\none", "\r\ntwo"]
    assert split_parts("--x\nlast, never closed\n", "x") == ["last, never closed\n"]
