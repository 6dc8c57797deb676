"""What the intake writes about a mail, in both languages: on its ticket or comment (a sender
whose address was not proven, a mail read only in part), and in answers sent outside a ticket
(missing form fields, a refused reply)."""

from __future__ import annotations

from adapters.email.parse import ORIGINAL_NAME, ParsedMail
from core.errors import FormInvalid, PermissionDenied
from core.forms import TicketType
from core.i18n import LOCALES, Locale, Text
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


def missing_fields(ttype: TicketType, title: str, exc: FormInvalid) -> dict[Locale, str]:
    out: dict[Locale, str] = {}
    for loc in LOCALES:
        lines = []
        for error in exc.errors:
            spec = ttype.field(error.field)
            label = spec.label.get(loc) if spec else error.field
            lines.append(f"  {label}: {error.text(loc)}")
        if loc == "zh-CN":
            head = f"您的请求“{title}”还缺少信息，未创建工单。请回复本邮件并补上这些行："
            tail = "每行写成“字段：值”。"
        else:
            head = f"Your request “{title}” needs more information; no ticket was opened yet."
            head += " Please send it again with these lines:"
            tail = "Write each one as “Field: value”."
        out[loc] = "\n".join([head, "", *lines, "", tail])
    return out


def refused(key: str, exc: PermissionDenied) -> dict[Locale, str]:
    return {
        "en": f"Your reply was not added to {key}: {exc.message}",
        "zh-CN": f"您的回复未添加到 {key}：{exc.message}",
    }
