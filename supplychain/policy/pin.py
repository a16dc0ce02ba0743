"""Pin image references to digests, editing files in place.

Every tag-only image reference written literally in a Dockerfile (``FROM``, ``COPY --from``), a
compose file (``services.*.image``), a Kubernetes manifest (container ``image``) or an image list
is resolved to its manifest digest and rewritten as ``image:tag@sha256:...`` (``image`` with no
tag becomes ``image:latest@sha256:...``). Only the characters of the reference change: comments,
quoting, indentation and line endings stay as they were. All digests are resolved before any
file is written, and each file is replaced atomically.

References built from variables (``FROM ${BASE}``, ``image: app:${TAG}``) cannot be rewritten in
place; they are reported as ``skipped``.

Fresh pins: given a :class:`PinLookup` (a registry), ``--check`` also asks the registry whether
each pinned digest exists there (``missing`` when it does not) and, for ``tag@digest``, whether
the tag still points at that digest (``stale`` when the tag moved or is gone). ``update`` rewrites
stale ``tag@digest`` pins to the tag's current digest, in place and atomically like ``pin``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from supplychain.errors import InputError
from supplychain.fileio import atomic_write
from supplychain.policy.config import Policy, default_policy
from supplychain.policy.context import ImageUse
from supplychain.policy.engine import check_paths
from supplychain.policy.images import parse_image
from supplychain.policy.unresolved import UNRESOLVED_PREFIX
from supplychain.policy.yamlsrc import decode_text

Resolver = Callable[[str], str]


class PinLookup(Protocol):
    """What fresh-pin checks ask a registry."""

    def digest_exists(self, name: str, digest: str) -> bool: ...

    def tag_digest(self, name_and_tag: str) -> str | None: ...  # None: the tag does not exist


@dataclass
class PinEntry:
    file: str
    line: int
    column: int | None
    reference: str
    # "pinned" (or "unpinned" with --check), "already-pinned", "skipped", "invalid"; with a registry
    # lookup also "missing" (the pinned digest is not in the registry), "stale" (the tag moved) and
    # "updated" (a stale pin rewritten by --update)
    status: str
    pinned: str | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column, "reference": self.reference,
                "status": self.status, "pinned": self.pinned, "reason": self.reason}


@dataclass
class PinReport:
    entries: list[PinEntry] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    pairs: list[tuple[ImageUse, PinEntry]] = field(default_factory=list, repr=False)

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


class RegistryPinLookup:
    """A :class:`PinLookup` backed by :class:`supplychain.oci.registry.RegistryClient` (with its auth)."""

    def __init__(self, insecure_registries: Iterable[str] = ()) -> None:
        from supplychain.oci.registry import RegistryClient

        self.client = RegistryClient(insecure_registries=insecure_registries)
        self._exists: dict[str, bool] = {}
        self._tags: dict[str, str | None] = {}

    def digest_exists(self, name: str, digest: str) -> bool:
        key = f"{name}@{digest}"
        if key not in self._exists:
            self._exists[key] = self.client.head_manifest(key) is not None
        return self._exists[key]

    def tag_digest(self, name_and_tag: str) -> str | None:
        from supplychain.oci.registry import RegistryNotFound

        if name_and_tag not in self._tags:
            try:
                self._tags[name_and_tag] = self.client.resolve_digest(name_and_tag)
            except RegistryNotFound:
                self._tags[name_and_tag] = None
        return self._tags[name_and_tag]


def _freshness(use: ImageUse, entry: PinEntry, lookup: PinLookup) -> None:
    """Mark an already-pinned entry ``missing`` or ``stale`` from what the registry says."""
    ref = use.ref
    assert ref is not None and ref.digest is not None
    if not lookup.digest_exists(ref.name, ref.digest):
        entry.status = "missing"
        entry.reason = f"{ref.digest} does not exist in {ref.name}"
        return
    if not ref.tag:
        return
    current = lookup.tag_digest(f"{ref.name}:{ref.tag}")
    if current is None:
        entry.status = "stale"
        entry.reason = f"tag {ref.tag} no longer exists in {ref.name}"
    elif current != ref.digest:
        entry.status = "stale"
        entry.reason = f"tag {ref.tag} now points at {current}"
        entry.pinned = use.text[: use.text.rindex("@")] + "@" + current


def _rewrite(items: list[tuple[ImageUse, PinEntry]], done_status: str) -> dict[str, bytes]:
    """New contents of each file with every entry's ``use.text`` replaced by ``entry.pinned``."""
    by_file: dict[str, list[tuple[ImageUse, PinEntry]]] = {}
    for use, entry in items:
        by_file.setdefault(use.file, []).append((use, entry))
    new_texts: dict[str, bytes] = {}
    for path, file_items in by_file.items():
        with open(path, "rb") as fh:
            raw = fh.read()
        text = decode_text(raw, path)
        bom = raw.startswith(b"\xef\xbb\xbf")
        lines = text.splitlines(keepends=True)
        done: set[tuple[int, int | None]] = set()  # one ARG default may serve several FROMs
        # right to left so earlier columns on the same line stay valid
        for use, entry in sorted(file_items, key=lambda it: (it[0].line, it[0].column or 0), reverse=True):
            if (use.line, use.column) in done:
                entry.status = done_status
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
            entry.status = done_status
        out = "".join(lines)
        if out != text:
            new_texts[path] = (b"\xef\xbb\xbf" if bom else b"") + out.encode("utf-8")
    return new_texts


