"""Identity regular expressions are searched like cosign's Go regexp, whose \\d, \\w, \\s and \\b are
ASCII-only. Python's default Unicode classes accepted identities cosign refuses: a tag of
Arabic-Indic digits for `v\\d+`, a Cyrillic letter for `[\\w.-]+` (a false yes)."""

from __future__ import annotations

import pytest

from supplychain.signing.policy import Signer, SignerPolicy

WORKFLOW = r"^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v\d+\.\d+\.\d+$"
ISSUER = "https://token.actions.githubusercontent.com"


def _signer(identity: str) -> Signer:
    return Signer(kind="keyless", identity=identity, issuer=ISSUER)


@pytest.mark.parametrize(("pattern", "identity"), [
    (WORKFLOW, "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v\u0661.\u0660.\u0660"),
    (r"^[\w.-]+@example\.com$", "\u0430dmin@example.com"),  # Cyrillic a
    (r"^release\sbot$", "release\u00a0bot"),  # no-break space
])
def test_unicode_classes_do_not_widen_an_identity_regexp(pattern: str, identity: str) -> None:
    policy = SignerPolicy.create(identity_regexp=pattern, issuer=ISSUER)
    assert not policy.matches(_signer(identity))  # old code: True


def test_ascii_identities_still_match() -> None:
    policy = SignerPolicy.create(identity_regexp=WORKFLOW, issuer=ISSUER)
    assert policy.matches(_signer("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.20.3"))
    assert SignerPolicy.create(identity_regexp=r"(?i)^ADMIN@example\.com$", issuer=ISSUER).matches(
        _signer("admin@example.com"))
