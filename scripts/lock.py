#!/usr/bin/env python3
"""Keeps the hash-checked lock files in step with pyproject.toml (standard library only).

    python3 scripts/lock.py stamp [--from SNAPSHOT] requirements.lock ...   after pip-compile
                          (`make lock` passes the copy of pyproject.toml it compiled from)
    python3 scripts/lock.py check requirements.lock ...   before installing (`make example/test`)

Each lock covers the runtime dependencies plus some extras (requirements.lock: none,
requirements-test.lock: test, requirements-bench.lock: test and bench); requirements-build.lock
covers [build-system] requires (setuptools, wheel: the container image builds our wheel). `stamp` writes a line
``# pyproject-deps-sha256: <digest>`` over exactly those declarations (and requires-python);
`check` fails, naming the lock and what differs, when pyproject.toml declares something the lock
was not made from, or a declared package is not pinned in it. Regenerate with `make lock`.
"""

from __future__ import annotations

import hashlib
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = "build-system"  # requirements-build.lock: what builds our wheel (the container image)
EXTRAS = {
    "requirements-build.lock": (BUILD,),
    "requirements.lock": (),
    "requirements-test.lock": ("test",),
    "requirements-bench.lock": ("test", "bench"),
}
STAMP = "# pyproject-deps-sha256: "
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(extras: tuple[str, ...], pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    data = tomllib.loads(pyproject.read_text("utf-8"))
    if extras == (BUILD,):
        return sorted(" ".join(r.split()) for r in data.get("build-system", {}).get("requires", []))
    project = data["project"]
    reqs = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"pyproject.toml: no optional-dependencies group {extra!r}")
        reqs += optional[extra]
    return [f"requires-python {project.get('requires-python', '')}", *sorted(" ".join(r.split()) for r in reqs)]


def digest(extras: tuple[str, ...], pyproject: Path = ROOT / "pyproject.toml") -> str:
    return hashlib.sha256("\n".join(declared(extras, pyproject)).encode()).hexdigest()


def _extras_of(lock: Path) -> tuple[str, ...]:
    if lock.name not in EXTRAS:
        raise SystemExit(f"{lock}: unknown lock file (known: {', '.join(EXTRAS)})")
    return EXTRAS[lock.name]


def stamp(lock: Path, pyproject: Path) -> None:
    lines = [ln for ln in lock.read_text("utf-8").splitlines() if not ln.startswith(STAMP)]
    lines.insert(0, STAMP + digest(_extras_of(lock), pyproject))
    lock.write_text("\n".join(lines) + "\n", "utf-8")


def check(lock: Path) -> list[str]:
    extras = _extras_of(lock)
    if not lock.is_file():
        return [f"{lock.name} is missing"]
    text = lock.read_text("utf-8")
    problems = []
    found = next((ln[len(STAMP):].strip() for ln in text.splitlines() if ln.startswith(STAMP)), None)
    if found != digest(extras):
        what = "build-system requires" if extras == (BUILD,) else "runtime" + "".join(" + " + e for e in extras)
        problems.append(f"{lock.name} was not made from the dependencies pyproject.toml declares now ({what})")
    pinned = {_norm(m.group(1)) for ln in text.splitlines()
              if "==" in ln and not ln.startswith("#") and (m := _NAME.match(ln))}
    for req in declared(extras)[0 if extras == (BUILD,) else 1:]:
        m = _NAME.match(req)
        if m and _norm(m.group(1)) not in pinned:
            problems.append(f"{lock.name} does not pin {m.group(1)} (declared in pyproject.toml)")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("stamp", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    args = argv[1:]
    pyproject = ROOT / "pyproject.toml"
    if argv[0] == "stamp" and len(args) > 2 and args[0] == "--from":
        pyproject, args = Path(args[1]), args[2:]
    locks = [Path(a) if Path(a).is_absolute() else ROOT / a for a in args]
    if argv[0] == "stamp":
        for lock in locks:
            stamp(lock, pyproject)
        return 0
    problems = [p for lock in locks for p in check(lock)]
    for p in problems:
        print(f"lock check: {p}", file=sys.stderr)
    if problems:
        print("lock check: run `make lock` and commit the lock files (see README, Installation)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
