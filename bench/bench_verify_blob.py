"""Offline verification of one blob bundle, whole process (target: <= 0.4 s).

    .venv/bin/python bench/bench_verify_blob.py            # 15 runs per case
    .venv/bin/python bench/bench_verify_blob.py --runs 30

Each run is a fresh ``supplychain verify blob FILE --bundle B --offline ...`` process (warm page
cache), so interpreter start-up and import costs are included. Cases:
  keyless-v0.3     sigstore-conformance happy-path-v0.3, embedded production root (Rekor v1, SET)
  keyless-rekor2   rekor2-happy-path with its trusted_root.json (Rekor v2 + RFC 3161 timestamp)
  keyless-dsse     happy-path-intoto-in-dsse-v3 (DSSE, in-toto statement printed)
  key              a key-signed bundle made here (supplychain keygen + sign blob --key)
Conformance cases need ../shared/external (SUPPLYCHAIN_EXTERNAL); missing ones are skipped.
It also prints what ``python -X importtime`` attributes to the heaviest imports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXTERNAL = Path(os.environ.get("SUPPLYCHAIN_EXTERNAL", REPO.parent / "shared" / "external"))
CONF = EXTERNAL / "sigstore-bundles" / "conformance"
BEACON = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
          "extremely-dangerous-oidc-beacon.yml@refs/heads/main")
GHA = "https://token.actions.githubusercontent.com"
EXE = [sys.executable, "-m", "supplychain"]


def _cases(tmp: Path) -> dict[str, list[str]]:
    ident = ["--cert-identity", BEACON, "--cert-oidc-issuer", GHA]
    cases: dict[str, list[str]] = {}
    if CONF.is_dir():
        a = str(CONF / "a.txt")
        cases["keyless-v0.3"] = [a, "--bundle", str(CONF / "happy-path-v0.3/bundle.sigstore.json"), *ident]
        cases["keyless-rekor2"] = [a, "--bundle", str(CONF / "rekor2-happy-path/bundle.sigstore.json"),
                                   "--trusted-root", str(CONF / "rekor2-happy-path/trusted_root.json"), *ident]
        cases["keyless-dsse"] = [a, "--bundle", str(CONF / "happy-path-intoto-in-dsse-v3/bundle.sigstore.json"),
                                 *ident]
    env = dict(os.environ, SUPPLYCHAIN_PASSWORD="bench")
    art = tmp / "artifact.bin"
    art.write_bytes(os.urandom(1 << 20))
    subprocess.run([*EXE, "keygen", "--output-key-prefix", str(tmp / "bench")], env=env, check=True,
                   capture_output=True)
    subprocess.run([*EXE, "sign", "blob", str(art), "--key", str(tmp / "bench.key")], env=env, check=True,
                   capture_output=True)
    cases["key"] = [str(art), "--key", str(tmp / "bench.pub")]
    return cases


def _time(args: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run([*EXE, "verify", "blob", *args, "--offline"], capture_output=True)
        out.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit(f"verification failed: {p.stderr.decode()}")
    return out


def _importtime(args: list[str]) -> list[tuple[int, str]]:
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "supplychain", "verify", "blob", *args,
                        "--offline"], capture_output=True, text=True)
    rows = []
    for line in p.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [x.strip() for x in line[len("import time:"):].split("|")]
        if parts[1].isdigit() and not parts[2].startswith(" "):
            rows.append((int(parts[1]), parts[2]))
    return sorted(rows, reverse=True)[:8]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cases = _cases(Path(d))
        base = _time_py(opts.runs)
        print(f"python -c pass: median {statistics.median(base) * 1000:.0f} ms")
        print(f"{'case':16} {'median':>8} {'min':>8} {'max':>8}  (whole process, {opts.runs} runs)")
        for name, args in cases.items():
            t = _time(args, opts.runs)
            print(f"{name:16} {statistics.median(t) * 1000:7.0f}ms {min(t) * 1000:7.0f}ms {max(t) * 1000:7.0f}ms")
        first = next(iter(cases.values()))
        print("heaviest imports (cumulative us) for the first case:")
        for us, mod in _importtime(first):
            print(f"  {us:8d}  {mod}")


def _time_py(runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        out.append(time.perf_counter() - t0)
    return out


if __name__ == "__main__":
    main()
