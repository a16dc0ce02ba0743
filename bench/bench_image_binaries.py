"""What the executable / archive catalogers (binary classifiers, Go, Rust, Java, Ruby, .NET) cost.

    .venv/bin/python bench/bench_image_binaries.py                  # bench/out/large.oci if built
    .venv/bin/python bench/bench_image_binaries.py oci:bench/out/large.oci:v1 --runs 3
    .venv/bin/python bench/bench_image_binaries.py --big-binary 200  # a 200 MB executable layer

For each image, ``catalog_image`` runs with every cataloger ("all") and with the new ones left
out ("without"), alternating, ``--runs`` times each: wall and CPU medians and the package count.
``--big-binary N`` builds a one-layer image (uncompressed) holding an N MB ELF executable (a real
Go binary from this machine padded with zeros, as big statically linked programs are) and
compares: reading the layer blob once (sha256, what digest verification costs anyway), squash
with no cataloger, squash with the executable analyzer, and the whole ``catalog_image``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from supplychain.oci.fs import Want  # noqa: E402
from supplychain.oci.image import open_image  # noqa: E402
from supplychain.oci.layers import squash  # noqa: E402
from supplychain.sbom.catalogers import default_catalogers, union_analyze, union_select  # noqa: E402
from supplychain.sbom.image import catalog_image  # noqa: E402

NEW = {"binary", "go", "rust", "java", "ruby", "dotnet"}


def timed(fn: object) -> tuple[float, float, object]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()  # type: ignore[operator]
    return time.perf_counter() - t0, time.process_time() - c0, out


def bench_image(source: str, runs: int) -> None:
    results: dict[str, list[tuple[float, float]]] = {"all": [], "without": []}
    counts: dict[str, Counter[str]] = {}
    for _ in range(runs):
        for label in ("without", "all"):
            cats = [c for c in default_catalogers() if label == "all" or c.name not in NEW]

            def run(cats: list = cats) -> list:  # type: ignore[type-arg]
                with open_image(source) as img:
                    _, pkgs = catalog_image(img, catalogers=cats)
                return pkgs

            wall, cpu, pkgs = timed(run)
            results[label].append((wall, cpu))
            counts[label] = Counter((p.purl or "").split("/", 1)[0] for p in pkgs)  # type: ignore[attr-defined]
    print(f"{source}: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for label in ("without", "all"):
        walls = [w for w, _ in results[label]]
        cpus = [c for _, c in results[label]]
        print(f"  catalog_image {label:8s} wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}), "
              f"cpu median {statistics.median(cpus):.2f} s; packages {sum(counts[label].values())}")
    extra = counts["all"] - counts["without"]
    print(f"  found only with the new catalogers: {dict(extra)}")
    w0 = statistics.median(c for _, c in results["without"])
    w1 = statistics.median(c for _, c in results["all"])
    print(f"  cpu overhead of the new catalogers: {100 * (w1 - w0) / w0:+.1f}%")


def bench_big_binary(mb: int, runs: int) -> None:
    from tests.imagebuild import File, build_image, write_oci_layout

    src = shutil.which("docker-registry") or shutil.which("skopeo")
    if src is None:
        raise SystemExit("--big-binary needs a Go program (docker-registry or skopeo) to pad")
    data = Path(src).read_bytes()
    data += b"\0" * max(0, mb * 1024 * 1024 - len(data))
    with tempfile.TemporaryDirectory() as tmp:
        img = build_image([[File("/usr/local/bin/big", data, 0o755)]], compression="none")
        del data
        write_oci_layout(Path(tmp) / "l", img, tag="v1")
        blob = next(p for p in (Path(tmp) / "l" / "blobs" / "sha256").iterdir() if p.stat().st_size > mb << 19)
        del img
        source = f"oci:{Path(tmp) / 'l'}:v1"
        cats = default_catalogers()

        def read_once() -> None:
            h = hashlib.sha256()
            with open(blob, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)

        def squash_plain() -> None:
            with open_image(source) as im:
                squash(im, lambda p: Want.SKIP)

        def squash_analyze() -> None:
            with open_image(source) as im:
                squash(im, union_select(cats), analyze=union_analyze(cats))

        def whole() -> None:
            with open_image(source) as im:
                catalog_image(im, catalogers=cats)

        print(f"one layer, one {mb} MB executable ({Path(src).name} padded), uncompressed; "
              f"load average {os.getloadavg()[0]:.1f}")
        for label, fn in (("read blob once (sha256)", read_once), ("squash, nothing wanted", squash_plain),
                          ("squash + executable analyzer", squash_analyze), ("catalog_image (all)", whole)):
            walls, cpus = [], []
            for _ in range(runs):
                w, c, _ = timed(fn)
                walls.append(w)
                cpus.append(c)
            print(f"  {label:30s} wall median {statistics.median(walls):.2f} s, cpu median {statistics.median(cpus):.2f} s")
        print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="*")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-binary", type=int, metavar="MB")
    args = ap.parse_args()
    if args.big_binary:
        bench_big_binary(args.big_binary, args.runs)
        return
    sources = args.sources
    if not sources:
        default = REPO / "bench" / "out" / "large.oci"
        if not default.exists():
            raise SystemExit("no image: build one with bash bench/image/build_images.sh large, or name one")
        sources = [f"oci:{default}:v1"]
    for s in sources:
        bench_image(s, args.runs)


if __name__ == "__main__":
    main()
