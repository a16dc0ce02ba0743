"""Benchmark: what the gate's `vulnerabilities:` rules add per image (target < 0.1 s per image).

Imports the two shared real advisory databases (FriendsOfPHP + PyPA, ../shared/external/vulns) into a
temporary SQLite database, starts Debian's docker-registry on a free 127.0.0.1 port, pushes N images,
signs each and attests a CycloneDX SBOM of C components (a third real PyPI package names, a third
real Composer package names -- every one has advisories in the database; V of them at old versions
that many advisories match, the others at versions past every fix -- and a third Debian packages
the database does not cover), then measures

1. in process: the vulnerability check alone (``check_vulnerabilities``: open the database, check
   its age, read the attested SBOM, match, VEX, allow-list, findings) per image, on the
   verification the gate already did;
2. whole process: ``supplychain gate images.txt`` with and without the ``vulnerabilities:``
   section; (difference) / N is the added cost per image.

    .venv/bin/python bench/bench_gate_vuln.py                       # 20 images, 300 components, 10 vulnerable
    .venv/bin/python bench/bench_gate_vuln.py --images 50 --components 1000 --vulnerable 100 --runs 3
    .venv/bin/python bench/bench_gate_vuln.py --vulnerable 200      # worst case: every PyPI/Composer one
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_gate import PASSWORD, start_registry  # noqa: E402

EXTERNAL = Path(os.environ.get("SUPPLYCHAIN_EXTERNAL", REPO.parent / "shared" / "external"))


def components(vulns: Path, n: int, vulnerable: int) -> list[dict[str, str]]:
    """``n`` components; the first ``vulnerable`` PyPI / Composer ones at old versions (many advisories
    match), the other PyPI / Composer ones at a version past every advisory (looked up and compared,
    none matches), every third one a Debian package the database does not cover."""
    pypi = sorted(p.name for p in (vulns / "pypa-advisory-database" / "vulns").iterdir() if p.is_dir())
    php = sorted(f"{v.name}/{p.name}" for v in (vulns / "friendsofphp-security-advisories").iterdir()
                 if v.is_dir() and not v.name.startswith(".") for p in v.iterdir() if p.is_dir())
    out: list[dict[str, str]] = []
    for i in range(n):
        if i % 3 == 0:
            name = pypi[(i // 3) % len(pypi)]
            v = "1.0" if i < vulnerable * 3 // 2 else "9999.0"
            out.append({"type": "library", "name": name, "version": v, "purl": f"pkg:pypi/{name}@{v}"})
        elif i % 3 == 1:
            name = php[(i // 3) % len(php)]
            v = "1.0.0" if i < vulnerable * 3 // 2 else "9999.0.0"
            out.append({"type": "library", "name": name, "version": v, "purl": f"pkg:composer/{name}@{v}"})
        else:
            out.append({"type": "library", "name": f"lib{i}", "version": "1.0-1",
                        "purl": f"pkg:deb/debian/lib{i}@1.0-1?arch=amd64&distro=debian-12"})
    return out


def setup(host: str, tmp: Path, n: int, comps: list[dict[str, str]]) -> tuple[Path, Path, Path, list[str]]:
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.attest import PREDICATE_TYPES
    from supplychain.signing.image import RegistryView, attest_image, sign_image
    from supplychain.signing.keys import generate_keypair
    from supplychain.signing.specs import SignerSpec
    from tests.imagebuild import File, build_image, push_image

    os.environ["SUPPLYCHAIN_PASSWORD"] = PASSWORD
    keys = generate_keypair(str(tmp / "release"), password=PASSWORD.encode())
    signer = SignerSpec(key_path=str(keys.private), tlog_upload=False)  # no network: loopback only
    view = RegistryView(RegistryClient())
    client = RegistryClient()
    bom = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps}).encode()
    refs = []
    for i in range(n):
        ref = f"{host}/bench/vuln{i:02d}:1.0"
        digest = push_image(client, ref, build_image([[File(f"app/{i}.txt", f"service {i}\n".encode())]]))
        sign_image(ref, signer, registry=view)
        attest_image(ref, bom, PREDICATE_TYPES["cyclonedx"], signer, registry=view)
        refs.append(f"{ref}@{digest}")
    base = f"""version: 1
trusted_registries: ["{host}/bench/**"]
signers:
  - name: release-key
    images: ["{host}/bench/**"]
    key: release.pub
