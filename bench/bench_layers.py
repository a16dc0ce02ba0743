"""Layer-reading speed: stdlib tarfile vs supplychain's streaming tar reader, and a full squash.

    .venv/bin/python bench/bench_layers.py                      # bench/out/large.oci if present,
                                                                # else a synthetic image
    .venv/bin/python bench/bench_layers.py oci:bench/out/large.oci:v1 bench/out/large.docker.tar
    .venv/bin/python bench/bench_layers.py --synthetic 80000    # N small files in 4 layers
    .venv/bin/python bench/bench_layers.py --registry oci:bench/out/large.oci
        # also push each OCI layout to a throw-away local docker-registry and read it from there

Set SUPPLYCHAIN_GZIP_THREADS=0 to compare with single-threaded gzip decompression.

For each image it prints, per method: members listed (files kept for squash), wall and CPU
seconds (CPU is the steadier number on a shared machine) and the process's peak RSS. Methods:
  tarfile   stdlib ``tarfile.open(mode="r|*")`` streaming every member (list only)
  tarstream our header parser over isal-decompressed, digest-verified layer streams (list only)
  squash    ``supplychain.oci.layers.squash`` with a cataloger-like selection (package
            databases, dist-info METADATA, package.json, composer installed.json, model files)
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from supplychain.oci.fs import Want  # noqa: E402
from supplychain.oci.image import Image, open_image  # noqa: E402
from supplychain.oci.layers import squash  # noqa: E402
from supplychain.oci.tarstream import TarStream  # noqa: E402


def cataloger_like(path: str) -> Want:
    base = path.rsplit("/", 1)[-1]
    if path in ("/var/lib/dpkg/status", "/lib/apk/db/installed", "/etc/os-release", "/usr/lib/os-release"):
        return Want.CONTENT
    if path.startswith("/var/lib/dpkg/status.d/") or path.startswith("/var/lib/rpm/"):
        return Want.CONTENT
    if base in ("METADATA", "PKG-INFO") and (".dist-info/" in path or ".egg-info/" in path):
        return Want.CONTENT
    if base == "package.json" and "/node_modules/" in path:
        return Want.CONTENT
    if base in ("installed.json", "composer.lock", "package-lock.json"):
        return Want.CONTENT
    if path.startswith("/usr/share/doc/") and base == "copyright":
        return Want.CONTENT
    if base.endswith((".safetensors", ".gguf", ".onnx")):
        return Want.DIGEST
    return Want.SKIP


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_tarfile(img: Image) -> int:
    n = 0
    for desc in img.layers:
        with img.open_layer(desc) as fh, tarfile.open(fileobj=fh, mode="r|") as tf:
            for _ in tf:
                n += 1
    return n


def bench_tarstream(img: Image) -> int:
    n = 0
    for desc in img.layers:
        with img.open_layer(desc) as fh:
            ts = TarStream(fh, desc.digest)
            for _ in ts:
                n += 1
            ts.drain()
    return n


def bench_squash(img: Image) -> int:
    tree = squash(img, cataloger_like)
    return len(tree.files)


def synthetic(n_files: int, root: Path) -> str:
    from tests.imagebuild import Dir, File, build_image, write_oci_layout

    rnd = os.urandom
    layers = []
    per = max(n_files // 4, 1)
    for layer in range(4):
        entries: list[File | Dir] = []
        for i in range(per):
            d = f"/usr/lib/python3/dist-packages/pkg{layer}_{i // 50}"
            if i % 50 == 0:
                entries.append(Dir(d))
                entries.append(File(f"{d}.dist-info/METADATA", b"Name: pkg\nVersion: 1.0\n"))
            entries.append(File(f"{d}/mod{i}.py", rnd(200).hex().encode() * (1 + i % 8)))
        layers.append(entries)
    img = build_image(layers)
    path = root / "synthetic"
    write_oci_layout(path, img, tag="v1")
    return f"oci:{path}:v1"


class LocalRegistry:
    """Debian's docker-registry on a free loopback port, data in a temp dir."""

    def __init__(self, root: Path) -> None:
        import shutil
        import socket
        import subprocess

        import requests

        exe = shutil.which("docker-registry")
        if exe is None:
            raise SystemExit("--registry needs Debian's docker-registry")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cfg = root / "registry.yml"
        cfg.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                       f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
        self.proc = subprocess.Popen([exe, "serve", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.host = f"127.0.0.1:{port}"
        for _ in range(200):
            try:
                if requests.get(f"http://{self.host}/v2/", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise SystemExit("docker-registry did not start")

    def push(self, source: str) -> str:
        from supplychain.oci.registry import RegistryClient
        from tests.imagebuild import push_layout

        path, _, tag = source.removeprefix("oci:").partition(":")
        ref = f"{self.host}/bench/image:{tag or 'latest'}"
        push_layout(RegistryClient(), path, ref, tag=tag or None)
        return ref

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="*")
    ap.add_argument("--synthetic", type=int, metavar="N", help="build a synthetic image with N files")
    ap.add_argument("--methods", default="tarfile,tarstream,squash")
    ap.add_argument("--registry", action="store_true", help="also read each OCI layout through a local registry")
    ap.add_argument("--build-synthetic", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-layers-")
    sources = list(args.sources)
    if args.build_synthetic:
        print(synthetic(args.synthetic or 80000, Path(args.build_synthetic)))
        return
    if not sources and not args.synthetic:
        default = REPO / "bench" / "out" / "large.oci"
        if default.is_dir():
            sources.append(f"oci:{default}")
        else:
            args.synthetic = 80000
    if args.synthetic:
        # built in a child process so its memory does not count in this process's peak RSS
        import subprocess

        out = subprocess.run([sys.executable, __file__, "--synthetic", str(args.synthetic),
                              "--build-synthetic", tmp.name], check=True, capture_output=True, text=True)
        sources.append(out.stdout.strip().splitlines()[-1])
    registry = None
    if args.registry:
        registry = LocalRegistry(Path(tmp.name))
        sources += [registry.push(src) for src in sources if src.startswith("oci:")]
    methods = {"tarfile": bench_tarfile, "tarstream": bench_tarstream, "squash": bench_squash}
    print(f"{'source':50} {'method':10} {'count':>8} {'wall s':>8} {'cpu s':>8} {'peak RSS MiB':>13}")
    for source in sources:
        with open_image(source) as img:
            size = sum(d.size for d in img.layers)
            print(f"# {source}: {len(img.layers)} layers, {size / 2**20:.0f} MiB compressed")
            for name in args.methods.split(","):
                t0, c0 = time.perf_counter(), time.process_time()
                count = methods[name](img)
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
                label = source if len(source) <= 50 else "…" + source[-49:]
                print(f"{label:50} {name:10} {count:8d} {dt:8.2f} {dc:8.2f} {peak_rss_mib():13.0f}", flush=True)
    if registry is not None:
        registry.stop()
    tmp.cleanup()


if __name__ == "__main__":
    main()
