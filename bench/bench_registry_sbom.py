"""Whole-process ``supplychain sbom image`` of an image in a local registry (Debian's docker-registry
on loopback): what the registry client costs end to end.

    .venv/bin/python bench/bench_registry_sbom.py                    # 24 MiB image, 7 runs
    .venv/bin/python bench/bench_registry_sbom.py --mib 96 --runs 5
    .venv/bin/python bench/bench_registry_sbom.py --compare /tmp/old-tree
        # also run the supplychain package found in /tmp/old-tree (e.g. a `git archive` of an
        # earlier commit), alternating runs, to compare two versions on the same registry

Prints wall and CPU (user + system of the child) medians; on a shared machine CPU is the
steadier number.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from supplychain.oci.auth import CredentialStore  # noqa: E402
from supplychain.oci.registry import RegistryClient  # noqa: E402
from tests.imagebuild import Dir, File, build_image, push_image  # noqa: E402


def start_registry(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("docker-registry")
    if exe is None:
        raise SystemExit("needs Debian's docker-registry")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (root / "c.yml").write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen([exe, "serve", str(root / "c.yml")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, host
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("docker-registry did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=24, help="MiB of incompressible file data in 4 layers")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--compare", metavar="TREE", help="another source tree holding a supplychain package")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    proc, host = start_registry(root)
    try:
        per = max(args.mib // 4, 1)
        rnd = os.urandom(per * 4 << 20)
        db = "".join(f"P:pkg{i}\nV:1.{i}-r0\nA:x86_64\nL:MIT\n\n" for i in range(300)).encode()
        layers = [[Dir("/lib"), Dir("/lib/apk"), Dir("/lib/apk/db"), File("/lib/apk/db/installed", db),
                   File("/etc/os-release", b"ID=alpine\nVERSION_ID=3.19.0\n")]]
        for i in range(4):
            files = [File(f"/data{i}/f{j}", rnd[(i * per + j) << 20:(i * per + j + 1) << 20]) for j in range(per)]
            small = [File(f"/data{i}/small{j}.txt", b"x" * 100) for j in range(2000)]
            layers.append([Dir(f"/data{i}"), *files, *small])
        img = build_image(layers)
        ref = f"{host}/bench/app:v1"
        push_image(RegistryClient(credentials=CredentialStore(env={}, config_paths=[])), ref, img)
        size = sum(len(b) for b in img.blobs.values()) / 2**20
        print(f"image {ref}: {size:.0f} MiB of blobs, {len(layers)} layers; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        trees = {"this tree": str(REPO)}
        if args.compare:
            trees["compare"] = args.compare
        results: dict[str, list[tuple[float, float]]] = {k: [] for k in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                env = dict(os.environ, PYTHONPATH=tree)
                t0, c0 = time.monotonic(), os.times()
                p = subprocess.run([sys.executable, "-m", "supplychain", "sbom", "image", ref, "-o", os.devnull],
                                   env=env, cwd=tree, capture_output=True)
                c1 = os.times()
                if p.returncode != 0:
                    raise SystemExit(p.stderr.decode())
                cpu = (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system)
                results[name].append((time.monotonic() - t0, cpu))
        for name, xs in results.items():
            print(f"sbom image ({name}): wall median {statistics.median(x[0] for x in xs):.3f} s "
                  f"(min {min(x[0] for x in xs):.3f}), cpu median {statistics.median(x[1] for x in xs):.3f} s, "
                  f"{len(xs)} runs")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
