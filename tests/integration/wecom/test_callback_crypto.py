"""WeCom's official crypto test vector (doc 90968) through the app's callback opener."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.kit.callbacks import CallbackRejected
from adapters.wecom.callback import CallbackCrypto, signature
from adapters.wecom.inbound import Message, app_callback

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "wecom" / "crypto_vector_90968.json").read_text()
)


def _crypto(window_s: int = 300) -> CallbackCrypto:
    return CallbackCrypto(
        VECTOR["token"], VECTOR["encoding_aes_key"], VECTOR["corp_id"], window_s=window_s
    )


def test_the_official_url_verification_vector_answers_its_plaintext() -> None:
    v = VECTOR["verify_url"]
    query = {k: v[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")}
    assert _crypto().verify_url(query, now=float(v["timestamp"])) == v["plaintext"]


def test_the_official_message_vector_decrypts_to_a_text_message() -> None:
    m = VECTOR["message"]
    query = {k: m[k] for k in ("msg_signature", "timestamp", "nonce")}
    root = _crypto().open(query, m["body"].encode(), now=float(m["timestamp"]))
    message = app_callback(root)
    assert isinstance(message, Message)
    assert (message.userid, message.text) == (m["plaintext_from"], m["plaintext_content"])


def test_the_official_vector_is_refused_once_it_is_older_than_the_window() -> None:
    m = VECTOR["message"]
    query = {k: m[k] for k in ("msg_signature", "timestamp", "nonce")}
    with pytest.raises(CallbackRejected) as refused:
        _crypto().open(query, m["body"].encode(), now=float(m["timestamp"]) + 301)
    assert refused.value.status == 401


@pytest.mark.parametrize(
    "encrypted",
    ["not base64 at all!", "AAAA", "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo"],
)
def test_an_undecryptable_but_signed_body_is_a_400_not_a_crash(encrypted: str) -> None:
    crypto = _crypto()
    query = {"timestamp": "1409659813", "nonce": "1"}
    query["msg_signature"] = signature(VECTOR["token"], query["timestamp"], "1", encrypted)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    with pytest.raises(CallbackRejected) as refused:
        crypto.open(query, body, now=1409659813.0)
    assert refused.value.status == 400
