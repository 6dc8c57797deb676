"""Deliveries to /slack/events that cannot be verified are refused with a 4xx and one log line."""

from __future__ import annotations

import json
import logging
import time

import pytest

from tests.e2e.slack.driver import SECRET, slack_service
from tests.fakes.slack import FakeSlack, SignedRequest, event_callback, message_event, sign

EVENT = event_callback(message_event("U0ZHAOLI", "C0GENERAL", "打印机坏了", "1767600000.000001"))
RAW = json.dumps(EVENT).encode()


def signed(body: bytes = RAW, /, **headers: str) -> SignedRequest:
    base = {"Content-Type": "application/json", **sign(SECRET, body, int(time.time()))}
    return SignedRequest(body, base | headers)


CASES = {
    "timestamp-not-a-number": (signed(**{"X-Slack-Request-Timestamp": "soon"}), 401),
    "timestamp-float": (signed(**{"X-Slack-Request-Timestamp": "1767600000.5"}), 401),
    "timestamp-exponent": (signed(**{"X-Slack-Request-Timestamp": "1e9"}), 401),
    "timestamp-thousands-of-digits": (signed(**{"X-Slack-Request-Timestamp": "9" * 5000}), 401),
    "timestamp-unicode-digits": (signed(**{"X-Slack-Request-Timestamp": "١٧٦٧٦٠٠٠٠٠"}), 401),
    "signature-not-ascii": (signed(**{"X-Slack-Signature": "v0=签名"}), 401),
    "body-not-utf8": (signed('{"text": "打印机"}'.encode("gb18030")), 400),
    "charset-unknown": (signed(**{"Content-Type": "application/json; charset=klingon"}), 400),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_undecodable_or_unverifiable_delivery_is_refused_with_one_log_line(
    sqlite_url: str, fake: FakeSlack, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    request, status = CASES[case]
    async with slack_service(sqlite_url, fake) as slack:
        caplog.clear()
        caplog.set_level(logging.INFO)
        reply = await slack.deliver(request)
        lines = [r for r in caplog.records if r.levelno >= logging.INFO]
        assert reply.status == status, reply
        assert [(r.name, r.levelno, r.exc_info) for r in lines] == [
            ("gongdan.http", logging.INFO, None)
        ]
        assert "\n" not in lines[0].getMessage()
        assert await slack.tickets() == []
