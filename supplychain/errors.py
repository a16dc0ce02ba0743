"""One exception tree for the whole package; each class maps to a process exit code.

Exit codes: 0 ok, 1 verification failed / policy violated, 2 bad input or usage,
3 registry or network failure (or the gate could not decide), 70 internal error (a bug in
supplychain, not in the input; ``EX_SOFTWARE`` of sysexits.h).

Raise these with a message that names the file / reference / field at fault, and,
where it helps, a ``hint`` that says what to do instead. The CLI prints
``error: <message>`` (and ``hint: <hint>``) to stderr and exits with ``exit_code``;
no traceback reaches the user unless ``--debug`` is given.
"""

from __future__ import annotations

import copy
from typing import Self

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_NETWORK = 3
EXIT_INTERNAL = 70


class SupplychainError(Exception):
    """Base class. Defaults to bad input (exit 2)."""

    exit_code: int = EXIT_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def with_prefix(self, prefix: str) -> Self:
        """The same error (same class, so the same exit code, and the same hint) with ``prefix: ``
        in front of the message: for re-raising with the file / field at fault named."""
        new = copy.copy(self)
        new.message = f"{prefix}: {self.message}"
        new.args = (new.message,)
        return new


class InputError(SupplychainError):
    """Bad input or usage: unreadable path, malformed file, invalid option value."""

    exit_code = EXIT_INPUT


class VerificationError(SupplychainError):
    """A signature, bundle, digest or schema did not verify (exit 1)."""

    exit_code = EXIT_FAILED


class PolicyViolation(SupplychainError):
    """A policy or gate decision said no (exit 1)."""

    exit_code = EXIT_FAILED


class RegistryError(SupplychainError):
    """A registry answered with an error, or could not be reached (exit 3)."""

    exit_code = EXIT_NETWORK


class NetworkError(RegistryError):
    """A network failure talking to a registry or a Sigstore service (exit 3)."""


class InternalError(SupplychainError):
    """A bug in supplychain (exit 70): an invariant broke, never a problem with the input."""

    exit_code = EXIT_INTERNAL
