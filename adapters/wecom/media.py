"""Files a smart-robot message carries: decrypted with the message's own key, typed by sniffing."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from adapters.contract import DeliveryError
from adapters.ports import InboundFile
from adapters.wecom.client import Http
from adapters.wecom.inbound import FileRef

IMAGE_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"GIF8", "image/gif"))


def sniff_image_type(data: bytes) -> str:
    return next(
        (kind for magic, kind in IMAGE_MAGIC if data.startswith(magic)), "image/octet-stream"
    )


def decrypt_media(data: bytes, aeskey: str) -> bytes:
    """The robot's per-message file encryption: AES-256-CBC, IV = key[:16], PKCS#7 (32)."""
    key = base64.b64decode(aeskey + "=" * (-len(aeskey) % 4))
    if len(key) != 32 or not data or len(data) % 16:
        raise DeliveryError("file cannot be decrypted with its aeskey", permanent=True)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32:
        raise DeliveryError("file padding is wrong", permanent=True)
    return plain[:-pad]


async def download(http: Http, ref: FileRef, max_bytes: int) -> InboundFile:
    """A robot message's file or image, fetched, decrypted and named."""
    data, served = await http.read(ref.url, max_bytes + 32)
    plain = decrypt_media(data, ref.aeskey)
    kind = sniff_image_type(plain) if ref.kind == "image" else "application/octet-stream"
    name = (
        ref.filename
        or served
        or ("image." + kind.rpartition("/")[2] if ref.kind == "image" else "file")
    )
    return InboundFile("", name, kind, len(plain), plain)
