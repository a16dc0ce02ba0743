"""Find the files to check, detect their kinds, run the checkers, apply waivers.

Public entry points: :func:`check_paths` (what ``supplychain policy check`` runs),
:func:`collect_images` (every image reference in a set of paths, for ``pin`` and the gate) and
:func:`iter_files` / :func:`detect_kind`.
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from supplychain.errors import InputError
from supplychain.policy import compose, dockerfile, inline, kubernetes, manifests
from supplychain.policy.config import Policy, Waiver
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.findings import POLICY_KINDS, RULES, Finding, Severity
from supplychain.policy.report.model import Report as ReportModel
from supplychain.policy.report.model import Section, Waived
from supplychain.policy.waivers import waiver_for
from supplychain.policy.yamlsrc import YMap, load_all, read_text

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "vendor", ".venv", "venv", "__pycache__",
                       ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"})

DOCKERFILE, COMPOSE, KUBERNETES, YAML, IMAGES = "dockerfile", "compose", "kubernetes", "yaml", "images"

_IMAGES_NAME_RE = re.compile(r"(^|[._-])images?([._-]?list)?\.(txt|lst|list)$|\.images$|^images$")
_COMPOSE_NAME_RE = re.compile(r"^(docker-)?compose([._-][^/]*)?\.ya?ml$")


def detect_kind_by_name(path: Path) -> str | None:
    special = manifests.kind_by_name(path.name)  # kustomization, *.json
    if special is not None:
        return special
    name = path.name.lower()
    if name in ("dockerfile", "containerfile") \
            or name.startswith(("dockerfile.", "dockerfile-", "dockerfile_", "containerfile.", "containerfile-")) \
            or name.endswith((".dockerfile", ".containerfile")):
        return DOCKERFILE
    if _COMPOSE_NAME_RE.match(name):
        return COMPOSE
    if name.endswith((".yaml", ".yml")):
        return YAML
    if _IMAGES_NAME_RE.search(name):
        return IMAGES
    return None


def sniff_kind(text: str) -> str:
    """Kind of a file given explicitly whose name says nothing."""
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if re.match(r"(?i)^(FROM|ARG)\s", s):
            return DOCKERFILE
        break
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    entries = [ln for ln in lines if ln]
    if entries and all(len(e.split()) == 1 and ":" not in e[:1] for e in entries) \
            and not any(e.endswith(":") for e in entries):
        return IMAGES
    return YAML


def iter_files(paths: list[str], exclude: tuple[str, ...] = ()) -> Iterator[tuple[str, str | None, bool]]:
    """Yield ``(path, kind_by_name, explicit)``; directories are walked in sorted order."""
    for p in paths:
        path = Path(p)
        try:
            is_dir = path.is_dir()
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise InputError(f"{p}: cannot read: {exc.strerror}") from exc
        _check_name(p)
        if is_dir:
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not _excluded(os.path.join(root, d), exclude))
                for f in sorted(files):
                    full = os.path.join(root, f)
                    if _excluded(full, exclude):
                        continue
                    kind = detect_kind_by_name(Path(f))
                    if kind is not None:
                        _check_name(full)
                        yield full, kind, False
        elif path.exists():
            yield p, detect_kind_by_name(path), True
        else:
            raise InputError(f"{p}: no such file or directory")


def _check_name(path: str) -> None:
    """Reports name every file: a name that is not UTF-8 (kept by os.fsdecode as lone surrogates)
    could not be written into them."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"{path}: file name is not valid UTF-8, so a report cannot name it",
                         hint="rename it, or skip it with --exclude GLOB") from exc


def _excluded(path: str, exclude: tuple[str, ...]) -> bool:
    norm = _display(path)
    return any(fnmatch.fnmatch(norm, g) or fnmatch.fnmatch(os.path.basename(norm), g) for g in exclude)


def _display(path: str) -> str:
    p = os.path.normpath(path)
    return p.replace(os.sep, "/")


@dataclass
class FileResult:
    path: str
    kind: str  # dockerfile / compose / kubernetes / images / none
    findings: list[Finding]
    images: list[ImageUse]
    ignores: list[inline.InlineIgnore] = field(default_factory=list)  # `# supplychain:ignore` comments


