"""Who may sign: the one signer-policy type, and the one place its options are validated.

A :class:`SignerPolicy` accepts a signature made with one of its public keys, or a keyless
signature whose certificate identity (SAN) and OIDC issuer match, each exactly or by regular
expression (searched, as cosign's Go regexp does). A list of policies accepts a signer when any
one does (:func:`accepts`). The CLI options, the gate policy file and library callers all build
policies through :meth:`SignerPolicy.create`, which refuses contradictory input ("this or that,
not both") and keyless policies that would accept anyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from supplychain.errors import InputError
from supplychain.signing.keys import PublicKey


@dataclass(frozen=True)
class Signer:
    """Who made a verified signature (the verifier's answer; compared with policies)."""

    kind: str  # "key" or "keyless"
    identity: str | None = None  # certificate SAN (keyless / certificate)
    issuer: str | None = None  # OIDC issuer (keyless)
    key: str | None = None  # name of the public key that verified (key-based)
    key_fingerprint: str | None = None  # cosign hint: base64 sha256 of the DER public key
    time: datetime | None = None  # verified signing time (transparency log / timestamp), if any
    time_source: str | None = None  # "rekor", "tsa", or None (not attested)

    def describe(self) -> str:
        if self.kind == "keyless":
            return f"{self.identity} (issuer {self.issuer})"
        if self.key and self.key_fingerprint and self.key != self.key_fingerprint:
            return f"key {self.key} ({self.key_fingerprint})"
        return f"key {self.key or self.key_fingerprint}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "identity": self.identity,
            "issuer": self.issuer,
            "key": self.key,
            "key_fingerprint": self.key_fingerprint,
            "time": self.time.isoformat().replace("+00:00", "Z") if self.time else None,
            "time_source": self.time_source,
        }


@lru_cache(maxsize=256)
def compile_regexp(pattern: str, what: str = "regular expression") -> re.Pattern[str]:
    # re.ASCII: Go's (cosign's) \d, \w, \s and \b are ASCII-only; Python's default Unicode classes
    # would let "v\u0661.0" pass `v\d+\.\d+` or a Cyrillic letter pass `[\w.-]+`
    try:
        return re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise InputError(f"{what}: invalid regular expression {pattern!r}: {exc}") from exc