def _write_all(new_texts: dict[str, bytes], report: PinReport) -> None:
    for path, data in new_texts.items():
        mode = os.stat(path).st_mode & 0o7777
        atomic_write(path, data, mode=mode, may_replace_input=True)  # pinning rewrites its inputs
        report.files_changed.append(path)


def update_paths(paths: list[str], lookup: PinLookup, *, exclude: tuple[str, ...] = (),
                 policy: Policy | None = None) -> PinReport:
    """Refresh stale ``tag@digest`` pins under ``paths`` to the tag's current digest, in place.

    Every pin is checked first; nothing is written when a pinned digest is missing from its
    registry with no tag to refresh from (the report says so), and files are replaced atomically."""
    report = pin_paths(paths, None, check_only=True, exclude=exclude, policy=policy, lookup=lookup)
    todo = [(use, entry) for use, entry in report.pairs
            if entry.status == "stale" and entry.pinned is not None and use.literal and use.column is not None]
    for use, entry in report.pairs:
        if entry.status == "stale" and (entry.pinned is None or not use.literal or use.column is None):
            entry.reason = (entry.reason or "stale") + "; cannot be refreshed in place, edit it by hand"
    _write_all(_rewrite(todo, "updated"), report)
    return report


def _pinned_text(use: ImageUse, digest: str) -> str:
    assert use.ref is not None
    return use.text + ("" if use.ref.tag else ":latest") + "@" + digest


def pin_paths(paths: list[str], resolver: Resolver | None, *, check_only: bool = False,
              exclude: tuple[str, ...] = (), policy: Policy | None = None,
              lookup: PinLookup | None = None) -> PinReport:
    """Pin (or, with ``check_only``, just list) tag-only references under ``paths``.

    With ``check_only`` and a ``lookup``, pinned references are also checked against their
    registry (``missing``, ``stale``)."""
    report = PinReport()
    result = check_paths(paths, policy or default_policy(), exclude=exclude)
    todo: list[tuple[ImageUse, PinEntry]] = []
    for use in result.images:
        entry = PinEntry(use.file, use.line, use.column, use.text, "skipped")
        report.entries.append(entry)
        report.pairs.append((use, entry))
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
            if check_only and lookup is not None:
                _freshness(use, entry, lookup)
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
    _write_all(_rewrite(todo, "pinned"), report)
    return report
