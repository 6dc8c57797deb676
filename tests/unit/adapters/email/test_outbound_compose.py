"""Outbound mail as a mail client sees it: UTF-8, threaded, marked automatic, cleanly folded."""

from __future__ import annotations

from email import message_from_bytes, policy

from adapters.email.outbound import Mailer


def test_composed_mail_decodes_in_a_mail_client() -> None:
    mailer = Mailer(None, domain="acme.test", loop_header="X-Gongdan-Loop", sender_name="Acme 工单")
    subject = "[IT-1042] 3楼打印机坏了 and a very long English tail that must fold across lines"
    msg = mailer.compose(
        to="li.lei@acme.test",
        subject=subject,
        text="打印机已修好。",
        html="<p>打印机已修好。</p>",
        message_id="<IT-1042.a1@acme.test>",
        parents=["<root@mail.example>", "<IT-1042.a0@acme.test>"],
        auto="auto-replied",
    )
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["Subject"] == subject
    assert parsed["From"].addresses[0].display_name == "Acme 工单"
    assert parsed["In-Reply-To"] == "<IT-1042.a0@acme.test>"
    assert "<root@mail.example>" in parsed["References"]
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Gongdan-Loop"] == "acme.test"
    body = parsed.get_body(("plain",))
    assert body is not None and body.get_content().strip() == "打印机已修好。"
