"""The image check pass: secrets in every layer (deleted ones included) and the image config.

:class:`ImageScan` rides along the one layer pass (``supplychain.oci.layers.squash``): its
``analyze`` hook reads the regular files the secret table names or that may hold a secret as
they stream, its ``watch`` hooks learn the current layer and directory owners. What it finds is
kept on the side with the layer it was found in; a file it found something in carries a small
mark (``FileEntry.facts``), so when a later layer deletes or replaces the file the pass sees
the mark go and reports "removed in layer N but still shipped in layer M".

Use it alone (:func:`scan_image`) or with the SBOM pass (``catalog_image(..., also=scan)``).
"""

from __future__ import annotations

import datetime
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from supplychain.oci.descriptor import Descriptor
from supplychain.oci.fs import Analyze, Analyzer, FileEntry, MemoryTree, Select, Want
from supplychain.oci.image import Image
from supplychain.oci.layers import Progress, squash
from supplychain.policy.config import Policy, Waiver
from supplychain.policy.dockerfile import DATASTORE_PORTS
from supplychain.policy.findings import RULES, Finding, Severity
from supplychain.policy.imagecheck import content as ct
from supplychain.policy.imagecheck.table import (
    CONTENT,
    FILE,
    PATH,
    RULESET_VERSION,
    SECRET_RULES,
    SecretRule,
    git_root,
    is_fixture,
    literal_value,
)
from supplychain.policy.images import parse_image
from supplychain.policy.secrets import secret_name
from supplychain.policy.waivers import find_waiver

KEY = "imagecheck"  # FileEntry.facts key of the mark
_FILE_RULES = tuple(r for r in SECRET_RULES if r.kind == FILE)
_PATH_RULES = {r.id: r for r in SECRET_RULES if r.kind == PATH}
_BY_ID = {r.id: r for r in SECRET_RULES}
# every basename a file rule may want (the .env rule also takes names containing ".env")
_FILE_BASENAMES = frozenset({"auth.json", ".npmrc", "npmrc", ".pypirc", ".netrc", "_netrc", ".git-credentials",
                             "config", "config.json"})
PASSWD, GROUP = "/etc/passwd", "/etc/group"


@dataclass
class Observation:
    """One thing found in one layer."""

    rule: str
    path: str
    layer: int
    what: str  # e.g. "DB_PASSWORD", "auths ghcr.io auth", "uid 0 mode 4755"
    fingerprint: str
    allowed: str | None = None  # allow-listed (not a finding): why
    token: int = 0
    removed_in: int | None = None  # index of the layer that deleted / replaced it


@dataclass
class Stats:
    files: int = 0  # regular files seen
    scanned: int = 0  # content-scanned
    scanned_bytes: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    large_examples: list[str] = field(default_factory=list)
    allowlisted: int = 0


