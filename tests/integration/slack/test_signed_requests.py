"""The double's signed deliveries pass slack_sdk's own SignatureVerifier, and only when fresh."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from tests.fakes.slack import (
    event_callback,
    events_request,
    interactivity_request,
    message_event,
    sign,
    slash_command_request,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_767_600_000


class At(Clock):
    """slack_sdk's verifier clock: now() -> epoch seconds."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verifier(now: float = NOW) -> SignatureVerifier:
    return SignatureVerifier(SECRET, clock=At(now))


def test_signed_events_delivery_verifies() -> None:
    body = event_callback(
        message_event("U1", "C1", "<@U0BOT> help", "1.000001", type="app_mention")
    )

    request = events_request(SECRET, body, NOW)

    assert verifier().is_valid_request(request.body, request.headers)
    assert json.loads(request.body)["event"]["type"] == "app_mention"


def test_signature_older_than_five_minutes_is_rejected() -> None:
    request = events_request(SECRET, event_callback({"type": "app_mention"}), NOW)

    assert verifier(NOW + 300).is_valid_request(request.body, request.headers)
    assert not verifier(NOW + 301).is_valid_request(request.body, request.headers)


def test_tampered_body_or_other_secret_is_rejected() -> None:
    request = events_request(SECRET, event_callback({"type": "app_mention"}), NOW)
    forged = sign("not-the-secret", request.body, NOW)

    assert not verifier().is_valid_request(request.body + b" ", request.headers)
    assert not verifier().is_valid_request(request.body, forged)


def test_redelivery_carries_retry_headers_and_the_same_signature() -> None:
    body = event_callback({"type": "app_mention"}, event_id="Ev1")

    first = events_request(SECRET, body, NOW)
    retry = events_request(SECRET, body, NOW, retry_num=2)

    assert retry.headers["X-Slack-Retry-Num"] == "2"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert retry.headers["X-Slack-Signature"] == first.headers["X-Slack-Signature"]


def test_interactivity_and_slash_command_are_signed_form_bodies() -> None:
    click = interactivity_request(SECRET, {"type": "block_actions", "actions": []}, NOW)
    command = slash_command_request(SECRET, {"command": "/ticket", "text": "it jammed"}, NOW)

    for request in (click, command):
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert verifier().is_valid_request(request.body, request.headers)
    payload = parse_qs(click.body.decode())["payload"][0]
    assert json.loads(payload)["type"] == "block_actions"
    assert parse_qs(command.body.decode())["text"] == ["it jammed"]
