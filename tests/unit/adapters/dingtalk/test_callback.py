"""HTTP mode's signature check: DingTalk's sign, an hour's window, the replay guard, and a clear
reason for everything refused."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from adapters.dingtalk.callback import MAX_BODY, CallbackVerifier, sign
from adapters.kit.callbacks import CallbackRejected
from tests.fakes.dingtalk.payloads import dumps

SECRET = "scrubbed-app-secret"
NOW = 1_772_445_600_000  # ms
BODY = dumps({"conversationId": "cidA==", "senderStaffId": "staff0002", "msgId": "m1"}).encode()


def _headers(timestamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return {"timestamp": str(timestamp), "sign": sign(secret, str(timestamp))}


def _refused(verifier: CallbackVerifier, headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(CallbackRejected) as caught:
        verifier.open(headers, body, NOW)
    return f"{caught.value.status} {caught.value.reason}"


def test_the_sign_is_hmac_sha256_of_timestamp_and_secret_in_base64() -> None:
    mac = hmac.new(SECRET.encode(), f"{NOW}\n{SECRET}".encode(), hashlib.sha256).digest()

    assert sign(SECRET, str(NOW)) == base64.b64encode(mac).decode()


def test_a_signed_recent_body_is_opened() -> None:
    data = CallbackVerifier(SECRET).open(_headers(NOW - 59 * 60_000), BODY, NOW)

    assert data["msgId"] == "m1"


def test_a_url_encoded_sign_is_read_too() -> None:
    headers = _headers()
    headers["sign"] = headers["sign"].replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")

    assert CallbackVerifier(SECRET).open(headers, BODY, NOW)["msgId"] == "m1"


def test_what_is_refused_and_why() -> None:
    v = CallbackVerifier(SECRET)

    assert _refused(v, {}) == "401 missing header(s): timestamp, sign"
    assert _refused(v, {"timestamp": str(NOW)}) == "401 missing header(s): sign"
    # also what a wrong client_secret looks like: every message refused, the key named
    wrong = _refused(v, _headers(secret="other"))
    assert wrong.startswith("401 the sign header does not match")
    assert "channels.dingtalk.client_secret" in wrong
    assert _refused(v, {"timestamp": "yesterday", "sign": "x"}).startswith("401 the timestamp")
    late = _refused(v, _headers(NOW - 61 * 60_000))
    assert late == "401 the timestamp is more than an hour from our clock"
    assert _refused(v, _headers(), b"{").startswith("400 the body is not JSON")
    assert _refused(v, _headers(), b"[]") == "400 the body is not a JSON object"
    assert _refused(v, _headers(), b" " * (MAX_BODY + 1)).startswith("400 the body is over")


def test_a_sign_used_by_one_sender_cannot_carry_another_ones_message() -> None:
    v = CallbackVerifier(SECRET)
    v.open(_headers(), BODY, NOW)
    other = BODY.replace(b"staff0002", b"manager4220")

    assert v.open(_headers(), BODY, NOW)["msgId"] == "m1"  # the same message again: the inbox
    assert _refused(v, _headers(), other).endswith("(replay)")


def test_signs_older_than_two_windows_are_forgotten() -> None:
    v = CallbackVerifier(SECRET, window_ms=1_000)
    v.open(_headers(NOW), BODY, NOW)
    later = NOW + 5_000
    v.open(_headers(later), BODY, later)

    assert len(v._seen) == 1