class ImageScan:
    """Secret and config checks of one image in one layer pass (a ``LayerPass``)."""

    def __init__(self, policy: Policy, *, base_layers: int = 1) -> None:
        self.policy = policy
        self.base_layers = base_layers
        self.observations: list[Observation] = []
        self.config_findings: list[tuple[str, str, dict[str, Any]]] = []  # (rule, message, extra)
        self.stats = Stats()
        self.layers: list[str] = []
        self.config: dict[str, Any] = {}
        self.source = ""
        self.image_ref: str | None = None
        self.digest: str | None = None
        self._layer = 0
        self._live: list[Observation] = []
        self._git_seen: set[tuple[int, str]] = set()
        self._dirs: dict[str, tuple[int, int, int, int]] = {}  # path -> mode, uid, gid, layer
        self._next_token = 1
        self._pf = ct.prefilter()
        self.finished = False

    # -- LayerPass -------------------------------------------------------------------------

    def start(self, image: Image) -> None:
        self.source = image.source
        self.layers = [d.digest for d in image.layers]
        self.digest = image.manifest_digest
        ref = image.digest_reference
        self.image_ref = ref
        cfg = image.config if isinstance(image.config, dict) else {}
        self.config = cfg

    def combine(self, select: Select, analyze: Analyze | None) -> tuple[Select, Analyze | None]:
        def both_select(path: str) -> Want:
            if path in (PASSWD, GROUP):
                return Want.CONTENT
            return select(path)

        own = self.analyze

        def both_analyze(path: str, mode: int, size: int) -> Analyzer | None:
            other = analyze(path, mode, size) if analyze is not None else None
            mine = own(path, mode, size, content=other is None)
            if other is None:
                return mine
            if mine is None:
                return other
            return _joined(other, mine)

        return both_select, both_analyze

    def begin_layer(self, index: int, desc: Descriptor) -> None:
        self._layer = index

    def directory(self, path: str, mode: int, uid: int, gid: int) -> None:
        self._dirs[path] = (mode, uid, gid, self._layer)

    def end_layer(self, index: int, desc: Descriptor, files: Mapping[str, FileEntry]) -> None:
        if not self._live:
            return
        still: list[Observation] = []
        gone: list[Observation] = []
        for obs in self._live:
            entry = files.get(obs.path)
            if entry is not None and isinstance(entry.facts, dict) and entry.facts.get(KEY) == obs.token:
                still.append(obs)
            else:
                gone.append(obs)
        if gone:  # a hardlink may still carry the file under another name
            tokens = {e.facts.get(KEY) for e in files.values() if isinstance(e.facts, dict) and KEY in e.facts}
            for obs in gone:
                if obs.token in tokens:
                    still.append(obs)
                else:
                    obs.removed_in = index
        self._live = still

    def finish(self, tree: MemoryTree) -> None:
        self._check_config(tree)
        self.finished = True

    # -- the analyze hook ------------------------------------------------------------------

    def analyze(self, path: str, mode: int, size: int, *, content: bool = True) -> Analyzer | None:
        """What to do with a regular file of the current layer (``content``: may read its bytes)."""
        self.stats.files += 1
        layer = self._layer
        marks: list[Observation] = []
        if mode & 0o6000 and layer >= self.base_layers:
            bits = " and ".join(b for b, m in (("setuid", 0o4000), ("setgid", 0o2000)) if mode & m)
            marks.append(self._obs("IMG-CFG-006", path, layer, f"{bits}, mode {mode:04o}", path.encode()))
        if "/." in path:
            root = git_root(path)
            if root is not None and (layer, root) not in self._git_seen:
                self._git_seen.add((layer, root))
                marks.append(self._obs("IMG-SEC-030", root, layer, "a .git directory", root.encode(),
                                       mark_path=path))
            rule = _PATH_RULES["IMG-SEC-031"]
            if size > 0 and rule.files is not None and rule.files(path):
                marks.append(self._obs(rule.id, path, layer, "a non-empty history file", path.encode()))
        base = path[path.rfind("/") + 1:]
        file_rules = [r for r in _FILE_RULES if r.files is not None and r.files(path)] \
            if base in _FILE_BASENAMES or ".env" in base else []
        scan = content and size >= 16 and not ct.skip_by_name(path)
        if (scan or file_rules) and size > ct.MAX_SCAN:
            scan = False
            file_rules = []
            self.stats.skipped_large += 1
            if len(self.stats.large_examples) < 5:
                self.stats.large_examples.append(path)
        if not file_rules and not scan:
            if not marks:
                return None
            token = marks[0].token
            return lambda chunks: {KEY: token}
        return self._reader(path, layer, marks, file_rules if content else [], scan)

    def _obs(self, rule: str, path: str, layer: int, what: str, value: bytes, *, allowed: str | None = None,
             mark_path: str | None = None, token: int | None = None) -> Observation:
        if token is None:
            token = self._next_token
            self._next_token += 1
        if allowed is None and rule.startswith("IMG-SEC-") and is_fixture(path):
            allowed = "test fixture or documentation of an installed package"
        obs = Observation(rule, path, layer, what, ct.fingerprint(rule, value), allowed, token)
        if mark_path is not None and mark_path != path:
            obs.path = path
        self.observations.append(obs)
        if allowed is not None:
            self.stats.allowlisted += 1
        elif mark_path is None:
            self._live.append(obs)
        return obs

    def _reader(self, path: str, layer: int, marks: list[Observation], file_rules: list[SecretRule],
                scan: bool) -> Analyzer:
        def run(chunks: Iterator[bytes]) -> Any:
            data = next(chunks, b"")
            is_binary = ct.binary(data)
            if scan and is_binary and not file_rules:
                self.stats.skipped_binary += 1
                return {KEY: marks[0].token} if marks else None
            more = next(chunks, None)
            if more is not None:  # more than one chunk (files over 1 MiB)
                parts = [data, more]
                total = len(data) + len(more)
                limit = ct.MAX_SCAN if scan else ct.MAX_PARSE
                for chunk in chunks:
                    total += len(chunk)
                    if total > limit:
                        break
                    parts.append(chunk)
                data = b"".join(parts)
            hits = self._pf.hits(data) if scan and not is_binary else None
            if not hits and not file_rules:
                if scan and not is_binary:
                    self.stats.scanned += 1
                    self.stats.scanned_bytes += len(data)
                return {KEY: marks[0].token} if marks else None
            token = marks[0].token if marks else self._next_token
            if not marks:
                self._next_token += 1
            found = False
            for rule in file_rules:
                if len(data) > ct.MAX_PARSE:
                    continue
                assert rule.parse is not None
                for what, value in rule.parse(data):
                    self._obs(rule.id, path, layer, what, value, token=token)
                    found = True
            if scan and not is_binary:
                self.stats.scanned += 1
                self.stats.scanned_bytes += len(data)
                for m in ct.match_content(data, self._pf, hits):
                    obs = Observation(m.rule.id, path, layer, m.rule.name, m.fingerprint, m.allowed, token)
                    if obs.allowed is None and is_fixture(path):
                        obs.allowed = "test fixture or documentation of an installed package"
                    self.observations.append(obs)
                    if obs.allowed is None:
                        self._live.append(obs)
                        found = True
                    else:
                        self.stats.allowlisted += 1
            return {KEY: token} if (found or marks) else None

        return run

    # -- image config ----------------------------------------------------------------------

    def _cfg(self) -> dict[str, Any]:
        cfg = self.config.get("config")
        return cfg if isinstance(cfg, dict) else {}

    def _add_cfg(self, rule: str, message: str, **extra: Any) -> None:
        self.config_findings.append((rule, message, extra))

    def _check_config(self, tree: MemoryTree) -> None:
        cfg = self._cfg()
        users = _passwd(tree.get(PASSWD))
        groups = _groups(tree.get(GROUP))
        user = cfg.get("User")
        user = user.strip() if isinstance(user, str) else ""
        uid, gid, who = _resolve_user(user, users, groups)
        if uid == 0:
            self._add_cfg("IMG-CFG-001", f"the image runs as root ({who})")
        ports = cfg.get("ExposedPorts")
        if isinstance(ports, dict):
            for key in sorted(ports):
                num = str(key).split("/", 1)[0]
                if num.isdigit() and int(num) in DATASTORE_PORTS:
                    self._add_cfg("IMG-CFG-002", f"ExposedPorts has {key} ({DATASTORE_PORTS[int(num)]})")
        env = cfg.get("Env")
        if isinstance(env, list):
            for item in env:
                if not isinstance(item, str):
                    continue
                name, _eq, value = item.partition("=")
                if secret_name(name, self.policy) and literal_value(value.encode("utf-8", "surrogateescape")):
                    self._add_cfg("IMG-CFG-003", f"Env {name} has a value (not shown)", name=name)
        history = self.config.get("history")
        if isinstance(history, list):
            for i, h in enumerate(history):
                created = h.get("created_by") if isinstance(h, dict) else None
                if isinstance(created, str) and created:
                    for what, fp in _history_secrets(created, self.policy):
                        self._add_cfg("IMG-CFG-004", f"history[{i}].created_by records {what} "
                                                     f"(fingerprint {fp})", fingerprint=fp)
        if uid is not None and uid != 0:
            wd = cfg.get("WorkingDir")
            wd = posixpath.normpath("/" + wd.strip("/")) if isinstance(wd, str) and wd.strip() else "/"
            wd = _follow(tree, wd)
            info = self._dirs.get(wd)
            if info is not None:
                mode, duid, dgid, _layer = info
                member = {gid} | {g for g, names in groups.items() if who_name(user, users) in names[1]}
                why = None
                if mode & 0o002:
                    why = f"it is world-writable (mode {mode:04o})"
                elif duid == uid and mode & 0o200:
                    why = f"it is owned by the runtime user (uid {uid}, mode {mode:04o})"
                elif dgid in member and dgid != -1 and mode & 0o020:
                    why = f"it is group-writable by the runtime user's group (gid {dgid}, mode {mode:04o})"
                if why:
                    self._add_cfg("IMG-CFG-005", f"WorkingDir {wd} is writable by the runtime user {who}: {why}")
        for obs in self.observations:
            if obs.rule == "IMG-CFG-006" and obs.removed_in is None:
                continue  # reported with the other observations

    # -- results ---------------------------------------------------------------------------

    def reportable(self) -> list[Observation]:
        """Observations that are findings: not allow-listed; setuid only when still in the image."""
        out = []
        for o in self.observations:
            if o.allowed is not None:
                continue
            if o.rule == "IMG-CFG-006" and o.removed_in is not None:
                continue
            out.append(o)
        return out

    def _layer_name(self, index: int) -> str:
        digest = self.layers[index] if 0 <= index < len(self.layers) else "?"
        return f"layer {index + 1} ({digest})"

    def message(self, o: Observation) -> str:
        rule = RULES.get(o.rule)
        name = rule.name if rule else o.rule
        where = self._layer_name(o.layer)
        if o.removed_in is not None:
            if o.removed_in == o.layer:
                where = f"deleted in the same layer but still shipped in {where}"
            else:
                where = f"removed in layer {o.removed_in + 1} but still shipped in {where}"
        else:
            where = f"in {where}"
        if o.rule == "IMG-CFG-006":
            return f"{o.path}: {o.what}, added by the image's own {self._layer_name(o.layer)}"
        return f"{o.path}: {name} ({o.what}) {where}; fingerprint {o.fingerprint}"

    def findings(self, label: str | None = None) -> list[Finding]:
        """Every finding at the policy's severity (none for rules the policy turns off)."""
        label = label or self.source
        image = _normalized(self.image_ref)
        out: list[Finding] = []
        for o in self.reportable():
            sev = self.policy.severity_of(o.rule)
            if sev is None:
                continue
            out.append(Finding(rule=o.rule, severity=sev, file=label, line=1, column=None, message=self.message(o),
                               fix=RULES[o.rule].help, image=image,
                               extra={"path": o.path, "layer": self.layers[o.layer] if o.layer < len(self.layers)
                                      else None, "layer_index": o.layer, "fingerprint": o.fingerprint,
                                      "removed_in": o.removed_in}))
        for rule, message, extra in self.config_findings:
            sev = self.policy.severity_of(rule)
            if sev is None:
                continue
            out.append(Finding(rule=rule, severity=sev, file=label, line=1, column=None,
                               message=f"image config: {message}", fix=RULES[rule].help, image=image,
                               extra=dict(extra)))
        out.sort(key=lambda f: (f.rule, f.message))
        return out

    def notes(self) -> list[str]:
        s = self.stats
        out = []
        if s.skipped_large:
            out.append(f"{s.skipped_large} file(s) larger than {ct.MAX_SCAN} bytes not scanned for secrets "
                       f"(e.g. {', '.join(s.large_examples)})")
        return out

    def summary(self) -> dict[str, Any]:
        s = self.stats
        return {"files": s.files, "scanned": s.scanned, "scanned_bytes": s.scanned_bytes,
                "skipped_binary": s.skipped_binary, "skipped_large": s.skipped_large,
                "allowlisted": s.allowlisted, "engine": self._pf.engine}

    def predicate(self, findings: Iterable[Finding]) -> dict[str, Any]:
        """The ``image scan`` attestation predicate: rule-set version, findings (no values)."""
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "scanner": {"name": "supplychain", "ruleset": RULESET_VERSION},
            "image": {"digest": self.digest, "layers": list(self.layers)},
            "scannedAt": now,
            "summary": self.summary(),
            "findings": [_finding_doc(f) for f in findings],
        }


