"""Pin image references to digests, editing files in place.

Every tag-only image reference written literally in a Dockerfile (``FROM``, ``COPY --from``), a
compose file (``services.*.image``), a Kubernetes manifest (container ``image``) or an image list
is resolved to its manifest digest and rewritten as ``image:tag@sha256:...`` (``image`` with no
tag becomes ``image:latest@sha256:...``). Only the characters of the reference change: comments,
quoting, indentation and line endings stay as they were. All digests are resolved before any
file is written, and each file is replaced atomically.

References built from variables (``FROM ${BASE}``, ``image: app:${TAG}``) cannot be rewritten in
place; they are reported as ``skipped``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from supplychain.errors import InputError
from supplychain.fileio import atomic_write
from supplychain.policy.config import Policy, default_policy
from supplychain.policy.context import ImageUse
from supplychain.policy.engine import check_paths
from supplychain.policy.images import parse_image
from supplychain.policy.unresolved import UNRESOLVED_PREFIX
from supplychain.policy.yamlsrc import decode_text

Resolver = Callable[[str], str]


@dataclass
class PinEntry:
    file: str
    line: int
    column: int | None
    reference: str
    status: str  # "pinned" (or "unpinned" with --check), "already-pinned", "skipped", "invalid"
    pinned: str | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column, "reference": self.reference,
                "status": self.status, "pinned": self.pinned, "reason": self.reason}


@dataclass
class PinReport:
    entries: list[PinEntry] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)


def registry_resolver(insecure_registries: Iterable[str] = ()) -> Resolver:
    """A resolver backed by :class:`supplychain.oci.registry.RegistryClient` (with its auth)."""
    from supplychain.oci.registry import RegistryClient

    client = RegistryClient(insecure_registries=insecure_registries)
    cache: dict[str, str] = {}

    def resolve(ref: str) -> str:
        if ref not in cache:
            cache[ref] = client.resolve_digest(ref)
        return cache[ref]

    return resolve


def _pinned_text(use: ImageUse, digest: str) -> str:
    assert use.ref is not None
    return use.text + ("" if use.ref.tag else ":latest") + "@" + digest


def pin_paths(paths: list[str], resolver: Resolver | None, *, check_only: bool = False,
              exclude: tuple[str, ...] = (), policy: Policy | None = None) -> PinReport:
    """Pin (or, with ``check_only``, just list) tag-only references under ``paths``."""
    report = PinReport()
    result = check_paths(paths, policy or default_policy(), exclude=exclude)
    todo: list[tuple[ImageUse, PinEntry]] = []
    for use in result.images:
        entry = PinEntry(use.file, use.line, use.column, use.text, "skipped")
        report.entries.append(entry)
        if use.ref is None:
            # never "fine": --check fails on it, and pin reports it
            entry.status = "invalid"
            entry.reason = "not a valid image reference"
            try:
                parse_image(use.text)
            except ValueError as exc:
                entry.reason = f"not a valid image reference: {exc}"
            if use.unresolved:
                entry.status = "unpinned" if check_only else "skipped"
                entry.reason = (use.unresolved if use.text.startswith(UNRESOLVED_PREFIX)
                                else f"uses ${{{use.unresolved}}} which has no value")
            continue
        if use.ref.digest:
            entry.status = "already-pinned"
            continue
        if check_only:
            entry.status = "unpinned"
            continue
        if not use.literal or use.column is None:
            entry.reason = "built from variables; pin the variable's value instead"
            continue
        todo.append((use, entry))
    if check_only:
        return report
    if resolver is None:
        raise InputError("no registry resolver given")
    digests: dict[str, str] = {}
    for use, _entry in todo:
        assert use.ref is not None
        key = use.ref.normalized if use.ref.tag else use.ref.name + ":latest"
        if key not in digests:
            digests[key] = resolver(key)
        _entry.pinned = _pinned_text(use, digests[key])
    by_file: dict[str, list[tuple[ImageUse, PinEntry]]] = {}
    for use, entry in todo:
        by_file.setdefault(use.file, []).append((use, entry))
    new_texts: dict[str, bytes] = {}
    for path, items in by_file.items():
        with open(path, "rb") as fh:
            raw = fh.read()
        text = decode_text(raw, path)
        bom = raw.startswith(b"\xef\xbb\xbf")
        lines = text.splitlines(keepends=True)
        done: set[tuple[int, int | None]] = set()  # one ARG default may serve several FROMs
        # right to left so earlier columns on the same line stay valid
        for use, entry in sorted(items, key=lambda it: (it[0].line, it[0].column or 0), reverse=True):
            if (use.line, use.column) in done:
                entry.status = "pinned"
                continue
            done.add((use.line, use.column))
            idx, col = use.line - 1, (use.column or 1) - 1
            line = lines[idx] if idx < len(lines) else ""
            if line[col:col + len(use.text)] != use.text:
                entry.status, entry.pinned = "skipped", None
                entry.reason = "reference is not written on one line as parsed; edit it by hand"
                continue
            assert entry.pinned is not None
            lines[idx] = line[:col] + entry.pinned + line[col + len(use.text):]
            entry.status = "pinned"
        out = "".join(lines)
        if out != text:
            new_texts[path] = (b"\xef\xbb\xbf" if bom else b"") + out.encode("utf-8")
    for path, data in new_texts.items():
        mode = os.stat(path).st_mode & 0o7777
        atomic_write(path, data, mode=mode, may_replace_input=True)  # pinning rewrites its inputs
        report.files_changed.append(path)
    return report