attestations:
  - require: [cyclonedx]
"""
    plain = tmp / "plain.yaml"
    plain.write_text(base)
    vuln = tmp / "vuln.yaml"
    vuln.write_text(base + "vulnerabilities:\n  max_db_age: 36500d\n  deny:\n    - severity: high\n"
                    "  allow:\n    - id: CVE-2019-10906\n      reason: bench\n      expires: 2999-01-01\n")
    lst = tmp / "images.txt"
    lst.write_text("\n".join(refs) + "\n")
    return plain, vuln, lst, refs


def in_process(plain: Path, vuln: Path, db: Path, refs: list[str]) -> tuple[list[float], list[float], int]:
    from supplychain.gate import decide_image, load_gate_policy
    from supplychain.gate.vuln_rules import check_vulnerabilities, set_database
    from supplychain.oci.registry import RegistryClient
    from supplychain.signing.image import RegistryView
    from supplychain.signing.specs import TrustSpec

    gp_plain, gp_vuln = load_gate_policy(plain), load_gate_policy(vuln)
    set_database(str(db))
    view = RegistryView(RegistryClient())
    times: list[float] = []
    cpu: list[float] = []
    findings = 0
    for ref in refs:
        d = decide_image(ref, gp_plain, registry=view, trust=TrustSpec())
        assert d.passed and d.verification is not None, d.reasons
        t, c = time.perf_counter(), time.process_time()
        check_vulnerabilities(d, gp_vuln, d.verification)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        findings = len([f for f in d.findings if f.rule == "SC-GATE-030"])
    return times, cpu, findings


def whole(args: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system of the child) seconds of each run."""
    import resource

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmd = [sys.executable, "-m", "supplychain", *args]
    subprocess.run(cmd, capture_output=True, cwd=REPO, env=env)  # warm-up: bytecode caches
    times, cpu = [], []
    for _ in range(runs):
        t = time.perf_counter()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
        times.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        if proc.returncode not in (0, 1):
            sys.exit(f"gate exit {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return times, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--components", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--vulnerable", type=int, default=10,
                    help="PyPI/Composer components at old, vulnerable versions (the rest are past every fix)")
    args = ap.parse_args()
    vulns = EXTERNAL / "vulns"
    if not vulns.is_dir():
        sys.exit(f"real advisory data not found at {vulns} (set SUPPLYCHAIN_EXTERNAL)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-gate-vuln-"))
    proc, host = start_registry(tmp)
    try:
        from supplychain.vuln import open_db
        from supplychain.vuln.service import import_sources

        db = tmp / "vuln.db"
        t = time.perf_counter()
        with open_db(db, create=True) as handle:
            infos = import_sources(handle, [str(vulns / "friendsofphp-security-advisories"),
                                            str(vulns / "pypa-advisory-database")])
        print(f"database: {sum(i.records for i in infos)} records imported in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        plain, vuln, lst, refs = setup(host, tmp, args.images, components(vulns, args.components, args.vulnerable))
        print(f"setup: {args.images} images ({args.components} SBOM components each, {args.vulnerable} at vulnerable "
              f"versions) pushed, signed, attested "
              f"in {time.perf_counter() - t:.1f} s")
        times, cpu, findings = in_process(plain, vuln, db, refs)
        ms = statistics.median
        print(f"in process, vulnerability check per image: wall median {ms(times) * 1000:.1f} ms "
              f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}), CPU median {ms(cpu) * 1000:.1f} ms "
              f"(min {min(cpu) * 1000:.1f}, max {max(cpu) * 1000:.1f})  "
              f"({findings} SC-GATE-030 findings per image, {len(times)} images)")
        without, without_cpu = whole(["gate", str(lst), "--policy", str(plain), "--json"], args.runs)
        with_v, with_cpu = whole(["gate", str(lst), "--policy", str(vuln), "--vuln-db", str(db), "--json"], args.runs)
        added = (ms(with_v) - ms(without)) / args.images
        added_cpu = (ms(with_cpu) - ms(without_cpu)) / args.images
        print(f"whole process, {args.images} images: wall without vulnerabilities {ms(without):.3f} s, with "
              f"{ms(with_v):.3f} s; CPU {ms(without_cpu):.3f} s / {ms(with_cpu):.3f} s (medians of {args.runs}) "
              f"-> added per image: wall {added * 1000:.1f} ms, CPU {added_cpu * 1000:.1f} ms (target < 100 ms)")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