def _finding_doc(f: Finding) -> dict[str, Any]:
    doc: dict[str, Any] = {"rule": f.rule, "severity": f.severity.value, "message": f.message}
    for key in ("path", "layer", "fingerprint", "removed_in"):
        if f.extra.get(key) is not None:
            doc[key] = f.extra[key]
    return doc


def _normalized(ref: str | None) -> str | None:
    if not ref:
        return None
    try:
        return parse_image(ref).normalized
    except ValueError:
        return None


def _joined(first: Analyzer, second: Analyzer) -> Analyzer:
    """The catalogers' analyzer reads the file; ours only adds its mark to the facts."""
    def run(chunks: Iterator[bytes]) -> Any:
        a = first(chunks)
        b = second(iter(()))
        if b is None:
            return a
        if a is None:
            return b
        if isinstance(a, dict) and isinstance(b, dict):
            return {**a, **b}
        return a

    return run


def _passwd(entry: FileEntry | None) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    if entry is None or entry.data is None:
        return out
    for line in entry.data.decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[2].isdigit() and parts[3].isdigit():
            out.setdefault(parts[0], (int(parts[2]), int(parts[3])))
    return out


def _groups(entry: FileEntry | None) -> dict[int, tuple[str, set[str]]]:
    out: dict[int, tuple[str, set[str]]] = {}
    if entry is None or entry.data is None:
        return out
    for line in entry.data.decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[2].isdigit():
            out.setdefault(int(parts[2]), (parts[0], {m for m in parts[3].split(",") if m}))
    return out


