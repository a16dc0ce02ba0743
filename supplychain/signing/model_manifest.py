"""OpenSSF model-signing manifests: which files make up a model, their digests, the in-toto statement.

Byte-compatible with ``model_signing`` 1.1.1 (``model_signing.manifest`` and
``model_signing._serialization``):

* file serialization: one resource per file, named by its POSIX path relative to the model
  directory (``"."`` when the model is a single file), digest = hash of the whole file,
  algorithm ``sha256`` / ``blake3`` / ``blake2b``;
* shard serialization: one resource per ``[start, end)`` shard of ``shard_size`` bytes, named
  ``path:start:end``, algorithm ``<hash>-sharded-<shard_size>``; empty files have no shards;
* resources are ordered like model_signing orders its manifest keys (path components, then
  offsets), and ``subject[0].digest.sha256`` is SHA-256 over the concatenated raw digests in
  that order;
* the model name is the last component of the model path.

The legacy v0.2 predicate ``https://model_signing/Digests/v0.1`` (one subject per file) is read too.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from supplychain.errors import InputError, VerificationError
from supplychain.fileio import note_input
from supplychain.signing import hashing
from supplychain.vocab import IN_TOTO_PAYLOAD_TYPE

PREDICATE_TYPE = "https://model_signing/signature/v1.0"
PREDICATE_TYPE_V02 = "https://model_signing/Digests/v0.1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = IN_TOTO_PAYLOAD_TYPE
GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")
DEFAULT_SHARD_SIZE = 1_000_000_000
# Shard manifests hold no resource for an empty file, so model_signing cannot tell an empty file
# added or removed. Shard signatures we make also list every file under this predicate key
# (model_signing's v1.0 predicate: verifiers ignore fields other than serialization/resources).
FILES_KEY = "https://supplychain.dev/model-signing/files/v1"
MAX_SEGMENTS = 2_000_000  # bounds memory when a signature asks for a tiny shard size
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


@dataclass(frozen=True)
class Serialization:
    """``predicate.serialization``: how the manifest was built (needed to rebuild it)."""

    method: str = "files"  # "files" | "shards"
    hash_type: str = "sha256"
    shard_size: int | None = None
    allow_symlinks: bool = False
    ignore_paths: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"method": self.method, "hash_type": self.hash_type}
        if self.method == "shards":
            d["shard_size"] = self.shard_size
        d["allow_symlinks"] = self.allow_symlinks
        if self.ignore_paths:
            d["ignore_paths"] = list(self.ignore_paths)
        return d

    @property
    def resource_algorithm(self) -> str:
        if self.method == "shards":
            return f"{self.hash_type}-sharded-{self.shard_size}"
        return self.hash_type

    @classmethod
    def from_json(cls, d: Any, *, source: str) -> Serialization:
        if not isinstance(d, dict):
            raise VerificationError(f"{source}: predicate.serialization is not an object")
        method = d.get("method")
        hash_type = d.get("hash_type")
        if method not in ("files", "shards"):
            raise VerificationError(f"{source}: unknown serialization method {method!r}")
        if hash_type not in hashing.VERIFY_ALGORITHMS:
            raise VerificationError(f"{source}: unsupported serialization hash_type {hash_type!r}")
        shard_size: int | None = None
        if method == "shards":
            raw = d.get("shard_size")
            # model_signing writes the shard size through a protobuf Struct, i.e. as a float
            if (isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw)
                    or raw != int(raw) or raw <= 0):
                raise VerificationError(f"{source}: invalid serialization shard_size {raw!r}")
            shard_size = int(raw)
        allow = d.get("allow_symlinks", False)
        if isinstance(allow, str):  # the v0.2 compat path uses the string "false"
            allow = allow.lower() == "true"
        ignore = d.get("ignore_paths", [])
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            raise VerificationError(f"{source}: serialization ignore_paths is not a list of strings")
        return cls(method, hash_type, shard_size, bool(allow), tuple(ignore))


def _sort_key(name: str, method: str) -> tuple[tuple[str, ...], int, int]:
    if method == "shards":
        path, start, end = split_shard_name(name)
        return (PurePosixPath(path).parts, start, end)
    return (PurePosixPath(name).parts, 0, 0)


def split_shard_name(name: str) -> tuple[str, int, int]:
    parts = name.split(":")
    if len(parts) != 3:
        raise VerificationError(f"invalid shard resource name {name!r}: expected path:start:end")
    try:
        return parts[0], int(parts[1]), int(parts[2])
    except ValueError as exc:
        raise VerificationError(f"invalid shard resource name {name!r}") from exc


@dataclass
class Manifest:
    """A model's resources: name -> (algorithm, hex digest), plus how they were computed."""

    model_name: str
    serialization: Serialization
    resources: dict[str, tuple[str, str]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # file path -> size (when hashed locally)
    files: list[str] | None = None  # every signed file, empty ones too (our shard signatures)

    def ordered(self) -> list[tuple[str, str, str]]:
        """(name, algorithm, hex digest) in model_signing's canonical order."""
        m = self.serialization.method
        return [(n, a, d) for n, (a, d) in sorted(self.resources.items(), key=lambda kv: _sort_key(kv[0], m))]

    def root_digest(self) -> str:
        h = hashlib.sha256()
        for _, _, d in self.ordered():
            h.update(bytes.fromhex(d))
        return h.hexdigest()

    def file_of(self, name: str) -> str:
        return split_shard_name(name)[0] if self.serialization.method == "shards" else name

    def statement(self) -> dict[str, Any]:
        predicate: dict[str, Any] = {
            "serialization": self.serialization.to_json(),
            "resources": [{"name": n, "algorithm": a, "digest": d} for n, a, d in self.ordered()],
        }
        if self.serialization.method == "shards":
            predicate[FILES_KEY] = sorted(self.sizes, key=lambda n: PurePosixPath(n).parts)
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": self.model_name, "digest": {"sha256": self.root_digest()}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": predicate,
        }

    def all_files(self) -> set[str]:
        """Files this manifest covers: those with resources, plus listed (empty) ones."""
        return {self.file_of(n) for n in self.resources} | set(self.files or ()) | set(self.sizes)


