"""A local Sigstore instance (Fulcio, Rekor v1 from npm's @sigstore/mock) on 127.0.0.1 for tests.

Use it from any test package: import the fixture in that package's conftest.py::

    from tests.sigstore_local import local_sigstore  # noqa: F401

and in the tests::

    from tests.sigstore_local import LocalSigstore, js_verify

    def test_x(local_sigstore: LocalSigstore) -> None:
        signer = SignerSpec(identity_token=local_sigstore.token(), trust_config=str(local_sigstore.trust_config))
        ...  # verify with TrustSpec(trusted_root=str(local_sigstore.trusted_root), offline=True)

The fixture skips (with the reason) when node or the npm helpers in tests/js are missing
(``scripts/setup-test-env.sh`` installs them). Not exercised by this instance: RFC 3161
timestamps (the mock TSA speaks JSON, so the signing config lists no TSA) and Rekor v2.
"""

from __future__ import annotations

import base64
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent / "js"
DEFAULT_SUBJECT = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
DEFAULT_ISSUER = "https://oidc.local.test"


def _b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def make_token(subject: str = DEFAULT_SUBJECT, issuer: str = DEFAULT_ISSUER, *,
               email: str | None = "ci@acme.test", lifetime: int = 600) -> str:
    """An unsigned test JWT with aud 'sigstore' (the mock Fulcio trusts any token; SAN = sub)."""
    now = int(time.time())
    claims: dict[str, object] = {"iss": issuer, "sub": subject, "aud": "sigstore", "iat": now,
                                 "nbf": now - 5, "exp": now + lifetime}
    if email:
        claims["email"] = email
    return _b64url({"alg": "none", "typ": "JWT"}) + "." + _b64url(claims) + ".c2lnbmF0dXJl"


@dataclass
class LocalSigstore:
    url: str
    trusted_root: Path  # trusted_root.json for verification
    trust_config: Path  # ClientTrustConfig (trusted root + signing config) for signing
    subject: str = DEFAULT_SUBJECT
    issuer: str = DEFAULT_ISSUER

    def token(self, subject: str | None = None, issuer: str | None = None) -> str:
        return make_token(subject or self.subject, issuer or self.issuer)


def npm_helpers_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (needed for the local Sigstore test instance)"
    for pkg in ("@sigstore/mock", "@sigstore/verify"):
        if not (JS_DIR / "node_modules" / pkg).is_dir():
            return f"npm helper {pkg} missing: run scripts/setup-test-env.sh (npm ci in tests/js)"
    return None


@pytest.fixture(scope="session")
def local_sigstore() -> Iterator[LocalSigstore]:
    reason = npm_helpers_missing()
    if reason:
        pytest.skip(reason)
    out = Path(tempfile.mkdtemp(prefix="supplychain-sigstore-"))
    log = open(out / "server.log", "wb")
    proc = subprocess.Popen([shutil.which("node") or "node", str(JS_DIR / "sigstore-server.mjs"), str(out)],
                            stdout=subprocess.PIPE, stderr=log, cwd=JS_DIR)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = b""
    deadline = time.monotonic() + 30
    while not line.endswith(b"\n") and time.monotonic() < deadline and proc.poll() is None:
        if sel.select(timeout=0.5):
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
    sel.close()
    if not line.endswith(b"\n"):
        proc.kill()
        log.close()
        raise RuntimeError("local Sigstore did not start: " + (out / "server.log").read_text()[-2000:])
    info = json.loads(line.decode())
    try:
        yield LocalSigstore(url=info["url"], trusted_root=Path(info["trustedRoot"]),
                            trust_config=Path(info["trustConfig"]))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(out, ignore_errors=True)


def js_verify(bundle: Path, trusted_root: Path, *, artifact: Path | None = None,
              san: str | None = None, issuer: str | None = None, key: Path | None = None,
              timestamp_threshold: int = 1) -> subprocess.CompletedProcess[str]:
    """Verify with sigstore-js (@sigstore/verify) offline; returncode 0 = verified."""
    args = [shutil.which("node") or "node", str(JS_DIR / "verify.mjs"), "--bundle", str(bundle),
            "--trusted-root", str(trusted_root), "--timestamp-threshold", str(timestamp_threshold)]
    if artifact is not None:
        args += ["--artifact", str(artifact)]
    if key is not None:
        args += ["--key", str(key)]
    else:
        args += ["--san", san or DEFAULT_SUBJECT, "--issuer", issuer or DEFAULT_ISSUER]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=JS_DIR)