def who_name(user: str, users: dict[str, tuple[int, int]]) -> str:
    name = user.split(":", 1)[0]
    if name.isdigit():
        for n, (u, _g) in users.items():
            if u == int(name):
                return n
    return name


def _resolve_user(user: str, users: dict[str, tuple[int, int]],
                  groups: dict[int, tuple[str, set[str]]]) -> tuple[int | None, int, str]:
    """(uid or None when unknown, gid, description) of a config ``User``."""
    if not user:
        return 0, 0, "User is not set"
    name, _sep, group = user.partition(":")
    uid: int | None
    gid = -1
    if name.isdigit():
        uid = int(name)
        for _n, (u, g) in users.items():
            if u == uid:
                gid = g
                break
    elif name in users:
        uid, gid = users[name]
    else:
        uid = None
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            gid = next((g for g, (n, _m) in groups.items() if n == group), gid)
    desc = f"User {user!r}" + (f" is uid {uid}" if uid is not None and not name.isdigit() else "")
    return uid, gid, desc


def _follow(tree: MemoryTree, path: str) -> str:
    for _ in range(8):
        target = tree.links.get(path)
        if target is None:
            return path
        path = posixpath.normpath(target if target.startswith("/") else posixpath.join(posixpath.dirname(path), target))
    return path


