"""Benchmark of supplychain.vuln (not a test): whole-process times of the real CLI.

1. ``vuln db import`` of the two shared databases (FriendsOfPHP + PyPA, ~4,250 records)  [< 5 s]
2. ``vuln db import`` of a synthetic 200,000-record OSV all.zip (PyPI, npm, Debian:12,
   Alpine:v3.20 records with ranges and version lists)  [< 60 s, flat memory: peak RSS compared
   with a 20,000-record import]
3. ``vuln scan`` of a 2,500-component image-like SBOM (deb with source packages, apk, PyPI, npm,
   Composer) against the database of 1 + 2  [< 0.5 s whole process]

Usage: .venv/bin/python bench/bench_vuln.py [--records 200000] [--components 2500] [--runs 5]
Prints wall-clock and CPU time (children's user+sys) and the children's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXTERNAL = Path(os.environ.get("SUPPLYCHAIN_EXTERNAL", REPO.parent / "shared" / "external"))
PY = sys.executable


_WRAP = ("import json,resource,subprocess,sys,time;t=time.perf_counter();"
         "p=subprocess.run([sys.argv[1],'-m','supplychain',*sys.argv[2:]],capture_output=True);"
         "w=time.perf_counter()-t;r=resource.getrusage(resource.RUSAGE_CHILDREN);"
         "print(json.dumps([p.returncode,w,r.ru_utime+r.ru_stime,r.ru_maxrss,p.stderr.decode()[-2000:]]))")


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, cpu s, peak RSS KiB) of one whole `python -m supplychain` process (measured by a
    small wrapper process, so each number belongs to that one run)."""
    proc = subprocess.run([PY, "-c", _WRAP, PY, *args], env={**os.environ, **env}, capture_output=True, text=True)
    rc, wall, cpu, rss, err = json.loads(proc.stdout)
    if rc not in (0, 1):
        sys.exit(f"failed: {' '.join(args)}\n{err}")
    return wall, cpu, rss


def synthetic_zip(path: Path, n: int, rnd: random.Random) -> None:
    ecos = [("PyPI", 0.35), ("npm", 0.25), ("Debian:12", 0.25), ("Alpine:v3.20", 0.15)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(n):
            eco = rnd.choices([e for e, _ in ecos], [w for _, w in ecos])[0]
            pkg = f"pkg{rnd.randrange(20000)}"
            if eco == "Debian:12":
                fixed, intro = f"{rnd.randint(1, 9)}.{rnd.randint(0, 20)}-{rnd.randint(1, 5)}+deb12u{rnd.randint(1, 4)}", "0"
            elif eco.startswith("Alpine"):
                fixed, intro = f"{rnd.randint(1, 9)}.{rnd.randint(0, 20)}.{rnd.randint(0, 9)}-r{rnd.randint(0, 5)}", "0"
            else:
                fixed, intro = f"{rnd.randint(1, 9)}.{rnd.randint(0, 20)}.{rnd.randint(0, 9)}", f"{rnd.randint(0, 1)}.0.0"
            rec = {"id": f"SYN-{i:07d}", "modified": "2026-11-01T00:00:00Z", "published": "2026-10-01T00:00:00Z",
                   "aliases": [f"CVE-2026-{i:07d}"], "summary": f"synthetic advisory {i} for {pkg}",
                   "details": "x" * rnd.randint(100, 600),
                   "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N"}],
                   "affected": [{"package": {"ecosystem": eco, "name": pkg},
                                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": intro}, {"fixed": fixed}]}],
                                 "versions": [f"1.0.{k}" for k in range(rnd.randint(0, 8))]}],
                   "references": [{"type": "ADVISORY", "url": f"https://example.org/adv/{i}"}]}
            zf.writestr(f"SYN-{i:07d}.json", json.dumps(rec))


