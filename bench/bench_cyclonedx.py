"""Benchmark: 10,000 Package records -> CycloneDX JSON / XML with supplychain.sbom.cyclonedx.

Run: .venv/bin/python bench/bench_cyclonedx.py [--compare]
Target (issue 2): 10,000 components serialized to CycloneDX JSON in < 1 s.
--compare also times cyclonedx-python-lib's own object model + serializer on 4,000 components
(the issue quotes 4.2 s for it).
"""

from __future__ import annotations

import argparse
import statistics
import time

from supplychain.sbom.cyclonedx import render_bom
from supplychain.sbom.package import ExternalRef, Package


def packages(n: int) -> tuple[Package, list[Package]]:
    root = Package(name="app", group="bench", version="1.0.0", purl="pkg:composer/bench/app@1.0.0", type="application")
    pkgs = []
    for i in range(n):
        purl = f"pkg:composer/vendor{i % 97}/package-{i}@1.{i % 50}.0"
        pkgs.append(Package(
            name=f"package-{i}", group=f"vendor{i % 97}", version=f"1.{i % 50}.0", purl=purl, ecosystem="composer",
            description=f"Synthetic package {i}", licenses=[["MIT"], ["Apache-2.0", "MIT"], ["proprietary"]][i % 3],
            license_expression="Apache-2.0 OR MIT" if i % 3 == 1 else None,
            hashes={"SHA-1": f"{i:040x}"} if i % 2 else {},
            authors=[(f"Author {i}", None)],
            external_refs=[ExternalRef("distribution", f"https://example.org/{i}.zip", f"dist reference: {i:040x}"),
                           ExternalRef("vcs", f"https://github.com/vendor/package-{i}.git"),
                           ExternalRef("website", f"https://example.org/package-{i}")],
            properties=[("cdx:composer:package:type", "library"), ("cdx:composer:package:distReference", f"{i:040x}")],
            dependencies=[f"pkg:composer/vendor{(i + k) % 97}/package-{i + k}@1.{(i + k) % 50}.0" for k in (1, 7, 31)],
        ))
    root.dependencies = [p.bom_ref for p in pkgs[:20]]
    return root, pkgs


def bench(n: int, fmt: str, runs: int) -> tuple[list[float], list[float]]:
    root, pkgs = packages(n)
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        render_bom(root, pkgs, fmt=fmt, reproducible=True)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu


def compare(n: int) -> float:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    bom = Bom()
    comps = []
    for i in range(n):
        c = Component(name=f"package-{i}", group=f"vendor{i % 97}", version="1.0",
                      purl=PackageURL("composer", f"vendor{i % 97}", f"package-{i}", "1.0"), bom_ref=f"ref-{i}")
        bom.components.add(c)
        comps.append(c)
    for i, c in enumerate(comps[:-1]):
        bom.register_dependency(c, [comps[i + 1]])
    t = time.perf_counter()
    JsonV1Dot6(bom).output_as_string()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--components", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--compare", action="store_true", help="also time cyclonedx-python-lib (4,000 components)")
    args = ap.parse_args()
    for fmt in ("json", "xml"):
        wall, cpu = bench(args.components, fmt, args.runs)
        print(f"render_bom {args.components} components, {fmt}: wall median {statistics.median(wall):.3f} s "
              f"(min {min(wall):.3f}), cpu median {statistics.median(cpu):.3f} s"
              + ("  [target < 1 s]" if fmt == "json" else ""))
    if args.compare:
        print(f"cyclonedx-python-lib JsonV1Dot6, 4000 components: {compare(4000):.3f} s")


if __name__ == "__main__":
    main()
