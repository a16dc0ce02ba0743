"""Deprecated names kept for the deploy gate while it moves into ``supplychain.gate``.

The cosign wire formats live in :mod:`supplychain.signing.formats.cosign`, keys in
:mod:`supplychain.signing.keys`, signers in :mod:`supplychain.signing.policy`. Nothing here but aliases.
"""

from __future__ import annotations

from supplychain.signing.formats.cosign import *  # noqa: F403
from supplychain.signing.keys import PublicKey as PublicKeyEntry
from supplychain.signing.keys import parse_public_key
from supplychain.signing.policy import Signer as SignerInfo

__all__ = ["PublicKeyEntry", "SignerInfo", "load_public_key"]


def load_public_key(data: bytes, *, name: str, path: str | None = None) -> PublicKeyEntry:
    return parse_public_key(data, source=name, name=name, path=path)
