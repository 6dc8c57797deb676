"""parse_mail beyond the corpus: charsets, limits, hostile input, reply text."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest

from adapters.email.bodytext import MAX_TEXT_CHARS, html_to_text, strip_quoted
from adapters.email.charsets import decode_bytes, decode_header_text
from adapters.email.parse import parse_mail

from .corpus_files import CORPUS
from .make_corpus import pathological_html


def mail(headers: str, body: bytes = b"hello\n") -> bytes:
    return headers.strip().encode() + b"\n\n" + body


@pytest.mark.parametrize("label", ["gb2312", "GBK", "x-gbk", "gb_2312-80", "GB2312-80", "cp936"])
def test_every_gb_label_decodes_gbk_only_characters(label: str) -> None:
    assert decode_bytes("喆堃镕".encode("gbk"), label) == "喆堃镕"


def test_invalid_bytes_become_replacement_characters_never_an_error() -> None:
    assert decode_bytes(b"ok \xff\xfe", "utf-8") == "ok \ufffd\ufffd"
    assert decode_bytes(b"\x81", "gb2312") == "\ufffd"
    assert decode_bytes(b"\xa4\xa4\xff", "big5") == "中\ufffd"


def test_unknown_or_missing_charset_tries_utf8_then_gb18030() -> None:
    assert decode_bytes("工单".encode(), None) == "工单"
    assert decode_bytes("工单".encode("gbk"), "x-no-such-charset") == "工单"
    assert decode_bytes("工单".encode("gbk"), "us-ascii") == "工单"


def test_encoded_word_with_broken_base64_keeps_the_header_readable() -> None:
    assert decode_header_text("=?utf-8?B?5bel5Y2?=") in {"=?utf-8?B?5bel5Y2?=", "工\ufffd"}


def test_subject_mixing_plain_text_and_encoded_words_keeps_the_spaces() -> None:
    word = base64.b64encode("打印机".encode()).decode()
    assert decode_header_text(f"Re: [IT-7] =?utf-8?B?{word}?= broken") == "Re: [IT-7] 打印机 broken"


def test_requester_and_recipients_are_lower_case_addresses_with_decoded_names() -> None:
    raw = mail(
        """
From: "=?utf-8?B?5byg5LiJ?=" <Zhang.San@Example.CN>
To: IT <IT@gongdan.example.com>, "Doe, John" <john@example.com>
Cc: a@example.com, not-an-address
Subject: x
"""
    )
    parsed = parse_mail(raw)
    assert (parsed.from_name, parsed.from_addr) == ("张三", "zhang.san@example.cn")
    assert parsed.to == ("it@gongdan.example.com", "john@example.com")
    assert parsed.cc == ("a@example.com",)


def test_date_without_zone_is_read_as_utc_and_garbage_dates_are_none() -> None:
    assert parse_mail(mail("Date: Tue, 5 Mar 2024 09:00:00 -0000")).date == datetime(
        2024, 3, 5, 9, tzinfo=UTC
    )
    assert parse_mail(mail("Date: yesterday-ish")).date is None


def test_message_ids_are_normalised_and_deduplicated() -> None:
    parsed = parse_mail(
        mail(
            """
Message-ID:   <abc@x>  (comment)
In-Reply-To: <p1@x> <p1@x>
References: <r1@x>
  <r2@x> <r1@x>
