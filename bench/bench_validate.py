"""Benchmark: `supplychain sbom validate` of a 4,000-component SBOM, whole process.

Run: .venv/bin/python bench/bench_validate.py [--compare]
Target (issue 2): < 2 s. --compare also times cyclonedx-python-lib's JsonValidator on the same
file (very slow: its RFC 3987 format check parses every URL with an Earley parser, and
jsonschema's uniqueItems is quadratic).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cyclonedx import packages

from supplychain.sbom.cyclonedx import render_bom


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--components", type=int, default=4000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--compare", action="store_true")
    args = ap.parse_args()
    root, pkgs = packages(args.components)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("json", "xml"):
            f = Path(tmp) / f"bom.{fmt}"
            f.write_bytes(render_bom(root, pkgs, fmt=fmt))
            times, cpu = [], []
            for _ in range(args.runs):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                r = subprocess.run([sys.executable, "-m", "supplychain", "sbom", "validate", str(f)],
                                   capture_output=True)
                times.append(time.perf_counter() - t)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                if r.returncode != 0:
                    sys.exit(f"validate failed: {r.stdout.decode()[:500]} {r.stderr.decode()[:500]}")
            print(f"sbom validate {args.components} components ({f.stat().st_size / 1e6:.1f} MB {fmt}): "
                  f"wall median {statistics.median(times):.3f} s (min {min(times):.3f}), "
                  f"cpu median {statistics.median(cpu):.3f} s  [target < 2 s; load {os.getloadavg()[0]:.1f}]")
        if args.compare:
            from cyclonedx.schema import SchemaVersion
            from cyclonedx.validation.json import JsonValidator

            text = (Path(tmp) / "bom.json").read_text()
            t = time.perf_counter()
            JsonValidator(SchemaVersion.V1_6).validate_str(text)
            print(f"cyclonedx-python-lib JsonValidator, same file: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