def synthetic_sbom(path: Path, n: int, rnd: random.Random) -> None:
    from packageurl import PackageURL

    comps = []
    fop = sorted({p.parent.relative_to(EXTERNAL / "vulns" / "friendsofphp-security-advisories").as_posix()
                  for p in (EXTERNAL / "vulns" / "friendsofphp-security-advisories").glob("*/*/*.yaml")})
    pypa = sorted(p.name for p in (EXTERNAL / "vulns" / "pypa-advisory-database" / "vulns").iterdir())
    for i in range(n):
        kind = rnd.choices(["deb", "apk", "pypi", "npm", "composer"], [0.5, 0.1, 0.15, 0.15, 0.1])[0]
        if kind == "deb":
            src = f"pkg{rnd.randrange(20000)}"
            ver = f"{rnd.randint(1, 9)}.{rnd.randint(0, 20)}-{rnd.randint(1, 5)}"
            purl = PackageURL("deb", "debian", f"lib{src}-{i}", ver,
                              {"arch": "amd64", "distro": "debian-12", "upstream": src}).to_string()
        elif kind == "apk":
            ver = f"{rnd.randint(1, 9)}.{rnd.randint(0, 20)}.{rnd.randint(0, 9)}-r{rnd.randint(0, 5)}"
            purl = PackageURL("apk", "alpine", f"pkg{rnd.randrange(20000)}", ver,
                              {"arch": "x86_64", "distro": "alpine-3.20.3"}).to_string()
        elif kind == "pypi":
            purl = PackageURL("pypi", None, rnd.choice(pypa), f"{rnd.randint(0, 3)}.{rnd.randint(0, 20)}.0").to_string()
        elif kind == "npm":
            purl = PackageURL("npm", None, f"pkg{rnd.randrange(20000)}", f"{rnd.randint(0, 9)}.{rnd.randint(0, 20)}.1").to_string()
        else:
            vendor, name = rnd.choice(fop).split("/", 1)
            purl = PackageURL("composer", vendor, name, f"{rnd.randint(1, 5)}.{rnd.randint(0, 9)}.{rnd.randint(0, 9)}").to_string()
        comps.append({"type": "library", "bom-ref": f"c{i}", "name": purl.split("/")[-1].split("@")[0],
                      "version": purl.split("@", 1)[1].split("?", 1)[0], "purl": purl,
                      "properties": [{"name": "supplychain:package:location", "value": "/var/lib/dpkg/status"},
                                     {"name": "supplychain:package:layer", "value": "sha256:" + "ab" * 32}]})
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
           "metadata": {"component": {"type": "container", "name": "bench/app", "version": "sha256:" + "cd" * 32,
                                      "purl": "pkg:oci/app@sha256%3A" + "cd" * 32, "bom-ref": "root"}},
           "components": comps}
    path.write_text(json.dumps(doc))


def report(label: str, samples: list[tuple[float, float, int]], target: str) -> None:
    walls = [s[0] for s in samples]
    cpus = [s[1] for s in samples]
    print(f"{label}: wall median {statistics.median(walls):.3f} s (min {min(walls):.3f}), "
          f"cpu median {statistics.median(cpus):.3f} s  [target {target}]", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--components", type=int, default=2_500)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    vulns = EXTERNAL / "vulns"
    if not vulns.is_dir():
        sys.exit(f"{vulns}: shared advisory data not found (set SUPPLYCHAIN_EXTERNAL)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    rnd = random.Random(2026)
    with tempfile.TemporaryDirectory(prefix="bench-vuln-") as tmp:
        t = Path(tmp)
        shared = [str(vulns / "friendsofphp-security-advisories"), str(vulns / "pypa-advisory-database")]
        samples = []
        for k in range(max(1, args.runs // 2)):
            db = t / f"shared{k}.db"
            samples.append(run(["vuln", "db", "import", "--db", str(db), *shared], {}))
        report("import FriendsOfPHP + PyPA (4,253 records) into a new db", samples, "< 5 s")

        small, big = t / "small.zip", t / "big.zip"
        synthetic_zip(small, args.records // 10, random.Random(1))
        synthetic_zip(big, args.records, random.Random(2))
        print(f"synthetic OSV zips: {args.records // 10} records ({small.stat().st_size >> 20} MiB), "
              f"{args.records} records ({big.stat().st_size >> 20} MiB)", flush=True)
        _, _, rss_small = run(["vuln", "db", "import", "--db", str(t / "small.db"), str(small)], {})
        db = t / "full.db"
        run(["vuln", "db", "import", "--db", str(db), *shared], {})
        w, c, rss_big = run(["vuln", "db", "import", "--db", str(db), str(big)], {})
        print(f"import {args.records} synthetic records: wall {w:.1f} s, cpu {c:.1f} s  [target < 60 s]; "
              f"peak RSS {rss_big >> 10} MiB vs {rss_small >> 10} MiB for {args.records // 10} records "
              f"[flat memory]; db {db.stat().st_size >> 20} MiB", flush=True)

        sbom = t / "image.cdx.json"
        synthetic_sbom(sbom, args.components, rnd)
        samples = [run(["vuln", "scan", "--db", str(db), str(sbom), "--format", "json", "-o", str(t / "out.json")], {})
                   for _ in range(args.runs)]
        out = json.loads((t / "out.json").read_text())
        print(f"scan: {out['components']} components, {len(out['findings'])} findings, "
              f"checked {sum(out['coverage']['checked'].values())}", flush=True)
        report(f"vuln scan of a {args.components}-component SBOM (db of {args.records + 4253} records)", samples,
               "< 0.5 s whole process")
        samples = [run(["vuln", "scan", "--db", str(db), str(sbom)], {}) for _ in range(args.runs)]
        report("  same, table to stdout", samples, "< 0.5 s")


if __name__ == "__main__":
    main()
