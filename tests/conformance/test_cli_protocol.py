"""sigstore-conformance's bundle verification suite, driven exactly as upstream drives a client.

Upstream (`test/test_bundle.py::test_verify`, `test/client.py`, `docs/cli_protocol.md`) runs every
case under `test/assets/bundle-verify/` twice through the client's CLI:

    verify-bundle --bundle B (--key K | --certificate-identity I --certificate-oidc-issuer O)
                  [--trusted-root T] ARTIFACT            # and again with sha256:<hex> instead

A case whose directory ends in `_fail` must be refused (non-zero exit), every other one accepted.
`verify-bundle` (beside this file) maps the protocol onto `supplychain verify blob --offline`.
The cases are the copies in ../shared/external/sigstore-bundles/conformance (SOURCES.md).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXTERNAL

CONF = EXTERNAL / "sigstore-bundles" / "conformance"
WRAPPER = Path(__file__).with_name("verify-bundle")
IDENTITY = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
            "extremely-dangerous-oidc-beacon.yml@refs/heads/main")
ISSUER = "https://token.actions.githubusercontent.com"


def _cases() -> list[str]:
    return sorted(p.name for p in CONF.iterdir() if (p / "bundle.sigstore.json").exists()) if CONF.is_dir() else []


def protocol_args(case: Path, *, digest: bool) -> list[str]:
    """upstream client.py's build_verify_args, for one case directory."""
    args = ["verify-bundle", "--bundle", str(case / "bundle.sigstore.json")]
    if (case / "key.pub").exists():
        args += ["--key", str(case / "key.pub")]
    else:
        ident = (case / "identity").read_text().strip() if (case / "identity").exists() else IDENTITY
        iss = (case / "issuer").read_text().strip() if (case / "issuer").exists() else ISSUER
        args += ["--certificate-identity", ident, "--certificate-oidc-issuer", iss]
    if (case / "trusted_root.json").exists():
        args += ["--trusted-root", str(case / "trusted_root.json")]
    artifact = case / "artifact" if (case / "artifact").exists() else case.parent / "a.txt"
    args.append("sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest() if digest else str(artifact))
    return args


def run_protocol(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(WRAPPER), *args], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize("form", ["path", "digest"])
@pytest.mark.parametrize("case", _cases() or ["<sigstore-conformance data missing>"])
def test_conformance_verify(case: str, form: str) -> None:
    d = CONF / case
    if not d.is_dir():
        pytest.skip(f"sigstore-conformance cases not found under {CONF}")
    r = run_protocol(protocol_args(d, digest=form == "digest"))
    assert "Traceback" not in r.stderr, r.stderr
    if case.endswith("_fail"):
        assert r.returncode != 0, f"{case} ({form}) was accepted:\n{r.stdout}"
        assert r.returncode in (1, 2), r.stderr  # refused as unverified or bad input, never a crash
    else:
        assert r.returncode == 0, f"{case} ({form}) was refused:\n{r.stdout}{r.stderr}"


def test_wrapper_refuses_usage_errors() -> None:
    assert run_protocol(["sign-bundle", "x"]).returncode == 2
    assert run_protocol(["verify-bundle", "--bundle"]).returncode == 2
