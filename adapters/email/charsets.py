"""Decoding what Chinese and other real-world mailers send, whatever the label says.

Every function here turns bad bytes into U+FFFD instead of raising: one odd mail must not
stop a mailbox from being read.
"""

from __future__ import annotations

import codecs
import re
from email.errors import HeaderParseError
from email.header import decode_header

# GB2312 labels routinely carry GBK-only characters (喆堃镕); GB18030 is a superset of both.
_GB = frozenset(
    [
        "gb2312",
        "gbk",
        "x-gbk",
        "gb_2312-80",
        "gb_2312",
        "gb2312-80",
        "cp936",
        "ms936",
        "windows-936",
        "euc-cn",
        "x-euc-cn",
        "csgb2312",
        "chinese",
        "iso-ir-58",
        "gb18030",
    ]
)
_BIG5 = frozenset(
    ["big5", "big5-hkscs", "big5hkscs", "x-x-big5", "cn-big5", "csbig5", "x-big5", "cp950"]
)
# Labels that promise nothing; the bytes decide.
_UNLABELLED = frozenset(
    ["us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "8bit", "x-user-defined"]
)
_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "ks_c_5601-1987": "cp949",
}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the label corrected for real-world mislabelling; bad bytes become U+FFFD."""
    label = (charset or "").strip().strip("\"'").lower()
    if label in _GB:
        return data.decode("gb18030", "replace")
    if label in _BIG5:
        for codec in ("big5hkscs", "cp950"):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
        return data.decode("big5hkscs", "replace")
    codec = _ALIASES.get(label, label)
    if codec and label not in _UNLABELLED:
        try:
            codecs.lookup(codec)
        except LookupError:
            pass
        else:
            return data.decode(codec, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", "replace")


def decode_header_text(value: str) -> str:
    """A header value as text: raw 8-bit bytes and RFC 2047 encoded-words both decoded."""
    text = (
        raw_8bit_to_str(re.sub(r"\r?\n(?=[ \t])", "", value)).replace("\r", "").replace("\n", " ")
    )
    if "=?" not in text:
        return text
    try:
        # decode_header joins adjacent words of one charset before decoding, which is what
        # keeps a multibyte character split across two encoded-words intact.
        parts = decode_header(text)
    except (HeaderParseError, ValueError, LookupError):
        return text
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            out.append(_unencoded(chunk))
        else:
            out.append(decode_bytes(chunk, charset))
    return "".join(out)


def _unencoded(chunk: bytes) -> str:
    # decode_header hands back the unencoded stretches as raw-unicode-escape bytes.
    try:
        return chunk.decode("raw-unicode-escape")
    except UnicodeDecodeError:
        return chunk.decode("latin-1")


def raw_8bit_to_str(value: str) -> str:
    """Undo compat32's surrogate escapes of raw 8-bit header bytes: strict UTF-8, else GB18030."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return decode_bytes(value.encode("ascii", "surrogateescape"), None)
    return value
