"""Plain data the CLI hands to the signing layer: who may have signed, what to trust, how to sign.

Shared by blob, model and image signing and by the deploy gate, so every command spells the
identity and trust options the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IdentitySpec:
    """Who must have signed: a keyless identity (issuer + subject, exact or regex) or a public key."""

    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    key_path: str | None = None  # PEM public key (key-based verification)

    @property
    def is_key(self) -> bool:
        return self.key_path is not None


@dataclass(frozen=True)
class TrustSpec:
    """What to trust: an explicit trusted_root.json, a ClientTrustConfig, or an embedded root."""

    trusted_root: str | None = None
    trust_config: str | None = None
    staging: bool = False
    offline: bool = False


@dataclass(frozen=True)
class SignerSpec:
    """How to sign: with a private key, or keyless with an OIDC identity token."""

    key_path: str | None = None  # PEM private key; password from SUPPLYCHAIN_PASSWORD or a prompt
    identity_token: str | None = None
    staging: bool = False
    trust_config: str | None = None
