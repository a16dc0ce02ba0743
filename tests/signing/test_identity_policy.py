"""The keyless identity policy fails closed: an empty expectation is no expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain.errors import InputError
from supplychain.signing.policy import SignerPolicy as IdentitySpec
from supplychain.signing.trust import load_trusted_root_file
from supplychain.signing.verifier import verify_bundle
from tests.conftest import EXTERNAL, run_cli
from tests.signing.test_conformance import BEACON, GHA

CONF = EXTERNAL / "sigstore-bundles" / "conformance"


@pytest.mark.parametrize("spec", [
    IdentitySpec(identity_regexp="", issuer=GHA),  # e.g. --cert-identity-regexp "$UNSET_VAR"
    IdentitySpec(identity=BEACON, issuer_regexp=""),
    IdentitySpec(identity="", issuer=GHA),
    IdentitySpec(identity=BEACON, issuer=""),
    IdentitySpec(identity_regexp="", issuer_regexp=""),
])
def test_empty_identity_or_issuer_is_not_a_policy(spec: IdentitySpec, external: Path) -> None:
    d = CONF / "happy-path-v0.3"
    if not d.is_dir():
        pytest.skip("sigstore-conformance cases not found")
    root = load_trusted_root_file(external / "sigstore-bundles" / "trusted-roots" / "production" / "trusted_root.json")
    with pytest.raises(InputError):
        verify_bundle((d / "bundle.sigstore.json").read_bytes(), identity=spec, trust=root,
                      artifact=(CONF / "a.txt").read_bytes())


def test_cli_empty_identity_regexp_is_refused(external: Path) -> None:
    d = CONF / "happy-path-v0.3"
    if not d.is_dir():
        pytest.skip("sigstore-conformance cases not found")
    root = external / "sigstore-bundles" / "trusted-roots" / "production" / "trusted_root.json"
    r = run_cli("verify", "blob", str(CONF / "a.txt"), "--bundle", str(d / "bundle.sigstore.json"),
                "--trusted-root", str(root), "--cert-identity-regexp", "", "--cert-oidc-issuer", GHA)
    assert r.exit_code == 2, r.stdout + r.stderr
    assert "identity" in r.stderr


@pytest.mark.parametrize(("san", "issuer"), [
    ("me@example.com\n", "https://accounts.example.com"),  # Python's `$` also matches before a final newline
    ("me@example.com", "https://accounts.example.com\n"),
])
def test_anchored_regex_means_end_of_text(san: str, issuer: str) -> None:
    """`^…$` anchors the whole value, as in Go (cosign): a trailing newline is not the end."""
    from supplychain.signing.policy import Signer

    spec = IdentitySpec(identity_regexp=r"^me@example\.com$", issuer_regexp=r"^https://accounts\.example\.com$")
    assert spec.identity_matches("me@example.com", "https://accounts.example.com")
    assert not spec.identity_matches(san, issuer)
    assert spec.matches(Signer("keyless", "me@example.com", "https://accounts.example.com"))
    assert not spec.matches(Signer("keyless", san, issuer))