def _search(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return False  # Python's `$` also matches before a final newline; Go's (cosign's) does not
    return compile_regexp(pattern).search(value) is not None


@dataclass(frozen=True)
class SignerPolicy:
    """One acceptable signer: public keys, or a keyless identity (SAN + issuer, exact or regex).

    ``key_path`` names a public key file not loaded yet (:meth:`loaded_keys` loads it once).
    """

    name: str = "command line"
    keys: tuple[PublicKey, ...] = ()
    key_path: str | None = None
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None

    @property
    def is_key(self) -> bool:
        return bool(self.keys) or self.key_path is not None

    @property
    def has_identity(self) -> bool:
        return any(v is not None for v in (self.identity, self.identity_regexp, self.issuer, self.issuer_regexp))

    @classmethod
    def create(cls, *, name: str = "command line", key: str | None = None, keys: Iterable[PublicKey] = (),
               identity: str | None = None, identity_regexp: str | None = None, issuer: str | None = None,
               issuer_regexp: str | None = None, options: dict[str, str] | None = None,
               require: bool = True) -> SignerPolicy:
        """Validate and build a policy. ``options`` maps field names to how the user spelled them
        (``--cert-identity``, ``signers[2].subject``) for the error messages."""
        spell = {"key": "--key", "identity": "--cert-identity", "identity_regexp": "--cert-identity-regexp",
                 "issuer": "--cert-oidc-issuer", "issuer_regexp": "--cert-oidc-issuer-regexp", **(options or {})}
        keys = tuple(keys)
        given = {"identity": identity, "identity_regexp": identity_regexp, "issuer": issuer,
                 "issuer_regexp": issuer_regexp}
        named = [spell[k] for k, v in given.items() if v is not None]
        if (key is not None or keys) and named:
            raise InputError(f"give {spell['key']} (key signature) or {' / '.join(named)} (keyless identity), "
                             "not both")
        for exact, rx in (("identity", "identity_regexp"), ("issuer", "issuer_regexp")):
            if given[exact] is not None and given[rx] is not None:
                raise InputError(f"give {spell[exact]} or {spell[rx]}, not both")
            pattern = given[rx]
            if pattern is not None:
                compile_regexp(pattern, spell[rx])
        if key is None and not keys:
            # an empty value is no expectation (an empty regex matches anyone): refused, as cosign does
            if not identity and not identity_regexp:
                if not require and not named:
                    return cls(name=name)
                raise InputError(
                    f"no expected signer: give {spell['key']} PUBLIC.pem, or {spell['identity']} / "
                    f"{spell['identity_regexp']} with {spell['issuer']} / {spell['issuer_regexp']}",
                    hint="e.g. --cert-identity release@example.com --cert-oidc-issuer https://accounts.google.com")
            if not issuer and not issuer_regexp and require:
                raise InputError(f"keyless verification needs the expected OIDC issuer: {spell['issuer']} or "
                                 f"{spell['issuer_regexp']}")
        return cls(name=name, keys=keys, key_path=key, identity=identity, identity_regexp=identity_regexp,
                   issuer=issuer, issuer_regexp=issuer_regexp)

    def check_keyless(self) -> None:
        """A keyless policy must expect an identity and an issuer (empty values expect nothing)."""
        if not self.identity and not self.identity_regexp:
            raise InputError("keyless verification needs the expected signer: --cert-identity or "
                             "--cert-identity-regexp", hint="or verify a key-signed signature with --key PUBLIC.pem")
        if not self.issuer and not self.issuer_regexp:
            raise InputError("keyless verification needs the expected OIDC issuer: --cert-oidc-issuer or "
                             "--cert-oidc-issuer-regexp")

    def loaded_keys(self) -> tuple[PublicKey, ...]:
        if self.keys or self.key_path is None:
            return self.keys
        from supplychain.signing.keys import load_public_key

        return (load_public_key(self.key_path),)

    def identity_matches(self, san: str | None, issuer: str | None, *, need_issuer: bool = True) -> bool:
        """Keyless signers need both expectations (a policy without them accepts no one);
        certificates from a private PKI (``need_issuer=False``) have no OIDC issuer to expect."""
        if not (self.identity or self.identity_regexp):
            return False
        if need_issuer and not (self.issuer or self.issuer_regexp):
            return False
        if self.identity is not None and san != self.identity:
            return False
        if self.identity_regexp is not None and not _search(self.identity_regexp, san):
            return False
        if self.issuer is not None and issuer != self.issuer:
            return False
        return not (self.issuer_regexp is not None and not _search(self.issuer_regexp, issuer))

    def mismatch(self, san: str | None, issuer: str | None) -> str:
        """Why ``(san, issuer)`` is not accepted (for error messages)."""
        if self.identity is not None and san != self.identity:
            return f"signer identity {san!r} is not the expected {self.identity!r}"
        if self.identity_regexp is not None and not _search(self.identity_regexp, san):
            return f"signer identity {san!r} does not match {self.identity_regexp!r}"
        if self.issuer is not None and issuer != self.issuer:
            return f"OIDC issuer {issuer!r} is not the expected {self.issuer!r}"
        if self.issuer_regexp is not None and not _search(self.issuer_regexp, issuer):
            return f"OIDC issuer {issuer!r} does not match {self.issuer_regexp!r}"
        return f"signer {san!r} (issuer {issuer!r}) is not accepted"

    def matches(self, signer: Signer) -> bool:
        if self.is_key:
            fps = {k.fingerprint for k in self.loaded_keys()}
            return signer.kind == "key" and signer.key_fingerprint in fps
        if signer.kind != "keyless":
            return False
        return self.identity_matches(signer.identity, signer.issuer)

    def describe(self) -> str:
        if self.is_key:
            return "key " + ", ".join(k.name for k in self.loaded_keys())
        who = self.identity or (f"/{self.identity_regexp}/" if self.identity_regexp else "any identity")
        iss = self.issuer or (f"/{self.issuer_regexp}/" if self.issuer_regexp else "any issuer")
        return f"{who} from {iss}"


def accepts(policies: Iterable[SignerPolicy], signer: Signer) -> bool:
    """Any-of: does one of ``policies`` accept ``signer``?"""
    return any(p.matches(signer) for p in policies)


ACCEPT_ANY_IDENTITY = SignerPolicy(name="any keyless signer", identity_regexp=".*", issuer_regexp=".*")
