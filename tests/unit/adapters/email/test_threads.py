"""Threading: IDs we issued first, then the subject tag, never the bare subject."""

from __future__ import annotations

import pytest

from adapters.email.parse import parse_mail
from adapters.email.threads import (
    message_ids,
    our_message_id,
    referenced_ids,
    reply_headers,
    strip_reply_prefixes,
    subject_with_tag,
    ticket_key_from_message_id,
    ticket_key_from_subject,
)

PREFIXES = ["IT", "FAC"]


@pytest.mark.parametrize(
    "subject",
    [
        "[IT-1042] 打印机坏了",
        "Re: [IT-1042] 打印机坏了",
        "RE: RE: Fwd: [IT-1042] printer",
        "回复：【IT-1042】打印机坏了",
        "回复: 答复: 转发: ［IT-1042］打印机",
        "AW: WG: [IT-1042] Drucker",
        "FW: Re[2]: [it-1042] printer",
        "Re: 打印机坏了 [IT-1042]",
        "Re: [staff] [IT-01042] printer",
    ],
)
def test_subject_tag_is_found_after_any_reply_prefixes(subject: str) -> None:
    assert ticket_key_from_subject(subject, PREFIXES) == "IT-1042"


@pytest.mark.parametrize(
    "subject",
    ["打印机坏了", "Re: IT-1042 printer", "[HR-1042] leave request", "[IT-] x", "Re: [IT-1042"],
)
def test_no_tag_of_a_known_prefix_means_no_ticket(subject: str) -> None:
    assert ticket_key_from_subject(subject, PREFIXES) is None


def test_strip_reply_prefixes_keeps_the_real_subject() -> None:
    assert strip_reply_prefixes("Re: 回复：Fwd: 打印机坏了") == "打印机坏了"
    assert strip_reply_prefixes("Return of the printer") == "Return of the printer"


def test_our_message_id_carries_the_ticket_key_back_in_replies() -> None:
    mid = our_message_id("IT-1042", "3f9a2c", "gongdan.example.com")
    assert mid == "<IT-1042.3f9a2c@gongdan.example.com>"
    assert ticket_key_from_message_id(mid, "gongdan.example.com") == "IT-1042"
    assert ticket_key_from_message_id(mid, "GONGDAN.example.com") == "IT-1042"


def test_message_ids_of_other_domains_or_shapes_name_no_ticket() -> None:
    assert ticket_key_from_message_id("<IT-1042.x@evil.example>", "gongdan.example.com") is None
    assert ticket_key_from_message_id("<random@gongdan.example.com>", "gongdan.example.com") is None
    assert (
        ticket_key_from_message_id("<IT-1042@gongdan.example.com>", "gongdan.example.com") is None
    )
    assert ticket_key_from_message_id("", "gongdan.example.com") is None


def test_our_message_id_refuses_parts_that_would_break_the_header() -> None:
    with pytest.raises(ValueError, match="IT-1042"):
        our_message_id("it 1042", "x", "d.example")
    with pytest.raises(ValueError, match="dot-atoms"):
        our_message_id("IT-1042", "a b", "d.example")
    with pytest.raises(ValueError, match="dot-atoms"):
        our_message_id("IT-1042", "x", "d.example>")


def test_referenced_ids_put_in_reply_to_first_then_newest_references() -> None:
    parsed = parse_mail(b"In-Reply-To: <c@x>\nReferences: <a@x> <b@x> <c@x>\n\nhi\n")
    assert referenced_ids(parsed) == ("<c@x>", "<b@x>", "<a@x>")


def test_reply_headers_thread_under_the_last_parent() -> None:
    headers = reply_headers(["<a@x>", "b@x", "<c@x>"])
    assert headers == {"In-Reply-To": "<c@x>", "References": "<a@x> <b@x> <c@x>"}
    assert reply_headers([]) == {}


def test_reply_headers_trim_long_threads_but_keep_the_root() -> None:
    parents = [f"<m{i}@x>" for i in range(100)]
    refs = reply_headers(parents)["References"].split()
    assert len(refs) == 20
    assert refs[0] == "<m0@x>" and refs[-1] == "<m99@x>"


def test_message_ids_accept_bare_ids_and_ignore_comments() -> None:
    assert message_ids("<a@x> (Outlook) <b@x>") == ("<a@x>", "<b@x>")
    assert message_ids("bare@x") == ("<bare@x>",)
    assert message_ids("no id here") == ()


def test_subject_with_tag_adds_the_tag_once() -> None:
    assert subject_with_tag("IT-1042", "打印机坏了") == "[IT-1042] 打印机坏了"
    assert subject_with_tag("IT-1042", "Re: [IT-1042] 打印机坏了") == "Re: [IT-1042] 打印机坏了"
    assert subject_with_tag("IT-1042", "回复：【IT-1042】打印机") == "回复：【IT-1042】打印机"
    assert subject_with_tag("IT-1042", "") == "[IT-1042]"
    assert subject_with_tag("IT-1042", "[IT-7] old") == "[IT-1042] [IT-7] old"
