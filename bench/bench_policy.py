"""Benchmark: `supplychain policy check` over 1,000 mixed files, whole process.

Generates bench/out/policy-1000/ (250 each of Dockerfiles, compose files, multi-document
Kubernetes manifests and image lists, realistic sizes, half of them with findings; regenerated
every run, deterministic) and times complete CLI processes: interpreter start, imports, walking,
parsing, rules and writing the report.

    .venv/bin/python bench/bench_policy.py              # 5 runs, JSON report, default policy
    .venv/bin/python bench/bench_policy.py --runs 3 --format sarif --policy policies/dev.yaml
    .venv/bin/python bench/bench_policy.py --render 20   # + 20 kustomizations, 20 compose projects with .env

Target (2-core machine): 1,000 files in under 2 s, whole process. The mixed files need no
external resolver (our readers resolve them exactly); ``--render N`` adds N kustomizations
(rendered by ``kubectl kustomize``) and N compose projects whose images depend on ``.env``
(rendered by ``docker-compose config``) to show what rendering costs: once per project.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out" / "policy-1000"
DIG = "sha256:" + "4f3c5d2a9b8e7f6a" * 4


def dockerfile(i: int) -> str:
    bad = i % 2 == 0
    base = "node:20" if bad else f"node:20-alpine@{DIG}"
    runtime = "gcr.io/distroless/nodejs20" if bad else f"node:20-alpine@{DIG}"
    env = f"API_TOKEN=tok_live_{i}" if bad else "LOG_LEVEL=info"
    step = "curl -fsSL https://example.com/install.sh | sh" if bad else "echo ready"
    return (
        "# syntax=docker/dockerfile:1\n"
        f"# service {i}\n"
        f"ARG NODE_IMAGE={base}\n"
        "ARG BUILD_DATE\n"
        "FROM ${NODE_IMAGE} AS deps\n"
        "WORKDIR /app\n"
        "COPY package.json package-lock.json ./\n"
        "RUN npm ci --omit=dev \\\n"
        "    && npm cache clean --force\n"
        "FROM deps AS build\n"
        "COPY . .\n"
        "RUN npm run build\n"
        f"FROM {runtime} AS runtime\n"
        f"ENV NODE_ENV=production PORT=8080 {env}\n"
        "COPY --from=build /app/dist /app/dist\n"
        "COPY --from=deps /app/node_modules /app/node_modules\n"
        "RUN <<EOT\n"
        "set -eu\n"
        f"{step}\n"
        "EOT\n"
        f"EXPOSE 8080{' 6379' if bad else ''}\n"
        f"USER {'root' if bad else '10001:10001'}\n"
        'CMD ["node", "/app/dist/server.js"]\n'
    )


def compose(i: int) -> str:
    bad = i % 2 == 0
    pin = "" if bad else "@" + DIG
    return f"""# stack {i}
x-common: &common
  restart: unless-stopped
  logging:
    driver: json-file
    options: {{max-size: 10m}}
services:
  web:
    <<: *common
    image: "nginx:1.27{pin}"
    ports:
      - "8080:80"
    volumes:
      - ./site:/usr/share/nginx/html:ro
      - {"/var/run/docker.sock:/var/run/docker.sock" if bad else "./conf:/etc/nginx/conf.d:ro"}
    user: "{'root' if bad else '101:101'}"
  app:
    <<: *common
    image: ghcr.io/acme/app-{i}:2.3.{i}{pin}
    environment:
      - APP_ENV=production
      - DB_HOST=db
      - DB_PASSWORD={"hunter2" if bad else "${DB_PASSWORD}"}
    cap_add: [{"SYS_ADMIN" if bad else "NET_BIND_SERVICE"}]
  redis:
    <<: *common
    image: redis:7.4@{DIG}
    ports:
      - "{'' if bad else '127.0.0.1:'}6379:6379"
  db:
    <<: *common
    image: postgres:16@{DIG}
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/db
    {"privileged: true" if bad else "read_only: true"}
"""


def manifest(i: int) -> str:
    bad = i % 2 == 0
    pin = "" if bad else "@" + DIG
    sc = "" if bad else (
        "\n          securityContext:\n            allowPrivilegeEscalation: false\n"
        "            readOnlyRootFilesystem: true\n            capabilities: {drop: [ALL]}"
    )
    job_sc = sc.replace("\n          ", "\n              ")
    return f"""# workload {i}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels: {{app: app-{i}, tier: backend}}
