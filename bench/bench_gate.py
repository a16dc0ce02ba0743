"""Benchmark: `supplychain gate` over 50 signed and attested images in a local registry, whole process.

Starts Debian's docker-registry on a free 127.0.0.1 port (data in a temp dir), builds and pushes
N small images, signs each (key-based, cosign v3 bundle referrer) and attests a CycloneDX SBOM,
writes an image list, a Kubernetes manifest and a release policy that requires both, then times
complete CLI processes (interpreter start, imports, policy load, registry reads, verification):

    .venv/bin/python bench/bench_gate.py                 # 50 images, 5 runs
    .venv/bin/python bench/bench_gate.py --images 50 --runs 3

Targets: 50 images < 5 s whole process; one image < 0.6 s. Timed runs use Python's bytecode
cache (as after `pip install`; PYTHONDONTWRITEBYTECODE is dropped for them, one warm-up run first).
"""

from __future__ import annotations

import argparse
import json
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

PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_registry(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    import requests

    exe = shutil.which("docker-registry")
    if exe is None:
        sys.exit("docker-registry is not installed (apt-get install docker-registry)")
    port = free_port()
    config = tmp / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen([exe, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(url + "/v2/", timeout=1).status_code == 200:
                return proc, f"127.0.0.1:{port}"
        except requests.RequestException:
            pass
        time.sleep(0.05)
    proc.kill()
    sys.exit("docker-registry did not start")


def setup(host: str, tmp: Path, n: int) -> tuple[Path, Path, Path, list[str]]:
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.attest import PREDICATE_TYPES
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.keys import generate_keypair
    from supplychain.signing.specs import SignerSpec
    from tests.imagebuild import File, build_image, push_image

    os.environ["SUPPLYCHAIN_PASSWORD"] = PASSWORD
    os.environ.setdefault("SUPPLYCHAIN_TLOG_UPLOAD", "false")  # no Rekor on loopback: key signatures unlogged
    keys = generate_keypair(str(tmp / "release"), password=PASSWORD.encode())
    signer = SignerSpec(key_path=str(keys.private))
    client = RegistryClient()
    view = RegistryView(client)
    refs = []
    for i in range(n):
        bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
               "components": [{"type": "library", "name": f"lib{j}", "version": "1.0",
                               "purl": f"pkg:deb/debian/lib{j}@1.0?arch=amd64",
                               "licenses": [{"license": {"id": "MIT"}}]} for j in range(150)]}
        image = build_image([[File(f"app/{i}.txt", f"service {i}\n".encode() * 50)]])
        ref = f"{host}/bench/svc{i:02d}:1.0"
        digest = push_image(client, ref, image)
        sign_image(ref, signer, registry=view)
        attest_image(ref, json.dumps(bom).encode(), PREDICATE_TYPES["cyclonedx"], signer, registry=view)
        refs.append(f"{host}/bench/svc{i:02d}:1.0@{digest}")
    (tmp / "keys").mkdir(exist_ok=True)
    shutil.copy(keys.public, tmp / "keys" / "release.pub")
    policy = tmp / "release.yaml"
    policy.write_text(f"""version: 1
trusted_registries: ["{host}/bench/**"]
images:
  require_digest: true
signers:
  - name: release-key
    images: ["{host}/bench/**"]
    key: keys/release.pub
attestations:
  - require: [cyclonedx]
sbom:
  deny_packages: ["pkg:npm/event-stream@*"]
  deny_licenses: ["AGPL-*"]
""")
    lst = tmp / "images.txt"
    lst.write_text("\n".join(refs) + "\n")
    k8s = tmp / "deploy.yaml"
    docs = []
    for i, r in enumerate(refs):
        # hardened containers: the gate applies every Kubernetes rule of the policy too
        docs.append(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: svc{i}\nspec:\n  containers:\n"
                    f"    - name: app\n      image: {r}\n      securityContext:\n"
                    "        {allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 10001,"
                    " readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n")
    k8s.write_text("---\n".join(docs))
    one = tmp / "one.txt"
    one.write_text(refs[0] + "\n")
    return policy, lst, k8s, [str(one)]


def time_cli(args: list[str], runs: int) -> tuple[list[float], str]:
    # as installed: bytecode caches on (pip compiles on install); one warm-up run writes them
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "supplychain", *args], capture_output=True, cwd=REPO, env=env)
    times = []
    out = ""
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "supplychain", *args], capture_output=True, text=True,
                              cwd=REPO, env=env)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            sys.exit(f"gate failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        out = proc.stdout
    return times, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    proc, host = start_registry(tmp)
    try:
        t = time.perf_counter()
        policy, lst, k8s, one = setup(host, tmp, args.images)
        print(f"setup: {args.images} images pushed, signed and attested in {time.perf_counter() - t:.1f} s")
        for label, paths in ((f"{args.images} images (image list)", [str(lst)]),
                             (f"{args.images} images (Kubernetes manifest)", [str(k8s)]),
                             ("1 image", one)):
            times, out = time_cli(["gate", *paths, "--policy", str(policy), "--json"], args.runs)
            summary = json.loads(out)["summary"]
            assert summary["passed"] == summary["images"], summary
            print(f"gate {label:38s} median {statistics.median(times):.3f} s  min {min(times):.3f} s  "
                  f"max {max(times):.3f} s  ({summary['passed']}/{summary['images']} passed, {args.runs} runs)")
        times, _ = time_cli(["--help"], args.runs)
        print(f"{'supplychain --help (interpreter floor)':43s} median {statistics.median(times):.3f} s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
