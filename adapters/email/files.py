"""A mail's attachments as the files a ticket keeps: stable ids, the form field, the text lines.

Ids come from the mail's dedupe key and the part's position, so a redelivered mail (SMTP retry
after a 451, IMAP message still unseen) names the same files and storing them again is harmless.
"""

from __future__ import annotations

from adapters.email.formfields import FieldValue
from adapters.email.parse import ParsedMail
from adapters.ports import InboundFile, attachment_id
from core.forms import FieldKind, TicketType

SOURCE = "email"


def inbound_files(parsed: ParsedMail) -> list[InboundFile]:
    return [
        InboundFile(
            id=attachment_id(SOURCE, parsed.dedupe_key, index),
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            data=a.data,
        )
        for index, a in enumerate(parsed.attachments, 1)
    ]


def fill_attachment_field(
    ttype: TicketType, fields: dict[str, FieldValue], files: list[InboundFile]
) -> None:
    """The type's first attachment field (e.g. repair.photos) gets the ids of the files kept in
    full, as many as it allows; files over the size limit are only mentioned in the text."""
    kept = [f.id for f in files if f.complete]
    if not kept:
        return
    for spec in ttype.fields:
        if spec.kind == FieldKind.ATTACHMENT and spec.id not in fields:
            limit = int(spec.max) if spec.max is not None else len(kept)
            fields[spec.id] = kept[:limit]
            return


def with_attachment_lines(text: str, parsed: ParsedMail) -> str:
    """The text plus one 📎 line per file, so every channel shows what came with the mail."""
    if not parsed.attachments:
        return text
    lines = [
        f"📎 {a.filename} ({a.size} bytes{'' if a.stored else ', over the size limit'})"
        for a in parsed.attachments
    ]
    return "\n".join([text, "", *lines]).strip()
