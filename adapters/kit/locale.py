"""The recipient's locale: a message meant for one person is written in their language."""

from __future__ import annotations

from collections.abc import Iterable

from core.i18n import Locale
from core.people import Directory, Person


def recipient_locale(
    directory: Directory,
    channel: str,
    external_id: str,
    default: Locale,
    *,
    known: Iterable[Person] = (),
) -> Locale:
    """The language of whoever `external_id` is on `channel`: their own, else `default` (a
    group conversation, a stranger). `known`: people matched by e-mail address when the
    directory has no such identity yet (a configured person's first mail)."""
    person = directory.by_identity(channel, external_id)
    if person is None:
        person = next((p for p in known if p.email and p.email == external_id), None)
    return person.locale if person is not None else default
