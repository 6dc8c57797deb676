"""Loop safety: nothing automatic goes to machines, bounces are read, acknowledgements are capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.email.loop import AckLimiter, AutoKind, auto_kind, may_auto_reply, parse_bounce
from adapters.email.parse import parse_mail

T0 = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
PERSON = "wang.zhe@example.cn"


def kind(headers: dict[str, str], **kwargs: object) -> AutoKind | None:
    options: dict[str, object] = {"from_addr": PERSON, "envelope_from": None}
    options.update(kwargs)
    return auto_kind(headers, **options)  # type: ignore[arg-type]


def test_plain_human_mail_may_get_an_acknowledgement() -> None:
    assert kind({"subject": "打印机坏了", "auto-submitted": "no"}) is None
    assert may_auto_reply(None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"auto-submitted": "auto-replied"}, AutoKind.AUTO_SUBMITTED),
        ({"auto-submitted": "auto-generated (failure)"}, AutoKind.AUTO_SUBMITTED),
        ({"x-autoreply": "yes"}, AutoKind.AUTO_SUBMITTED),
        ({"x-autorespond": "1"}, AutoKind.AUTO_SUBMITTED),
        ({"x-loop": "helpdesk@example.cn"}, AutoKind.AUTO_SUBMITTED),
        ({"precedence": "bulk"}, AutoKind.BULK),
        ({"precedence": "junk"}, AutoKind.BULK),
        ({"precedence": "list"}, AutoKind.LIST),
        ({"list-id": "<staff.example.cn>"}, AutoKind.LIST),
        ({"list-unsubscribe": "<mailto:x@example.cn>"}, AutoKind.LIST),
        ({"x-auto-response-suppress": "All"}, AutoKind.SUPPRESS),
        ({"x-auto-response-suppress": "OOF, AutoReply"}, AutoKind.SUPPRESS),
        ({"return-path": "<>"}, AutoKind.NULL_SENDER),
        ({"content-type": "multipart/report; report-type=delivery-status"}, AutoKind.BOUNCE),
        (
            {"content-type": "multipart/report; report-type=disposition-notification"},
            AutoKind.DISPOSITION,
        ),
        ({"x-gongdan-loop": "gongdan.example.com"}, AutoKind.OUR_LOOP),
    ],
)
def test_machine_mail_never_gets_an_automatic_answer(
    headers: dict[str, str], expected: AutoKind
) -> None:
    assert kind(headers) is expected
    assert not may_auto_reply(expected)


def test_outlook_suppress_none_still_counts_as_a_person() -> None:
    assert kind({"x-auto-response-suppress": "None"}) is None


def test_null_envelope_sender_and_daemons_are_never_answered() -> None:
    assert kind({}, envelope_from="") is AutoKind.NULL_SENDER
    assert kind({}, envelope_from="<>") is AutoKind.NULL_SENDER
    assert kind({}, from_addr="") is AutoKind.NULL_SENDER
    assert kind({}, from_addr="MAILER-DAEMON@mx.example.cn") is AutoKind.DAEMON
    assert kind({}, envelope_from="postmaster@example.cn") is AutoKind.DAEMON


def test_mail_from_our_own_address_or_with_our_loop_header_is_our_loop() -> None:
    ours = ["it@gongdan.example.com"]
    assert kind({}, from_addr="IT@gongdan.example.com", our_addresses=ours) is AutoKind.OUR_LOOP
    assert kind({"x-custom-loop": "1"}, our_loop_header="X-Custom-Loop") is AutoKind.OUR_LOOP


def test_report_part_marks_a_bounce_even_without_report_type() -> None:
    assert kind({"content-type": "multipart/report"}, part_types=["message/delivery-status"]) is (
        AutoKind.BOUNCE
    )


def test_parse_mail_classifies_with_envelope_and_our_addresses() -> None:
    raw = b"From: it@gongdan.example.com\nSubject: [IT-1] ack\n\nhi\n"
    assert parse_mail(raw).auto is None
    assert parse_mail(raw, our_addresses=["it@gongdan.example.com"]).auto is AutoKind.OUR_LOOP
    assert parse_mail(b"From: a@b.cn\n\nhi\n", envelope_from="").auto is AutoKind.NULL_SENDER


def test_parse_bounce_returns_none_for_ordinary_mail() -> None:
    assert parse_bounce(b"From: a@b.cn\nSubject: hi\n\nhello\n") is None
    assert parse_bounce(b"\x00\xff garbage") is None


def test_delayed_delivery_report_is_not_permanent() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.cn\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nStill trying.\n"
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        b"Final-Recipient: rfc822; slow@example.cn\nAction: delayed\nStatus: 4.4.1\n\n"
        b"--b--\n"
    )
    bounce = parse_bounce(raw)
    assert bounce is not None
    assert (bounce.recipients, bounce.status, bounce.permanent) == (
        ("slow@example.cn",),
        "4.4.1",
        False,
    )


# --- AckLimiter ---------------------------------------------------------------------------


def test_second_acknowledgement_within_ten_minutes_is_refused() -> None:
    limiter = AckLimiter()
    assert limiter.allow(PERSON, T0)
    assert not limiter.allow(PERSON, T0 + timedelta(minutes=9, seconds=59))
    assert limiter.allow(PERSON, T0 + timedelta(minutes=10, seconds=1))


def test_senders_are_counted_separately_and_case_insensitively() -> None:
    limiter = AckLimiter()
    assert limiter.allow(PERSON, T0)
    assert not limiter.allow(PERSON.upper(), T0)
    assert limiter.allow("someone.else@example.cn", T0)


def test_daily_cap_holds_until_a_day_has_passed() -> None:
    limiter = AckLimiter(per_day=3)
    times = [T0 + timedelta(minutes=15 * i) for i in range(5)]
    assert [limiter.allow(PERSON, t) for t in times] == [True, True, True, False, False]
    assert limiter.allow(PERSON, T0 + timedelta(days=1, seconds=1))


def test_auto_responder_ping_pong_for_ten_simulated_minutes_gets_one_acknowledgement() -> None:
    """A responder that ignores RFC 3834 answers every ack within seconds."""
    limiter = AckLimiter()
    sent = 0
    now = T0
    while now < T0 + timedelta(minutes=10):
        if limiter.allow("autoresponder@example.cn", now):
            sent += 1
        now += timedelta(seconds=3)
    assert sent == 1


def test_limiter_forgets_quiet_senders_so_memory_stays_bounded() -> None:
    limiter = AckLimiter(max_senders=10)
    for i in range(50):
        limiter.allow(f"user{i}@example.cn", T0 + timedelta(days=i))
    assert limiter.senders_tracked <= 11
