"""Helpers for bench/image/build_images.sh: image layers from a root directory, and OCI layout /
docker-archive writers. Bench-only (not part of the package, not a test).

  mkimage.py snapshot ROOT SNAP.json          record the tree (to diff against later)
  mkimage.py layer ROOT SNAP.json OUT.tar     tar of what changed since SNAP (+ whiteouts)
  mkimage.py dpkg-list ROOT OUT.tsv           installed dpkg packages (name, version)
  mkimage.py installed-json LOCK VENDOR       vendor/composer/installed.json (Composer 2, no dev)
  mkimage.py assemble --name N --tag T --oci DIR --docker-archive FILE LAYER.tar...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import posixpath
import shutil
import stat
import sys
import tarfile
from pathlib import Path
from typing import Any

SDE = int(os.environ.get("SOURCE_DATE_EPOCH", "1700000000"))


def walk(root: Path) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            link = os.readlink(full) if stat.S_ISLNK(st.st_mode) else ""
            out[rel] = [st.st_mode, st.st_size, st.st_mtime_ns, st.st_uid, st.st_gid, link, st.st_ino]
    return out


def cmd_snapshot(root: Path, snap: Path) -> None:
    snap.write_text(json.dumps(walk(root)))


def cmd_layer(root: Path, snap: Path, out: Path) -> None:
    before: dict[str, list[Any]] = json.loads(snap.read_text())
    after = walk(root)
    removed = sorted(p for p in before if p not in after)
    removed_set = set(removed)
    changed = sorted(
        p for p, meta in after.items() if p not in before or before[p][:6] != meta[:6]
        or (not stat.S_ISDIR(meta[0]) and before[p][6] != meta[6])
    )
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        for p in removed:
            parent = posixpath.dirname(p)
            if parent and parent in removed_set:
                continue  # the whole parent goes
            info = tarfile.TarInfo(posixpath.join(parent, ".wh." + posixpath.basename(p)))
            info.mtime = SDE
            tf.addfile(info)
        for p in changed:
            # parent directories of new entries must exist in the layer tar too
            tf.add(root / p, arcname=p, recursive=False)
    print(f"{out}: {len(changed)} added/changed, {len(removed)} removed", file=sys.stderr)


def cmd_dpkg_list(root: Path, out: Path) -> None:
    rows = []
    status = (root / "var/lib/dpkg/status").read_text("utf-8", "replace")
    for stanza in status.split("\n\n"):
        f: dict[str, str] = {}
        for line in stanza.splitlines():
            if line and line[0] not in " \t" and ":" in line:
                k, _, v = line.partition(":")
                f[k.lower()] = v.strip()
        if f.get("package") and f.get("status", "").endswith(" installed"):
            rows.append(f"{f['package']}\t{f.get('version', '')}")
    out.write_text("\n".join(sorted(rows)) + "\n")


def cmd_installed_json(lock: Path, vendor: Path) -> None:
    data = json.loads(lock.read_text())
    pkgs = []
    for p in data.get("packages", []):
        p = dict(p)
        p["install-path"] = "../" + p["name"]
        pkgs.append(p)
        d = vendor / p["name"]
        d.mkdir(parents=True, exist_ok=True)
        (d / "composer.json").write_text(json.dumps({"name": p["name"], "type": p.get("type", "library")}))
    (vendor / "composer").mkdir(parents=True, exist_ok=True)
    doc = {"packages": pkgs, "dev": False, "dev-package-names": []}
    (vendor / "composer" / "installed.json").write_text(json.dumps(doc, indent=4))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _gzip(src: Path, dst: Path) -> None:
    from isal import igzip  # fast gzip from the project's own dependencies

    with open(src, "rb") as fi, igzip.open(dst, "wb", compresslevel=1) as fo:
        shutil.copyfileobj(fi, fo, 1 << 20)


def cmd_assemble(args: argparse.Namespace) -> None:
    layers = [Path(p) for p in args.layers]
    diff_ids = [_sha256_file(p) for p in layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {
            "User": "1000:1000",
            "ExposedPorts": {"8080/tcp": {}},
            "Env": ["PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "APP_SECRET=do-not-leak-me"],
            "Entrypoint": ["/usr/bin/python3"],
            "Cmd": ["-m", "http.server", "8080"],
            "WorkingDir": "/app",
            "Labels": {"org.opencontainers.image.source": "https://example.invalid/bench"},
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d in diff_ids]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"bench layer {i}"} for i in range(len(layers))],
    }
    config_raw = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_digest = hashlib.sha256(config_raw).hexdigest()
    if args.oci:
        oci = Path(args.oci)
        blobs = oci / "blobs" / "sha256"
        blobs.mkdir(parents=True, exist_ok=True)
        descs = []
        for layer in layers:
            tmp = blobs / "tmp.gz"
            _gzip(layer, tmp)
            digest = _sha256_file(tmp)
            size = tmp.stat().st_size
            tmp.rename(blobs / digest)
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                          "digest": "sha256:" + digest, "size": size})
        (blobs / config_digest).write_bytes(config_raw)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": "sha256:" + config_digest, "size": len(config_raw)},
            "layers": descs,
        }
        mraw = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        mdigest = hashlib.sha256(mraw).hexdigest()
        (blobs / mdigest).write_bytes(mraw)
        (oci / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "digest": "sha256:" + mdigest, "size": len(mraw),
                                "annotations": {"org.opencontainers.image.ref.name": args.tag}}]}
        (oci / "index.json").write_text(json.dumps(index))
    if args.docker_archive:
        with tarfile.open(args.docker_archive, "w") as tf:
            def add_bytes(name: str, data: bytes) -> None:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = SDE
                import io
                tf.addfile(info, io.BytesIO(data))
            add_bytes(f"{config_digest}.json", config_raw)
            names = []
            for layer, d in zip(layers, diff_ids, strict=True):
                tf.add(layer, arcname=f"{d}/layer.tar")
                names.append(f"{d}/layer.tar")
            add_bytes("manifest.json", json.dumps([{"Config": f"{config_digest}.json",
                                                    "RepoTags": [f"{args.name}:{args.tag}"],
                                                    "Layers": names}]).encode())


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("root", type=Path)
    s.add_argument("snap", type=Path)
    s = sub.add_parser("layer")
    s.add_argument("root", type=Path)
    s.add_argument("snap", type=Path)
    s.add_argument("out", type=Path)
    s = sub.add_parser("dpkg-list")
    s.add_argument("root", type=Path)
    s.add_argument("out", type=Path)
    s = sub.add_parser("installed-json")
    s.add_argument("lock", type=Path)
    s.add_argument("vendor", type=Path)
    s = sub.add_parser("assemble")
    s.add_argument("--name", required=True)
    s.add_argument("--tag", required=True)
    s.add_argument("--oci")
    s.add_argument("--docker-archive")
    s.add_argument("layers", nargs="+")
    a = ap.parse_args()
    if a.cmd == "snapshot":
        cmd_snapshot(a.root, a.snap)
    elif a.cmd == "layer":
        cmd_layer(a.root, a.snap, a.out)
    elif a.cmd == "dpkg-list":
        cmd_dpkg_list(a.root, a.out)
    elif a.cmd == "installed-json":
        cmd_installed_json(a.lock, a.vendor)
    else:
        cmd_assemble(a)


if __name__ == "__main__":
    main()
