"""Benchmark: synthetic 5,000-package composer.lock -> CycloneDX SBOM, whole process.

Also times `supplychain --help` (lazy imports). Run: .venv/bin/python bench/bench_composer.py
Targets (issue 2): SBOM of a 5,000-package lock < 1.5 s; `supplychain --help` < 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def synthetic_lock(n: int, dev: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A lock shaped like a real one: vendor/name, v-prefixed versions, dist+source, support
    links, authors, licenses (some multi), 0-4 requires each, provide/replace, platform reqs."""
    licenses = [["MIT"], ["BSD-3-Clause"], ["Apache-2.0"], ["MIT", "Apache-2.0"], ["LGPL-2.1-or-later"], ["proprietary"]]

    def entry(i: int) -> dict[str, Any]:
        name = f"vendor{i % 97}/package-{i}"
        ref = f"{i:040x}"
        req: dict[str, str] = {"php": ">=8.1", "ext-json": "*"}
        for k in (1, 7, 31, 211):
            if i + k < n + dev and (i + k) % 5:
                req[f"vendor{(i + k) % 97}/package-{i + k}"] = "^1.0"
        if i % 50 == 0:
            req["psr/log-implementation"] = "^3.0"
        e: dict[str, Any] = {
            "name": name,
            "version": f"v{i % 10}.{i % 7}.{i % 13}",
            "source": {"type": "git", "url": f"https://github.com/{name}.git", "reference": ref},
            "dist": {"type": "zip", "url": f"https://api.github.com/repos/{name}/zipball/{ref}",
                     "reference": ref, "shasum": ""},
            "require": req,
            "type": "library",
            "license": licenses[i % len(licenses)],
            "authors": [{"name": f"Author {i}", "email": f"a{i}@example.org"}],
            "description": f"Synthetic package number {i} for the benchmark",
            "homepage": f"https://example.org/{name}",
            "support": {"issues": f"https://github.com/{name}/issues", "source": f"https://github.com/{name}/tree/v1"},
            "time": "2024-01-01T00:00:00+00:00",
        }
        if i == 3:
            e["provide"] = {"psr/log-implementation": "3.0"}
        if i % 100 == 1:
            e["replace"] = {f"legacy/package-{i}": "self.version"}
        return e

    entries = [entry(i) for i in range(n + dev)]
    manifest = {"name": "bench/app", "type": "project", "license": "MIT",
                "require": {e["name"]: "*" for e in entries[:20]},
                "require-dev": {e["name"]: "*" for e in entries[n:n + 5]}}
    lock = {"content-hash": "0" * 32, "packages": entries[:n], "packages-dev": entries[n:]}
    return manifest, lock


def timed(cmd: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user+sys of the child) seconds per run. On a shared, busy machine
    the CPU time is the stable number; the wall-clock time is what a user waits."""
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def show(label: str, wall: list[float], cpu: list[float], target: str) -> None:
    print(f"  {label}: wall median {statistics.median(wall):.3f} s (min {min(wall):.3f}), "
          f"cpu median {statistics.median(cpu):.3f} s  [{target}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--packages", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        manifest, lock = synthetic_lock(args.packages - args.packages // 10, args.packages // 10)
        (d / "composer.json").write_text(json.dumps(manifest))
        (d / "composer.lock").write_text(json.dumps(lock, indent=4))
        size = (d / "composer.lock").stat().st_size
        exe = [sys.executable, "-m", "supplychain"]
        subprocess.run([*exe, "sbom", "composer", str(d), "-o", str(d / "warm.json")], check=True)  # warm caches
        results = {}
        for fmt in ("json", "xml"):
            results[fmt] = timed(
                [*exe, "sbom", "composer", str(d), "--output-format", fmt, "-o", str(d / f"bom.{fmt}")], args.runs)
        comps = len(json.loads((d / "bom.json").read_text())["components"])
        print(f"lock: {args.packages} packages ({size / 1e6:.1f} MB) -> {comps} components; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for fmt, (wall, cpu) in results.items():
            show(f"sbom composer --output-format {fmt}", wall, cpu, "target < 1.5 s")
        wall, cpu = timed([*exe, "--help"], max(args.runs, 5))
        show("supplychain --help", wall, cpu, "target < 0.3 s")


if __name__ == "__main__":
    main()
