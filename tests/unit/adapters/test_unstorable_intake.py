"""A person's chat message or mail with text no database can store is kept, that text replaced."""

from __future__ import annotations

from adapters.email.parse import parse_mail
from adapters.slack.inbound import slack_text


def test_a_slack_message_with_a_lone_surrogate_keeps_the_rest_of_the_text() -> None:
    assert (
        slack_text("<@UBOT> printer \ud83d jammed", bot_user_id="UBOT") == "printer \ufffd jammed"
    )


def test_a_utf7_mail_subject_decoding_to_a_lone_surrogate_is_kept_with_it_replaced() -> None:
    raw = (
        b"From: =?utf-7?q?+2AA-?= <ada@example.cn>\n"
        b"Subject: =?utf-7?q?printer_+2AA-_broken?=\n"
        b"Content-Type: text/plain; charset=utf-7\n\n"
        b"it smokes +2AA- since Monday\n"
    )

    mail = parse_mail(raw)

    assert mail.subject == "printer \ufffd broken"
    assert mail.from_name == "\ufffd"
    assert mail.text == "it smokes \ufffd since Monday"
