"""The company app's encrypted callbacks: signature, time window, nonce replay, decryption, XML.

WeCom signs `sha1(sorted(token, timestamp, nonce, Encrypt))` and encrypts with AES-256-CBC
(doc 90968); wechatpy's enterprise `WeChatCrypto` does the AES. WeCom documents no replay
protection, so a callback outside `window_s` of our clock is refused, and a nonce seen with a
different signature inside the window is refused as a replay. The same request again (WeCom's
own retry after 5 s carries the same nonce and signature) passes: the inbox dedupes it.

Every XML here goes through defusedxml with DTDs forbidden, so entity bombs and external
entities are refused before anything is expanded; bodies are capped at MAX_BODY bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from wechatpy.enterprise.crypto import WeChatCrypto

from adapters.kit.callbacks import CallbackRejected

MAX_BODY = 64 * 1024  # a callback is a few hundred bytes; WeCom sends nothing near this
NONCE_CACHE = 100_000


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def parse_xml(text: str | bytes) -> Element:
    """XML -> its root element; no DTD, no entities (400 otherwise)."""
    try:
        return fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise CallbackRejected(
            400, f"the body is not acceptable XML: {type(exc).__name__}"
        ) from None


def xml_fields(root: Element) -> dict[str, str]:
    """A flat callback's child elements as text (nested ones, e.g. SelectedItems, as '')."""
    return {child.tag: (child.text or "").strip() for child in root}


@dataclass(frozen=True)
class Query:
    msg_signature: str
    timestamp: str
    nonce: str

    @classmethod
    def read(cls, query: Mapping[str, str]) -> Query:
        missing = [k for k in ("msg_signature", "timestamp", "nonce") if not query.get(k)]
        if missing:
            raise CallbackRejected(401, f"missing query parameter(s): {', '.join(missing)}")
        stamp = query["timestamp"]
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            raise CallbackRejected(401, "timestamp is not a Unix time")
        return cls(query["msg_signature"], stamp, query["nonce"])


class CallbackCrypto:
    """Opens WeCom's callbacks for one app (token, EncodingAESKey, corp id)."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str, window_s: int) -> None:
        self._token = token
        self._crypto = WeChatCrypto(token, encoding_aes_key, corp_id)
        self._window_s = window_s
        self._nonces: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def verify_url(self, query: Mapping[str, str], now: float) -> str:
        """The URL check WeCom makes when the callback URL is saved: the plaintext echostr."""
        q = Query.read(query)
        echostr = query.get("echostr", "")
        if not echostr:
            raise CallbackRejected(400, "echostr is missing")
        self._check(q, echostr, now)
        return self._decrypt(
            lambda: self._crypto.check_signature(q.msg_signature, q.timestamp, q.nonce, echostr)
        )

    def open(self, query: Mapping[str, str], body: bytes, now: float) -> Element:
        """A POSTed callback -> its decrypted XML root."""
        q = Query.read(query)
        if len(body) > MAX_BODY:
            raise CallbackRejected(400, f"the body is over {MAX_BODY} bytes")
        encrypted = parse_xml(body).findtext("Encrypt") or ""
        if not encrypted:
            raise CallbackRejected(400, "the body has no Encrypt element")
        self._check(q, encrypted, now)
        plain = self._decrypt(
            lambda: self._crypto.decrypt_message(
                {"Encrypt": encrypted}, q.msg_signature, q.timestamp, q.nonce
            )
        )
        return parse_xml(plain)

    def _check(self, q: Query, encrypted: str, now: float) -> None:
        expected = signature(self._token, q.timestamp, q.nonce, encrypted)
        if not hmac.compare_digest(expected, q.msg_signature.lower()):
            raise CallbackRejected(401, "msg_signature does not match")
        if abs(now - int(q.timestamp)) > self._window_s:
            raise CallbackRejected(401, f"timestamp is more than {self._window_s} s away")
        self._remember(q, now)

    def _remember(self, q: Query, now: float) -> None:
        while self._nonces:
            _, (_, seen_at) = next(iter(self._nonces.items()))
            if now - seen_at <= 2 * self._window_s and len(self._nonces) < NONCE_CACHE:
                break
            self._nonces.popitem(last=False)
        seen = self._nonces.get(q.nonce)
        if seen is not None and seen[0] != q.msg_signature:
            raise CallbackRejected(401, "nonce already used for another callback (replay)")
        if seen is None:
            self._nonces[q.nonce] = (q.msg_signature, now)

    @staticmethod
    def _decrypt(run: Callable[[], Any]) -> str:
        try:
            text = run()
        except Exception as exc:  # wechatpy raises its own, base64 and unicode errors alike
            raise CallbackRejected(400, f"cannot decrypt: {type(exc).__name__}") from None
        if not isinstance(text, str) or not text:
            raise CallbackRejected(400, "cannot decrypt: empty plaintext")
        return text