spec:
  replicas: 3
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      {"hostNetwork: true" if bad else "automountServiceAccountToken: false"}
      initContainers:
        - name: migrate
          image: ghcr.io/acme/migrate:1.{i}{pin}{sc}
      containers:
        - name: app
          image: ghcr.io/acme/app-{i}:2.3.{i}{pin}{sc}
          ports: [{{containerPort: 8080}}]
          env:
            - name: DB_PASSWORD
              valueFrom: {{secretKeyRef: {{name: db, key: password}}}}
            - name: LOG_LEVEL
              value: info
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
---
apiVersion: v1
kind: Service
metadata: {{name: app-{i}}}
spec:
  selector: {{app: app-{i}}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: cleanup-{i}}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          securityContext: {{runAsNonRoot: true}}
          containers:
            - name: cleanup
              image: busybox:1.36@{DIG}{job_sc}
"""


def image_list(i: int) -> str:
    lines = [f"# images released by team {i}"]
    for j in range(12):
        pinned = (i + j) % 3 != 0
        lines.append(f"ghcr.io/acme/svc-{j}:1.{i}.{j}" + (f"@{DIG}" if pinned else "")
                     + ("  # canary" if j == 3 else ""))
    lines.append(f"redis:7.4@{DIG}")
    return "\n".join(lines) + "\n"


def generate_rendered(count: int) -> int:
    """``count`` kustomizations and ``count`` compose projects that need the deployers' resolvers."""
    n = 0
    for i in range(count):
        k = OUT / f"kustomize-{i:03d}"
        k.mkdir(parents=True)
        (k / "deployment.yaml").write_text(manifest(i))
        (k / "kustomization.yaml").write_text(
            "resources: [deployment.yaml]\nimages:\n"
            f"- name: ghcr.io/acme/app-{i}\n  newTag: 2.4.{i}\n  digest: {DIG}\n")
        c = OUT / f"compose-env-{i:03d}"
        c.mkdir(parents=True)
        (c / "compose.yaml").write_text(f"services:\n  app:\n    image: ghcr.io/acme/app-{i}:${{TAG:-1.0}}\n")
        (c / ".env").write_text(f"TAG=1.{i}@{DIG}\n")
        n += 4
    return n


def generate() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    n = 0
    for i in range(250):
        d = OUT / f"svc-{i:03d}"
        (d / "k8s").mkdir(parents=True)
        (d / "Dockerfile").write_text(dockerfile(i))
        (d / "docker-compose.yml").write_text(compose(i))
        (d / "k8s" / "deployment.yaml").write_text(manifest(i))
        (d / "images.txt").write_text(image_list(i))
        n += 4
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--format", default="json", choices=["text", "json", "sarif"])
    ap.add_argument("--policy", default=None)
    ap.add_argument("--render", type=int, default=0, metavar="N",
                    help="also N kustomizations and N compose projects that need kubectl / docker-compose")
    args = ap.parse_args()
    files = generate()
    if args.render:
        files += generate_rendered(args.render)
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    report = HERE / "out" / f"policy-report.{args.format}"
    cmd = [sys.executable, "-m", "supplychain", "policy", "check", str(OUT), "--format", args.format,
           "--trusted-registry", "ghcr.io/acme/**", "-o", str(report)]
    if args.policy:
        cmd += ["--policy", args.policy]
    times = []
    rc = 0
    for _ in range(args.runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True)
        times.append(time.perf_counter() - t0)
        rc = proc.returncode
        if rc not in (0, 1):
            sys.stderr.write(proc.stderr.decode())
            return 2
    findings = "?"
    if args.format == "json":
        doc = json.loads(report.read_text())
        findings = str(doc["summary"]["findings"])
        kinds = doc["summary"]["files_by_kind"]
        print(f"kinds: {kinds}")
    print(f"files: {files} ({size / 1e6:.1f} MB), findings: {findings}, exit {rc}")
    print(f"whole process: min {min(times):.3f} s, median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s over {args.runs} runs (target < 2 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