def manifest_from_statement(stmt: Any, *, source: str) -> Manifest:
    """The manifest a verified in-toto statement describes (model_signing's rules)."""
    if not isinstance(stmt, dict):
        raise VerificationError(f"{source}: payload is not an in-toto statement")
    if stmt.get("_type") != STATEMENT_TYPE:
        raise VerificationError(f"{source}: expected in-toto statement {STATEMENT_TYPE}, got {stmt.get('_type')!r}")
    ptype = stmt.get("predicateType")
    subjects = stmt.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise VerificationError(f"{source}: statement has no subject")
    if ptype == PREDICATE_TYPE_V02:
        ser = Serialization("files", "sha256", None, False, ())
        man = Manifest("compat-undefined-not-present", ser)
        for s in subjects:
            name, digest = _subject(s, source)
            _add(man, name, "sha256", digest, source)
        return man
    if ptype != PREDICATE_TYPE:
        raise VerificationError(f"{source}: predicate type {ptype!r} is not a model signature",
                                hint=f"expected {PREDICATE_TYPE}")
    if len(subjects) != 1:
        raise VerificationError(f"{source}: expected exactly one subject, got {len(subjects)}")
    model_name, expected_root = _subject(subjects[0], source)
    pred = stmt.get("predicate")
    if not isinstance(pred, dict):
        raise VerificationError(f"{source}: statement has no predicate")
    ser = Serialization.from_json(pred.get("serialization"), source=source)
    resources = pred.get("resources")
    if not isinstance(resources, list):
        raise VerificationError(f"{source}: predicate.resources is not a list")
    man = Manifest(model_name, ser)
    root = hashlib.sha256()
    for r in resources:
        if not isinstance(r, dict):
            raise VerificationError(f"{source}: a resource is not an object")
        rname, ralg, rdigest = r.get("name"), r.get("algorithm"), r.get("digest")
        if not isinstance(rname, str) or not isinstance(ralg, str) or not isinstance(rdigest, str):
            raise VerificationError(f"{source}: resource {r!r} lacks name, algorithm or digest")
        if not _HEX.fullmatch(rdigest):
            raise VerificationError(f"{source}: digest of {rname!r} is not a hex string")
        root.update(bytes.fromhex(rdigest))
        if ser.method == "shards":
            split_shard_name(rname)
        _add(man, rname, ralg, rdigest, source)
    if root.hexdigest() != expected_root.lower():
        raise VerificationError(
            f"{source}: manifest is inconsistent: the subject digest {expected_root} does not match "
            f"the resources (they hash to {root.hexdigest()})")
    listed = pred.get(FILES_KEY)
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed) or len(set(listed)) != len(listed):
            raise VerificationError(f"{source}: predicate {FILES_KEY} is not a list of distinct file names")
        man.files = list(listed)
        missing = {man.file_of(n) for n in man.resources} - set(listed)
        if missing:
            raise VerificationError(f"{source}: predicate {FILES_KEY} omits signed files: "
                                    + ", ".join(sorted(missing)[:5]))
    return man


