"""Loading corpus mails by name, shared by the email tests."""

from __future__ import annotations

from pathlib import Path

from adapters.email.parse import ParsedMail, parse_mail

CORPUS = Path(__file__).with_name("corpus")
OUR_ADDRESSES = ("it@gongdan.example.com",)
DOMAIN = "gongdan.example.com"


def raw(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def load(name: str) -> ParsedMail:
    return parse_mail(raw(name), our_addresses=OUR_ADDRESSES)
