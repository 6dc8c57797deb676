"""Whether a mail's `From:` is proven: anyone can write any address there.

A mail counts as from its `From` address only when a boundary MTA we trust checked it and
said so in an Authentication-Results header (RFC 8601) bearing its authserv-id:

- `dmarc=pass` with `header.from` = the From domain, or
- `dkim=pass` with `header.d` aligned with the From domain (equal, or one a parent of the
  other), or `spf=pass` with `smtp.mailfrom` aligned — these two only when no DMARC result
  for the domain says otherwise, and, over SMTP, only when the envelope sender agrees with
  the From domain too.

Any `dmarc=` result other than pass for the From domain makes the mail unverified. The header
is believed only from where our boundary MTA put it: over SMTP when the connecting peer is one
of `trusted_relays` (a sender connecting directly can write any header), over IMAP always
(the mailbox is fed by the MX, which, per RFC 8601 §5, removes copies of its own header that
arrive from outside). Without such a header a mail is unverified.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)

_COMMENT = re.compile(r"\([^()]*\)")
_PAIR = re.compile(r"""([A-Za-z0-9_.-]+(?:/[0-9]+)?)\s*=\s*("[^"]*"|[^\s;"]+)""")


@dataclass(frozen=True)
class SenderCheck:
    """Whose Authentication-Results we believe (channels.email.sender_verification)."""

    # the authserv-ids of our boundary MTA (lower case); empty: no mail is ever verified
    authserv_ids: frozenset[str] = frozenset()
    # SMTP peers that are that MTA; from anyone else the header is ignored
    trusted_relays: tuple[Network, ...] = LOOPBACK


@dataclass(frozen=True)
class Arrival:
    """How a mail reached us: over our SMTP listener (with its envelope) or from IMAP."""

    via: Literal["smtp", "imap"]
    envelope_from: str | None = None
    peer: str | None = None  # the connecting IP address (SMTP)
    recipients: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Verdict:
    verified: bool
    why: str  # for the log: what proved it, or what was missing


@dataclass(frozen=True)
class _Result:
    method: str
    result: str
    props: dict[str, str]


def verify(
    from_addr: str, auth_results: Iterable[str], arrival: Arrival, check: SenderCheck
) -> Verdict:
    """Whether from_addr is proven by a trusted Authentication-Results header."""
    domain = from_addr.rpartition("@")[2].lower()
    if not domain:
        return Verdict(False, "no From address")
    if arrival.via == "smtp" and not _trusted_peer(arrival.peer, check.trusted_relays):
        return Verdict(False, f"Authentication-Results not trusted from peer {arrival.peer}")
    results = [
        r
        for header in auth_results
        for r in _results(header, check.authserv_ids)
        if r.result  # a method without a result says nothing
    ]
    if not results:
        return Verdict(False, "no Authentication-Results from a trusted authserv-id")
    dmarc = [r for r in results if r.method == "dmarc" and _prop(r, "header.from") == domain]
    if any(r.result != "pass" for r in dmarc):
        return Verdict(False, f"dmarc={dmarc[0].result} for {domain}")
    if dmarc:
        return Verdict(True, f"dmarc=pass for {domain}")
    envelope = (arrival.envelope_from or "").rpartition("@")[2].lower()
    if arrival.via == "smtp" and not (envelope and _aligned(envelope, domain)):
        return Verdict(False, f"envelope sender {arrival.envelope_from!r} differs from From")
    for r in results:
        if r.result != "pass":
            continue
        if r.method == "dkim" and _aligned(_prop(r, "header.d"), domain):
            return Verdict(True, f"dkim=pass for {_prop(r, 'header.d')}")
        if r.method == "spf" and _aligned(_prop(r, "smtp.mailfrom").rpartition("@")[2], domain):
            return Verdict(True, f"spf=pass for {_prop(r, 'smtp.mailfrom')}")
    return Verdict(False, f"no pass for {domain} in a trusted Authentication-Results")


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks (`10.0.0.5`, `10.1.0.0/16`, `::1`); ValueError names a bad one."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


def _trusted_peer(peer: str | None, relays: tuple[Network, ...]) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in relays)


def _results(header: str, authserv_ids: frozenset[str]) -> list[_Result]:
    """The method results of one header, if its authserv-id is one we trust."""
    text = header
    for _ in range(4):  # comments may nest; a few rounds remove what real MTAs write
        text = _COMMENT.sub(" ", text)
    head, *resinfos = text.split(";")
    words = head.split()
    if not words or words[0].lower() not in authserv_ids:
        return []
    found: list[_Result] = []
    for resinfo in resinfos:
        pairs = _PAIR.findall(resinfo)
        if not pairs:
            continue
        method, result = pairs[0]
        props = {k.lower(): v.strip('"').lower() for k, v in pairs[1:]}
        found.append(_Result(method.split("/")[0].lower(), result.strip('"').lower(), props))
    return found


def _prop(result: _Result, name: str) -> str:
    value = result.props.get(name, "")
    return value.rpartition("@")[2] if name == "header.from" else value


def _aligned(a: str, b: str) -> bool:
    """DMARC's relaxed alignment, approximated without the public suffix list: the same
    domain, or one a subdomain of the other where the shorter still has a dot."""
    a, b = a.lower().strip("."), b.lower().strip(".")
    if not a or not b:
        return False
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return "." in short and long.endswith("." + short)
