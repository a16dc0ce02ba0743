"""Red team: a gate receipt made while verifying against another Sigstore trust root (``--staging``,
a private ``--trusted-root``) must not let the webhook skip its own verification."""

from __future__ import annotations

from pathlib import Path

from supplychain.admission.receipts import ReceiptVerifier, receipt_statement, sign_receipt
from supplychain.signing.keys import load_private_key, load_public_key
from tests.image_signing.conftest import ENV, make_keypair

IMAGE = ("127.0.0.1:5999/acme/app", "sha256:" + "a" * 64)
POLICY = "sha256:" + "b" * 64


def test_receipt_of_another_trust_root_admits_nothing(tmp_path: Path) -> None:
    kp = make_keypair(tmp_path, "release")
    key = load_private_key(kp.private, password=ENV["SUPPLYCHAIN_PASSWORD"].encode())
    verifier = ReceiptVerifier([load_public_key(kp.public)])
    ours = "embedded-production"
    good = sign_receipt(receipt_statement([IMAGE], POLICY, trust_root=ours), key)
    assert verifier.admitted(good, POLICY, trust_root=ours)[0] == {f"{IMAGE[0]}@{IMAGE[1]}"}
    for other in (sign_receipt(receipt_statement([IMAGE], POLICY, trust_root="embedded-staging"), key),
                  sign_receipt(receipt_statement([IMAGE], POLICY), key)):  # (receipts that name no root)
        admitted, warning = verifier.admitted(other, POLICY, trust_root=ours)
        assert admitted == set() and "trust root" in warning
