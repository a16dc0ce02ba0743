"""Plain data the CLI hands to the signing layer: what to trust, how to sign.
(Who may have signed: :class:`supplychain.signing.policy.SignerPolicy`.)

Shared by blob, model and image signing and by the deploy gate, so every command spells the
identity and trust options the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    tlog_upload: bool | None = None  # key signing: log to Rekor (None: yes unless $SUPPLYCHAIN_TLOG_UPLOAD=false)
    rekor_url: str | None = None  # key signing: the Rekor v1 log (default: Sigstore's public log)
    legacy_tags: bool = False  # images: also write cosign v2 sha256-<hex>.sig / .att tags
    identity_token: str | None = None
    staging: bool = False
    trust_config: str | None = None
