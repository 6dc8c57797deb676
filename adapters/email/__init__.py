"""The email channel: parsing, threading and loop-safety policy (pure), used by the mail I/O."""

from adapters.contract import ChannelEnv, ChannelSpec
from adapters.email.channel import EmailChannel
from adapters.email.config import EmailConfig, check, settings
from adapters.email.formfields import parse_field_lines
from adapters.email.loop import (
    DEFAULT_LOOP_HEADER,
    AckLimiter,
    AutoKind,
    Bounce,
    auto_kind,
    may_auto_reply,
    parse_bounce,
)
from adapters.email.parse import Attachment, ParsedMail, parse_mail, strip_quoted
from adapters.email.threads import (
    our_message_id,
    referenced_ids,
    reply_headers,
    subject_with_tag,
    ticket_key_from_message_id,
    ticket_key_from_subject,
)


def build(section: EmailConfig, env: ChannelEnv) -> EmailChannel:
    mail = settings(
        section,
        base_url=env.base_url,
        locale=env.default_locale,
        service_name=env.service_name,
        max_attachment_bytes=env.max_attachment_bytes,
        people=env.people,
    )
    return EmailChannel(mail, env.ports, env.clock)


SPEC = ChannelSpec(name="email", config=EmailConfig, build=build, check=check)

__all__ = [
    "DEFAULT_LOOP_HEADER",
    "SPEC",
    "AckLimiter",
    "Attachment",
    "AutoKind",
    "Bounce",
    "ParsedMail",
    "auto_kind",
    "may_auto_reply",
    "our_message_id",
    "parse_bounce",
    "parse_field_lines",
    "parse_mail",
    "referenced_ids",
    "reply_headers",
    "strip_quoted",
    "subject_with_tag",
    "ticket_key_from_message_id",
    "ticket_key_from_subject",
]