"""
        )
    )
    assert parsed.message_id == "<abc@x>"
    assert parsed.dedupe_key == "<abc@x>"
    assert parsed.in_reply_to == ("<p1@x>",)
    assert parsed.references == ("<r1@x>", "<r2@x>")


def test_same_bytes_without_message_id_get_the_same_dedupe_key() -> None:
    raw = mail("Subject: no id")
    assert parse_mail(raw).dedupe_key == parse_mail(raw).dedupe_key
    assert parse_mail(raw).dedupe_key != parse_mail(raw + b"!").dedupe_key


def test_attachment_over_the_limit_keeps_its_name_and_size_but_not_its_bytes() -> None:
    raw = (CORPUS / "cpython_msg_07.eml").read_bytes()
    (gif,) = parse_mail(raw, max_attachment_bytes=1000).attachments
    assert (gif.filename, gif.size, gif.data, gif.stored) == ("dingusfish.gif", 3512, b"", False)


def test_headers_are_decoded_and_keyed_in_lower_case() -> None:
    parsed = parse_mail(mail("Subject: =?utf-8?B?5bel5Y2V?=\nX-Custom: One"))
    assert parsed.headers["subject"] == "工单"
    assert parsed.headers["x-custom"] == "One"


def test_control_characters_are_removed_from_subject_and_body() -> None:
    parsed = parse_mail(mail("Subject: a\x00b\x1bc", b"line\x00one\r\nline two\x07\r\n"))
    assert parsed.subject == "abc"
    assert parsed.text == "lineone\nline two"


def test_mail_with_500_links_and_a_megabyte_of_whitespace_parses_within_a_second() -> None:
    start = time.perf_counter()
    parsed = parse_mail(pathological_html())
    assert time.perf_counter() - start < 1.0
    assert parsed.text.startswith("start\nlink 0 <https://example.cn/0> link 1")
    assert parsed.text.endswith("end")


def test_html_conversion_stops_at_the_size_limit() -> None:
    text = html_to_text("<p>" + "工单 " * 200_000 + "</p>")
    assert len(text) <= MAX_TEXT_CHARS + 10
    assert text.endswith("[…]")


@pytest.mark.parametrize(
    "unit",
    [
        "<",
        "<!--",
        "<a b='",
        "<?",
        "</",
        "<![CDATA[",
        "&#",
        "<b>",
        "<script>x</scrip",
        "<x" + "y" * 3000,
    ],
    ids=["lt", "comment", "attr", "pi", "endtag", "cdata", "charref", "inline", "script", "long"],
)
def test_hostile_html_of_two_megabytes_is_converted_within_a_second(unit: str) -> None:
    # what is guarded is linear work: a quadratic parser takes minutes on 2 MB. One second is
    # the budget on the development machine; a shared machine at half speed gets the same
    # budget scaled by how long a tenth of the input took (its own speed, measured here)
    def seconds(size: int) -> float:
        start = time.perf_counter()
        html_to_text(unit * (size // len(unit)))
        return time.perf_counter() - start

    tenth = seconds(2 * 2**20 // 10)
    whole = seconds(2 * 2**20)
    assert whole < max(1.0, 20 * tenth)  # linear is about 10x the tenth
    assert whole < 5.0


def test_html_comments_entities_and_bare_angle_brackets_read_like_a_browser_shows_them() -> None:
    text = html_to_text("<p>a &lt; b &amp;&amp; c < d</p><!-- secret --><P>next<BR>line</P>")
    assert text == "a < b && c < d\n\nnext\nline"


def test_plain_text_body_is_capped() -> None:
    parsed = parse_mail(mail("Subject: big", b"x" * (MAX_TEXT_CHARS * 3)))
    assert len(parsed.text) < MAX_TEXT_CHARS + 10


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.name)
def test_truncated_mail_never_raises(path: object) -> None:
    raw = CORPUS.joinpath(str(path)).read_bytes()
    for cut in range(0, len(raw), max(1, len(raw) // 60)):
        parse_mail(raw[:cut])


def test_garbage_bytes_parse_into_an_empty_mail() -> None:
    parsed = parse_mail(bytes(range(256)) * 4)
    assert parsed.message_id is None
    assert parsed.dedupe_key.startswith("sha256:")


# --- strip_quoted ---------------------------------------------------------------------------


def test_strip_quoted_drops_english_gmail_attribution_even_when_wrapped() -> None:
    text = (
        "Thanks, fixed now.\n\nOn Tue, Mar 5, 2024 at 9:15 AM IT Service Desk <\n"
        "it@gongdan.example.com> wrote:\n\n> Did you restart?\n"
    )
    assert strip_quoted(text) == "Thanks, fixed now."


def test_strip_quoted_drops_outlook_original_message_block() -> None:
    text = "See below.\n\n-----Original Message-----\nFrom: IT\nSent: Monday\nSubject: x\n\nold"
    assert strip_quoted(text) == "See below."


def test_strip_quoted_drops_outlook_from_block_after_an_underscore_rule() -> None:
    text = "OK\n\n________________________________\nFrom: IT <it@x>\nSent: Monday\n\nold text"
    assert strip_quoted(text) == "OK"


def test_strip_quoted_drops_foxmail_original_mail_rule() -> None:
    text = "收到\n\n------------------ 原始邮件 ------------------\n发件人: IT\n\n旧内容"
    assert strip_quoted(text) == "收到"


def test_strip_quoted_keeps_a_from_line_that_is_not_a_header_block() -> None:
    text = "From: the third floor, the printer jams.\nIt started today."
    assert strip_quoted(text) == text


def test_strip_quoted_keeps_interleaved_replies_and_drops_quoted_lines() -> None:
    text = "> Which floor?\nThird.\n> Which printer?\nThe big one."
    assert strip_quoted(text) == "Third.\nThe big one."


def test_strip_quoted_returns_a_bare_quotation_whole_rather_than_empty() -> None:
    assert strip_quoted("> only quoted\n> text") == "> only quoted\n> text"
