"""The interface every cataloger implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from supplychain.oci.fs import FileTree, Want
from supplychain.sbom.package import Package


@dataclass
class Distro:
    """What /etc/os-release says (id "debian", version_id "12", ...)."""

    id: str | None = None
    version_id: str | None = None
    pretty_name: str | None = None
    id_like: list[str] = field(default_factory=list)

    @property
    def qualifier(self) -> str | None:
        """The purl ``distro`` qualifier, e.g. ``debian-12``."""
        if not self.id:
            return None
        return f"{self.id}-{self.version_id}" if self.version_id else self.id


@dataclass
class CatalogContext:
    distro: Distro = field(default_factory=Distro)
    notes: list[str] = field(default_factory=list)  # warnings to show the user


class Cataloger(Protocol):
    name: str

    def wants(self, path: str) -> Want:
        """Which files this cataloger needs (called for every path in the image)."""

    def catalog(self, tree: FileTree, ctx: CatalogContext) -> list[Package]:
        """The packages found in ``tree``. Raise InputError for a corrupt database."""


class FileAnalyzer(Protocol):
    """Reads files no path rule can name (every executable may be a Go binary) as they stream
    past in the one layer pass, and keeps only small facts about them (``FileEntry.facts[key]``).

    A cataloger lists its analyzers in an ``analyzers`` attribute (and sets ``reads_paths =
    False`` when its ``wants`` never asks for a path, so the per-path selection skips it: it is
    called for every member of every layer; a cataloger whose ``wants`` can only say yes to
    paths with certain endings may list them in ``path_suffixes``, and is asked only about
    those); analyzers shared by several
    catalogers (one ELF pass for Go, Rust and the binary classifiers) are the same object and
    run once. At most one analyzer reads a file: the first whose ``probe`` says yes.
    """

    key: str

    def probe(self, path: str, mode: int, size: int) -> bool:
        """Whether to read this regular file (cheap: called for every file of every layer)."""

    def analyze(self, path: str, size: int, chunks: Iterator[bytes]) -> Any:
        """Facts about the file from its bytes (read in order, may stop early), or None."""
