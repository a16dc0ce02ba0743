"""Image secret + config checks: their cost on top of the SBOM's one layer pass, and what they find.

    .venv/bin/python bench/bench_imagecheck.py                       # bench/out/large.oci (and small.oci)
    .venv/bin/python bench/bench_imagecheck.py oci:bench/out/large.oci --runs 5
    .venv/bin/python bench/bench_imagecheck.py --bomb 1024           # only a synthetic image with a 1 GiB
                                                                     #   binary file: skipped by size

Per image, interleaved runs (min and median of ``--runs``), in process:
  sbom        ``catalog_image`` (what ``supplychain sbom image`` does)
  sbom+scan   ``catalog_image(..., also=ImageScan)``: the same single pass with the checks
  scan        ``scan_image`` alone (what ``supplychain policy check IMAGE`` does)
CPU seconds are the steady number on a shared machine; the target is sbom+scan <= 1.15 x sbom.
Then it lists every finding (rule, severity, message) and the allow-listed matches, so false
positives on the bench images (real Debian, PyPI, npm and Composer files) can be reviewed.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from supplychain.oci.image import open_image  # noqa: E402
from supplychain.policy.config import default_policy  # noqa: E402
from supplychain.policy.imagecheck import register  # noqa: E402
from supplychain.policy.imagecheck.scan import ImageScan, scan_image  # noqa: E402
from supplychain.sbom.image import catalog_image  # noqa: E402


def timed(fn: object) -> tuple[float, float, object]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()  # type: ignore[operator]
    return time.perf_counter() - w, time.process_time() - c, out


def run_sbom(source: str) -> object:
    with open_image(source) as im:
        return catalog_image(im)


def run_both(source: str) -> object:
    scan = ImageScan(default_policy())
    with open_image(source) as im:
        catalog_image(im, also=scan)
    return scan


def run_scan(source: str) -> object:
    with open_image(source) as im:
        return scan_image(im, default_policy())


def bench(source: str, runs: int) -> None:
    times: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    scan: ImageScan | None = None
    for _ in range(runs):
        for name, fn in (("sbom", run_sbom), ("sbom+scan", run_both), ("scan", run_scan)):
            wall, cpu, out = timed(lambda fn=fn: fn(source))
            times[name].append((wall, cpu))
            if name == "sbom+scan":
                assert isinstance(out, ImageScan)
                scan = out
    print(f"{source}: {runs} interleaved run(s); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    base = min(c for _w, c in times["sbom"])
    for name, vals in times.items():
        walls, cpus = [w for w, _c in vals], [c for _w, c in vals]
        print(f"  {name:<10} wall min {min(walls):6.2f} s median {statistics.median(walls):6.2f} s   "
              f"cpu min {min(cpus):6.2f} s median {statistics.median(cpus):6.2f} s   "
              f"(cpu min / sbom cpu min = {min(cpus) / base:.3f})")
    assert scan is not None
    print(f"  scanned: {scan.summary()}")
    for note in scan.notes():
        print(f"  note: {note}")
    findings = scan.findings()
    print(f"  findings: {len(findings)}")
    for f in findings:
        print(f"    {f.severity.value:<7} {f.rule:<11} {f.message}")
    allowed = [o for o in scan.observations if o.allowed]
    print(f"  allow-listed matches: {len(allowed)}")
    for o in allowed:
        print(f"    {o.rule:<11} {o.path} ({o.allowed})")


def bomb_image(mib: int, tmp: str) -> str:
    """An OCI layout whose one layer holds a ``mib`` MiB binary file (zeros after an ELF magic)."""
    sys.path.insert(0, str(REPO / "tests"))
    import hashlib
    import io
    import json
    import tarfile

    layout = Path(tmp) / "bomb.oci"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    layer = Path(tmp) / "layer.tar"
    with tarfile.open(layer, "w") as tf:
        info = tarfile.TarInfo("usr/lib/huge.bin")
        info.size = mib << 20

        class Zeros(io.RawIOBase):
            def __init__(self, n: int) -> None:
                self.left = n
                self.first = True

            def readable(self) -> bool:
                return True

            def readinto(self, b: memoryview) -> int:  # type: ignore[override]
                n = min(len(b), self.left)
                b[:n] = b"\0" * n
                if self.first and n >= 4:
                    b[:4] = b"\x7fELF"
                    self.first = False
                self.left -= n
                return n

        tf.addfile(info, io.BufferedReader(Zeros(info.size), 1 << 20))
        env = tarfile.TarInfo("app/.env")
        data = b"DB_PASSWORD=s3cr3t-Value-9f8e7d\n"
        env.size = len(data)
        tf.addfile(env, io.BytesIO(data))

    def put(data: bytes) -> str:
        d = hashlib.sha256(data).hexdigest()
        (blobs / d).write_bytes(data)
        return d

    h = hashlib.sha256()
    with open(layer, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    ldig = h.hexdigest()
    os.replace(layer, blobs / ldig)
    size = (blobs / ldig).stat().st_size
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"User": "10001"},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + ldig]}}).encode()
    cdig = put(cfg)
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cdig,
                                 "size": len(cfg)},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + ldig,
                                  "size": size}]}).encode()
    mdig = put(man)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + mdig, "size": len(man)}]}))
    return f"oci:{layout}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bomb", type=int, metavar="MIB", default=0,
                    help="also time scan_image on a synthetic image with one MIB-sized binary file")
    args = ap.parse_args()
    register()
    images = args.images or ([] if args.bomb else [f"oci:{p}" for p in (REPO / "bench/out/large.oci",
                                                                        REPO / "bench/out/small.oci") if p.is_dir()])
    if not images and not args.bomb:
        sys.exit("no bench images: run bash bench/image/build_images.sh (root, mmdebstrap), or pass --bomb MIB")
    for source in images:
        bench(source, args.runs)
    if args.bomb:
        with tempfile.TemporaryDirectory() as tmp:
            source = bomb_image(args.bomb, tmp)
            wall, cpu, out = timed(lambda: run_scan(source))
            assert isinstance(out, ImageScan)
            print(f"{args.bomb} MiB binary file: scan wall {wall:.2f} s cpu {cpu:.2f} s; {out.summary()}; "
                  f"findings: {[f.rule for f in out.findings()]}")


if __name__ == "__main__":
    main()
