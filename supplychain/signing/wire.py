"""Reading untrusted wire data: protobuf-JSON base64 and size-capped JSON.

Every format adapter and the trust-root loader decode through these two helpers, so one fix
(padding rules, nesting depth, size caps) reaches every signature format.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from supplychain.errors import InputError, VerificationError

_B64 = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")


class WireFormatError(InputError):
    """Malformed JSON / protobuf-JSON in a file the user gave (exit 2)."""


def b64decode_strict(value: Any, where: str) -> bytes:
    """protobuf-JSON ``bytes``: standard or URL-safe base64, padding optional; nothing else."""
    if not isinstance(value, str):
        raise WireFormatError(f"{where}: expected a base64 string, got {type(value).__name__}")
    s = value.replace("\n", "").replace("\r", "")  # Go's protojson ignores line breaks too
    if not _B64.fullmatch(s):
        raise WireFormatError(f"{where}: invalid base64")
    s = s.replace("-", "+").replace("_", "/").rstrip("=")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WireFormatError(f"{where}: invalid base64 ({exc})") from exc


def load_untrusted_json(raw: bytes, *, limit: int, what: str, not_json: str | None = None) -> Any:
    """Parse a size-capped JSON document from an untrusted source (registry, DSSE payload, log body).

    Too large or not JSON (bad UTF-8, over-long integers, deep nesting) is a VerificationError
    naming ``what``; the caller checks the shape.
    """
    if len(raw) > limit:
        raise VerificationError(f"{what} is too large ({len(raw)} bytes, limit {limit})")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise VerificationError(f"{not_json or what + ' is not JSON'}: {exc}") from exc


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireFormatError(f"{where}: expected an object")
    return value


def arr(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WireFormatError(f"{where}: expected an array")
    return value


def text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise WireFormatError(f"{where}: expected a string")
    return value


def integer(value: Any, where: str) -> int:
    """protobuf-JSON int64: a JSON number or a decimal string, at most 19 digits."""
    if isinstance(value, bool):
        raise WireFormatError(f"{where}: expected an integer")
    if isinstance(value, int) and -(1 << 63) <= value < (1 << 63):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,19}", value):
        n = int(value)
        if -(1 << 63) <= n < (1 << 63):
            return n
    raise WireFormatError(f"{where}: expected a 64-bit integer, got {str(value)[:40]!r}")


_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]+)-----END \1-----")


def pem_blocks(text: bytes | str) -> list[tuple[str, bytes]]:
    """(label, DER bytes) of every PEM block (RFC 7468) in ``text``; bad base64 blocks are skipped."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    out = []
    for m in _PEM.finditer(text):
        try:
            out.append((m.group(1), base64.b64decode("".join(m.group(2).split()), validate=True)))
        except (binascii.Error, ValueError):
            continue
    return out
