"""JSON as the platforms take it, written once for every channel."""

from __future__ import annotations

from typing import Any

import orjson


def compact_json(value: Any) -> str:
    """`value` as compact JSON text: no spaces, characters as UTF-8 rather than \\u escapes
    (request bodies, card parameters that must be JSON strings, socket frames)."""
    return orjson.dumps(value).decode()
