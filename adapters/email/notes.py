"""What a ticket or comment says about the mail it came from, in both languages: a sender
whose address was not proven, and a mail that could only be read in part."""

from __future__ import annotations

from adapters.email.parse import ORIGINAL_NAME, ParsedMail
from core.i18n import Locale, Text
from core.people import Person

# the stand-in for mail in a configured person's name that `senders.verify` did not prove
UNVERIFIED_PREFIX = "mail-unverified:"
UNVERIFIED = "发件人未验证 / unverified sender"


def unverified_person(address: str, locale: Locale) -> Person:
    """A requester that is only the address: no roles beyond requester, and no identity or
    e-mail, so the directory never maps the configured person's address to it."""
    return Person(
        id=f"{UNVERIFIED_PREFIX}{address}",
        name=Text(en=f"{address} (unverified sender)", zh=f"{address}（发件人未验证）"),
        locale=locale,
    )


def is_unverified(person: Person) -> bool:
    return person.id.startswith(UNVERIFIED_PREFIX)


def with_notes(text: str, parsed: ParsedMail, author: Person) -> str:
    """text headed by one line per thing the reader must know about this mail."""
    lines = []
    if is_unverified(author):
        lines.append(f"⚠ {UNVERIFIED}: {parsed.from_addr}")
    if parsed.problem is not None:
        lines.append(
            f"⚠ 邮件未能完整读取（{parsed.problem}），原始邮件见附件 {ORIGINAL_NAME} / "
            f"the mail could not be read in full ({parsed.problem}); "
            f"the original is attached as {ORIGINAL_NAME}"
        )
    if not lines:
        return text
    return "\n".join(lines) + ("\n\n" + text if text else "")
