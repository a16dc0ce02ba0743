"""Fixtures for signing tests: the local Sigstore instance (tests/sigstore_local.py)."""

from tests.sigstore_local import local_sigstore  # noqa: F401