_KV = re.compile(r"(?:^|[\s;|&])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|[^\s;|&]+)")


def _history_secrets(created_by: str, policy: Policy) -> Iterator[tuple[str, str]]:
    """(what, fingerprint) of the secrets a history entry records."""
    seen: set[str] = set()
    for m in _KV.finditer(created_by):
        name, value = m.group(1), m.group(2).strip("\"'")
        if secret_name(name, policy) and literal_value(value.encode("utf-8", "surrogateescape")):
            fp = ct.fingerprint("IMG-CFG-004", value.encode("utf-8", "surrogateescape"))
            if fp not in seen:
                seen.add(fp)
                yield f"a value for {name}", fp
    for match in ct.match_text(created_by):
        if match.allowed is None and match.fingerprint not in seen:
            seen.add(match.fingerprint)
            yield f"a {match.rule.name} ({match.rule.id})", match.fingerprint


def scan_image(image: Image, policy: Policy, *, base_layers: int = 1, progress: Progress | None = None) -> ImageScan:
    """Scan ``image`` alone (no SBOM): one pass over its layers."""
    scan = ImageScan(policy, base_layers=base_layers)
    scan.start(image)
    select, analyze = scan.combine(lambda _p: Want.SKIP, None)
    tree = squash(image, select, progress=progress, analyze=analyze, watch=scan)
    scan.finish(tree)
    return scan


def waive(findings: list[Finding], waivers: Iterable[Waiver], today: datetime.date | None = None
          ) -> tuple[list[Finding], list[tuple[Finding, Waiver]]]:
    """Apply waivers to image findings: a waiver's ``path`` matches the path inside the image (the
    image source for config findings), its ``image`` the image reference."""
    day = today or datetime.date.today()
    active = [w for w in waivers if not w.expired(day)]
    kept: list[Finding] = []
    waived: list[tuple[Finding, Waiver]] = []
    for f in findings:
        inner = f.extra.get("path")
        files = (inner,) if isinstance(inner, str) else (f.file,)
        ref = None
        if f.image:
            try:
                ref = parse_image(f.image)
            except ValueError:
                ref = None
        w = find_waiver(active, f.rule, files=files, image=ref, today=day)
        if w is None:
            kept.append(f)
        else:
            waived.append((f, w))
    return kept, waived


__all__ = ["CONTENT", "KEY", "ImageScan", "Observation", "Severity", "scan_image", "waive"]