def _subject(s: Any, source: str) -> tuple[str, str]:
    if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not isinstance(s.get("digest"), dict):
        raise VerificationError(f"{source}: malformed statement subject {s!r}")
    digest = s["digest"].get("sha256")
    if not isinstance(digest, str):
        raise VerificationError(f"{source}: subject {s['name']!r} has no sha256 digest")
    return s["name"], digest


def _add(man: Manifest, name: str, alg: str, digest: str, source: str) -> None:
    if name in man.resources:
        raise VerificationError(f"{source}: resource {name!r} is listed twice")
    if not _HEX.fullmatch(digest):
        raise VerificationError(f"{source}: digest of {name!r} is not a hex string")
    man.resources[name] = (alg, digest.lower())


# --- the local model ----------------------------------------------------------------------------


def model_name_of(model: Path) -> str:
    name = model.name
    if not name or name == "..":
        name = os.path.basename(model.resolve())
    return name


def normalize_ignores(paths: Iterable[str]) -> list[PurePosixPath]:
    """Relative POSIX ignore paths; paths that would leave the model are dropped."""
    out: list[PurePosixPath] = []
    for p in paths:
        pp = PurePosixPath(p.replace(os.sep, "/"))
        if pp.is_absolute() or ".." in pp.parts or not pp.parts:
            continue
        out.append(pp)
    return out


def _ignored(rel: PurePosixPath, ignores: Sequence[PurePosixPath]) -> bool:
    return any(rel.is_relative_to(ig) for ig in ignores)


@dataclass(frozen=True)
class ModelFile:
    rel: str  # POSIX path relative to the model ("." for a single-file model)
    path: str  # filesystem path to read
    size: int


def list_model_files(model: Path, *, ignore: Sequence[PurePosixPath], allow_symlinks: bool) -> list[ModelFile]:
    """Every regular file of the model, minus ignored paths, like model_signing enumerates them.

    Symbolic links are refused unless ``allow_symlinks``; then a link to a file is hashed as
    that file's content under the link's name, and a link to a directory is not followed.
    """
    try:
        st = os.lstat(model)
    except FileNotFoundError as exc:
        raise InputError(f"{model}: no such file or directory") from exc
    except OSError as exc:
        raise InputError(f"{model}: cannot read: {exc.strerror}") from exc
    if stat.S_ISLNK(st.st_mode):
        if not allow_symlinks:
            raise InputError(f"{model}: is a symbolic link", hint="pass --allow-symlinks to follow it")
        try:
            st = os.stat(model)
        except OSError as exc:
            raise InputError(f"{model}: broken symbolic link") from exc
    if stat.S_ISREG(st.st_mode):
        note_input(model)
        return [ModelFile(".", str(model), st.st_size)]
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{model}: not a regular file or directory")
    files: list[ModelFile] = []
    symlinks: list[str] = []
    stack: list[tuple[str, PurePosixPath]] = [(str(model), PurePosixPath())]
    while stack:
        dpath, drel = stack.pop()
        try:
            entries = list(os.scandir(dpath))
        except OSError as exc:
            raise InputError(f"{dpath}: cannot list directory: {exc.strerror}") from exc
        for e in entries:
            rel = drel / e.name
            if _ignored(rel, ignore):
                continue
            try:
                if e.is_symlink():
                    if not allow_symlinks:
                        symlinks.append(str(rel))
                        continue
                    try:
                        tst = os.stat(e.path)
                    except OSError as exc:
                        raise InputError(f"{e.path}: broken symbolic link") from exc
                    if stat.S_ISREG(tst.st_mode):
                        files.append(ModelFile(str(rel), e.path, tst.st_size))
                    elif not stat.S_ISDIR(tst.st_mode):
                        raise InputError(f"{e.path}: not a regular file or directory")
                    continue  # links to directories are not followed (as model_signing)
                if e.is_dir(follow_symlinks=False):
                    stack.append((e.path, rel))
                elif e.is_file(follow_symlinks=False):
                    files.append(ModelFile(str(rel), e.path, e.stat(follow_symlinks=False).st_size))
                else:
                    raise InputError(f"{e.path}: not a regular file or directory (socket, pipe or device)")
            except PermissionError as exc:
                raise InputError(f"{e.path}: permission denied") from exc
    if symlinks:
        shown = ", ".join(sorted(symlinks)[:10]) + (" ..." if len(symlinks) > 10 else "")
        raise InputError(f"{model}: contains symbolic links: {shown}",
                         hint="pass --allow-symlinks to hash the files they point to")
    files.sort(key=lambda f: PurePosixPath(f.rel).parts)
    for f in files:  # an output (an SBOM, a signature) must never replace one of them
        note_input(f.path)
    return files