def check_text(text: str, kind: str, col: Collector, build_args: dict[str, str] | None = None) -> str:
    """Run the checker for one file's text; returns the detected kind."""
    if kind in manifests.KINDS:
        return manifests.check_text(text, kind, col)
    if kind == DOCKERFILE:
        dockerfile.check(text, col, build_args)
        return DOCKERFILE
    if kind == IMAGES:
        _check_image_list(text, col)
        return IMAGES
    found = "none"
    for doc, _line in load_all(text, col.file):
        if not isinstance(doc, YMap):
            continue
        if kubernetes.is_manifest(doc):
            kubernetes.check_document(doc, col)
            found = KUBERNETES
        elif isinstance(doc.get("services"), YMap) or (kind == COMPOSE and "services" in doc):
            compose.check_document(doc, col)
            found = COMPOSE
    return found


def _check_image_list(text: str, col: Collector) -> None:
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        token = re.split(r"\s#", line, maxsplit=1)[0].strip()  # " # comment" after a reference
        if not token:
            continue
        column = line.find(token) + 1
        col.image(ImageUse(file=col.file, line=lineno, column=column, text=token, literal=True,
                           context="image list"))


class TemplateSkipped(Exception):
    """A walked YAML file that is a template (Helm, Jinja), not YAML: skipped, not an error."""


def check_file(path: str, kind: str | None, policy: Policy, build_args: dict[str, str] | None = None,
               *, explicit: bool = True) -> FileResult:
    shown = _display(path)
    text = read_text(path, source=shown)
    if kind is None:
        kind = sniff_kind(text)
    col = Collector(policy, shown)
    try:
        detected = check_text(text, kind, col, build_args)
    except InputError:
        if not explicit and kind == YAML and ("{{" in text or "{%" in text):
            raise TemplateSkipped(shown) from None
        raise
    ignores, problems = inline.parse(text, shown, policy)
    return FileResult(shown, detected, [*col.findings, *problems], col.images, ignores)


STDIN = "-"
STDIN_NAME = "<stdin>"


def check_stdin(policy: Policy, build_args: dict[str, str] | None = None) -> FileResult:
    """Check what standard input holds (kind sniffed from the text), reported as ``<stdin>``."""
    import sys

    from supplychain.policy.yamlsrc import MAX_FILE_SIZE, decode_text

    raw = sys.stdin.buffer.read(MAX_FILE_SIZE + 1)
    if len(raw) > MAX_FILE_SIZE:
        raise InputError(f"{STDIN_NAME}: more than {MAX_FILE_SIZE} bytes",
                         hint="policy checks read configuration files, not data")
    text = decode_text(raw, STDIN_NAME)
    col = Collector(policy, STDIN_NAME)
    detected = check_text(text, sniff_kind(text), col, build_args)
    ignores, problems = inline.parse(text, STDIN_NAME, policy)
    return FileResult(STDIN_NAME, detected, [*col.findings, *problems], col.images, ignores)


