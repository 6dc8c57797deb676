"""Whether a From address is proven: only by our boundary MTA's Authentication-Results."""

from __future__ import annotations

from adapters.email.senders import Arrival, SenderCheck, networks, verify

LEAD = "li.lei@acme.example"
OURS = SenderCheck(authserv_ids=frozenset({"mx.acme.example"}))
FROM_RELAY = Arrival("smtp", envelope_from=LEAD, peer="127.0.0.1")


def test_dmarc_pass_from_the_trusted_authserv_id_verifies() -> None:
    header = "mx.acme.example; dmarc=pass header.from=acme.example"
    assert verify(LEAD, [header], FROM_RELAY, OURS).verified


def test_the_same_header_from_another_authserv_id_is_ignored() -> None:
    header = "mx.evil.example; dmarc=pass header.from=acme.example"
    verdict = verify(LEAD, [header], FROM_RELAY, OURS)
    assert not verdict.verified
    assert verdict.why == "no Authentication-Results from a trusted authserv-id"


def test_without_a_configured_authserv_id_nothing_is_verified() -> None:
    header = "mx.acme.example; dmarc=pass header.from=acme.example"
    assert not verify(LEAD, [header], FROM_RELAY, SenderCheck()).verified


def test_over_smtp_the_header_counts_only_from_a_trusted_relay() -> None:
    header = "mx.acme.example; dmarc=pass header.from=acme.example"
    direct = Arrival("smtp", envelope_from=LEAD, peer="203.0.113.9")
    assert not verify(LEAD, [header], direct, OURS).verified
    mapped = Arrival("smtp", envelope_from=LEAD, peer="::ffff:10.1.2.3")
    relays = SenderCheck(OURS.authserv_ids, networks(["10.1.0.0/16"]))
    assert verify(LEAD, [header], mapped, relays).verified


def test_over_imap_the_trusted_header_is_enough() -> None:
    header = "mx.acme.example; dmarc=pass header.from=acme.example"
    assert verify(LEAD, [header], Arrival("imap"), OURS).verified
    assert not verify(LEAD, [], Arrival("imap"), OURS).verified


def test_dmarc_for_another_domain_proves_nothing() -> None:
    header = "mx.acme.example; dmarc=pass header.from=evil.example"
    assert not verify(LEAD, [header], FROM_RELAY, OURS).verified


def test_a_dmarc_failure_beats_a_dkim_pass() -> None:
    header = (
        "mx.acme.example; dkim=pass header.d=acme.example; "
        "dmarc=fail (p=reject) header.from=acme.example"
    )
    assert not verify(LEAD, [header], FROM_RELAY, OURS).verified


def test_aligned_dkim_pass_verifies_when_the_envelope_agrees() -> None:
    header = "mx.acme.example;\r\n dkim=pass (2048-bit key) header.d=acme.example header.s=s1"
    assert verify(LEAD, [header], FROM_RELAY, OURS).verified
    forged = Arrival("smtp", envelope_from="attacker@evil.example", peer="127.0.0.1")
    assert not verify(LEAD, [header], forged, OURS).verified


def test_dmarc_pass_verifies_whatever_the_envelope() -> None:
    header = "mx.acme.example 1; dmarc=pass (p=none dis=none) header.from=acme.example"
    bulk = Arrival("smtp", envelope_from="bounce+42@mail.acme.example", peer="127.0.0.1")
    assert verify(LEAD, [header], bulk, OURS).verified


def test_spf_pass_counts_only_for_an_aligned_envelope_domain() -> None:
    aligned = "mx.acme.example; spf=pass smtp.mailfrom=li.lei@acme.example"
    assert verify(LEAD, [aligned], FROM_RELAY, OURS).verified
    other = "mx.acme.example; spf=pass smtp.mailfrom=evil.example"
    assert not verify(LEAD, [other], FROM_RELAY, OURS).verified


def test_a_bare_top_level_domain_is_never_aligned() -> None:
    header = "mx.acme.example; dkim=pass header.d=example"
    assert not verify(LEAD, [header], FROM_RELAY, OURS).verified