def hash_model(
    model: Path,
    serialization: Serialization,
    *,
    extra_ignores: Sequence[str] = (),
    threads: int | None = None,
    progress: hashing.ProgressFn | None = None,
    files_only: Sequence[str] | None = None,
) -> Manifest:
    """Hash the local model as ``serialization`` says (its ignore_paths plus ``extra_ignores``)."""
    ignores = normalize_ignores([*serialization.ignore_paths, *extra_ignores])
    files = list_model_files(model, ignore=ignores if model.is_dir() else [],
                             allow_symlinks=serialization.allow_symlinks)
    if files_only is not None:
        keep = set(files_only)
        files = [f for f in files if f.rel in keep]
    names: list[str] = []
    segments: list[hashing.Segment] = []
    if serialization.method == "shards":
        n_shards = sum(-(-f.size // (serialization.shard_size or DEFAULT_SHARD_SIZE)) for f in files)
        if n_shards > MAX_SEGMENTS:
            raise InputError(f"{model}: shard size {serialization.shard_size} would cut the model into "
                             f"{n_shards} shards (more than {MAX_SEGMENTS})",
                             hint="use a larger --shard-size")
    for f in files:
        if serialization.method == "shards":
            size = serialization.shard_size or DEFAULT_SHARD_SIZE
            start = 0
            while start < f.size:
                end = min(start + size, f.size)
                names.append(f"{f.rel}:{start}:{end}")
                segments.append(hashing.Segment(f.path, start, end))
                start = end
        else:
            names.append(f.rel)
            segments.append(hashing.Segment(f.path, 0, f.size))
    digests = hashing.hash_segments(segments, serialization.hash_type, threads=threads, progress=progress)
    for f in files:  # a file that grew while it was hashed would otherwise pass as its prefix
        try:
            now = os.stat(f.path).st_size
        except OSError as exc:
            raise InputError(f"{f.path}: disappeared while it was being hashed") from exc
        if now != f.size:
            raise InputError(f"{f.path}: changed size while it was being hashed ({f.size} -> {now} bytes)",
                             hint="do not modify the model while signing or verifying it")
    man = Manifest(model_name_of(model), serialization)
    alg = serialization.resource_algorithm
    for name, d in zip(names, digests, strict=True):
        man.resources[name] = (alg, d.hex())
    man.sizes = {f.rel: f.size for f in files}
    return man


@dataclass
class ManifestDiff:
    added: list[str] = field(default_factory=list)  # files on disk the signature does not cover
    removed: list[str] = field(default_factory=list)  # signed files that are missing
    changed: list[str] = field(default_factory=list)  # signed files whose content differs
    bad_algorithm: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.added or self.removed or self.changed or self.bad_algorithm)

    def lines(self) -> list[str]:
        out = [f"added (not in the signature): {n}" for n in self.added]
        out += [f"removed (signed but missing): {n}" for n in self.removed]
        out += [f"changed (digest differs): {n}" for n in self.changed]
        out += [f"digest algorithm differs: {n}" for n in self.bad_algorithm]
        return out


def diff_manifests(expected: Manifest, actual: Manifest) -> ManifestDiff:
    """Per file: added, removed, changed (shards are folded into their file)."""
    def by_file(m: Manifest) -> dict[str, dict[str, tuple[str, str]]]:
        out: dict[str, dict[str, tuple[str, str]]] = {}
        for name, val in m.resources.items():
            out.setdefault(m.file_of(name), {})[name] = val
        return out

    exp, act = by_file(expected), by_file(actual)
    for f in expected.files or ():  # signed empty files (shard signatures with a file list)
        exp.setdefault(f, {})
    if expected.files is not None:
        for f in actual.sizes:  # files on disk, empty ones too
            act.setdefault(f, {})
    d = ManifestDiff()
    d.added = sorted(set(act) - set(exp), key=lambda n: PurePosixPath(n).parts)
    d.removed = sorted(set(exp) - set(act), key=lambda n: PurePosixPath(n).parts)
    for f in sorted(set(exp) & set(act), key=lambda n: PurePosixPath(n).parts):
        e, a = exp[f], act[f]
        if e == a:
            continue
        if {k: v[1] for k, v in e.items()} == {k: v[1] for k, v in a.items()}:
            d.bad_algorithm.append(f)
        else:
            d.changed.append(f)
    return d