@dataclass
class Report:
    policy: Policy
    files: list[FileResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # after waivers
    waived: list[tuple[Finding, Waiver]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # walked template files that are not YAML

    @property
    def images(self) -> list[ImageUse]:
        return [u for f in self.files for u in f.images]

    def failed(self, fail_on: Severity | str = Severity.ERROR) -> bool:
        threshold = Severity.parse(fail_on).rank
        return any(f.severity.rank >= threshold for f in self.findings)

    def summary(self, fail_on: Severity | str = Severity.ERROR) -> dict[str, object]:
        counts = {s: 0 for s in ("error", "warning", "note")}
        for f in self.findings:
            counts[f.severity] += 1
        kinds: dict[str, int] = {}
        for fr in self.files:
            kinds[fr.kind] = kinds.get(fr.kind, 0) + 1
        return {
            "files": len(self.files),
            "files_by_kind": dict(sorted(kinds.items())),
            "images": len(self.images),
            "findings": len(self.findings),
            "by_severity": counts,
            "waived": len(self.waived),
            "skipped_templates": len(self.skipped),
            "policy": self.policy.source,
            "fail_on": Severity.parse(fail_on).value,
            "passed": not self.failed(fail_on),
        }

    def waived_findings(self) -> list[Waived]:
        return [Waived(f, w.reason, w.expires) for f, w in self.waived]

    def to_report(self, fail_on: Severity | str = Severity.ERROR) -> ReportModel:
        """The report model (text / JSON / SARIF writers) of this run."""
        summary = self.summary(fail_on)
        by_file: dict[str, Section] = {}
        for f in self.findings:
            by_file.setdefault(f.file, Section(f.file, in_file=True)).findings.append(f)
        for w in self.waived_findings():  # shown under their file, labelled waived, with the reason
            by_file.setdefault(w.finding.file, Section(w.finding.file, in_file=True)).waived.append(w)
        counts = self.summary(fail_on)["by_severity"]
        assert isinstance(counts, dict)
        parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in ("error", "warning", "note")]
        verdict = (f"{'passed' if summary['passed'] else 'FAILED'}: {summary['files']} file(s), "
                   f"{summary['images']} image reference(s); " + ", ".join(parts)
                   + (f"; {len(self.waived)} waived" if self.waived else "")
                   + (f"; {len(self.skipped)} template file(s) skipped" if self.skipped else "")
                   + f" (fail-on: {summary['fail_on']})")
        return ReportModel(
            tool="supplychain", findings=list(self.findings), summary=summary, verdict=verdict,
            passed=bool(summary["passed"]), waived=self.waived_findings(), sections=list(by_file.values()),
            rule_ids=sorted(r for r, rule in RULES.items() if rule.kind in POLICY_KINDS),
        )


def apply_waivers(report: Report, raw: list[Finding], today: datetime.date | None = None) -> None:
    today = today or datetime.date.today()
    policy = report.policy
    active = [w for w in policy.waivers if not w.expired(today)]
    for w in policy.waivers:
        if w.expired(today):
            sev = policy.severity_of("SC-POL-001")
            if sev is not None:
                report.findings.append(Finding(
                    rule="SC-POL-001", severity=sev, file=_display(policy.source), line=max(1, w.line),
                    column=w.column,
                    message=f"waiver for {w.rule} ({w.path or w.image}) expired on {w.expires.isoformat()}: "
                            f"{w.reason}",
                    fix="fix the waived findings, or renew the waiver with a new expiry date",
                ))
    ignores = {fr.path: fr.ignores for fr in report.files if fr.ignores}
    forbid = inline.forbidden(policy)
    for f in raw:
        waiver = inline.waiver_for(f, ignores.get(f.file, []))
        if waiver is not None and forbid:
            f.message += " (its inline ignore is refused: the policy sets inline_ignores: forbid)"
            waiver = None
        if waiver is None:
            waiver = waiver_for(active, f, today)
        if waiver is None:
            report.findings.append(f)
        else:
            report.waived.append((f, waiver))
    report.findings.sort(key=Finding.sort_key)


def check_paths(paths: list[str], policy: Policy, *, exclude: tuple[str, ...] = (),
                build_args: dict[str, str] | None = None, today: datetime.date | None = None) -> Report:
    """Check files and directories against a policy; bad input raises InputError (exit 2)."""
    from supplychain.policy import hardening

    report = Report(policy)
    raw: list[Finding] = []
    seen: set[str] = set()
    hardening.reset()  # K8S-024 is judged over every checked manifest (below)
    if STDIN in paths:  # "-": rendered manifests (helm template ...), a compose file or a Dockerfile on stdin
        paths = [p for p in paths if p != STDIN]
        result = check_stdin(policy, build_args)
        report.files.append(result)
        raw.extend(result.findings)
    for path, kind, explicit in manifests.plan(iter_files(paths, exclude), paths, exclude):
        key = os.path.realpath(path)
        if key in seen:
            continue
        seen.add(key)
        try:
            result = check_file(path, kind, policy, build_args, explicit=explicit)
        except TemplateSkipped as skipped:
            report.skipped.append(str(skipped))
            continue
        report.files.append(result)
        raw.extend(result.findings)
    raw.extend(hardening.network_policy_findings(hardening.drain(), _finding_maker(policy)))
    apply_waivers(report, raw, today)
    return report


def _finding_maker(policy: Policy) -> Callable[[str, str, int, str], Finding | None]:
    def make(rule: str, file: str, line: int, message: str) -> Finding | None:
        sev = policy.severity_of(rule)
        if sev is None:
            return None
        return Finding(rule=rule, severity=sev, file=file, line=max(1, line), column=None, message=message,
                       fix=RULES[rule].help)
    return make


def collect_images(paths: list[str], policy: Policy, *, exclude: tuple[str, ...] = ()) -> list[ImageUse]:
    """Every image reference in the given files/directories, in file order."""
    return check_paths(paths, policy, exclude=exclude).images
