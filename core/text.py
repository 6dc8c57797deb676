"""Text a database can store: no NUL and no unpaired surrogate, checked once for every channel.

JSON escapes (`"\\ud800"`), UTF-7 mail headers and Slack payloads can all deliver a string that
Python holds but neither SQLite's driver (it cannot encode it) nor PostgreSQL (it refuses NUL in
text) can store. An API refuses such text naming the field; a person's chat message or mail is
kept, with the offending characters replaced, rather than lost for one bad character.
"""

from __future__ import annotations

import re

from core.errors import FieldError

REPLACEMENT = "\ufffd"

# a NUL, or a surrogate code point (any surrogate in a Python str is unpaired: a valid pair
# decodes to one astral character)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def field_problem(field: str, value: str) -> FieldError | None:
    """Why value cannot be stored as the text of field (bilingual), or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return FieldError(field, "text", "contains a NUL character", "包含空字符（NUL）")
    code = f"U+{ord(found.group()):04X}"
    return FieldError(
        field, "text", f"contains an unpaired surrogate ({code})", f"包含无效的代理字符（{code}）"
    )


def clean_text(value: str) -> str:
    """value with every NUL and unpaired surrogate replaced by U+FFFD."""
    if _UNSTORABLE.search(value) is None:
        return value
    return _UNSTORABLE.sub(REPLACEMENT, value)
