"""Compose service rules: CMP-001..CMP-008 (privileged, runtime socket, host network/pid,
capabilities, published datastore ports, literal secrets, root user) and CMP-020..CMP-022 (no user,
no no-new-privileges, secrets in env_file files), with the short port syntax they read.

Part of :mod:`supplychain.policy.compose` (which re-exports the public names).
"""

from __future__ import annotations

import os
import re
from typing import Any

from supplychain.policy.compose_build import _interp, judge_build
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.dockerfile import DATASTORE_PORTS
from supplychain.policy.secrets import secret_reason
from supplychain.policy.unresolved import refuse
from supplychain.policy.yamlsrc import Pos, YMap, YSeq

_SOCKETS = ("docker.sock", "containerd.sock", "podman.sock", "crio.sock")
_ALL_INTERFACES = {"", "0.0.0.0", "::", "[::]", "*"}


def is_socket_path(path: str) -> bool:
    p = path.strip().rstrip("/")
    return p.endswith(_SOCKETS)


def _port_range(text: str) -> tuple[int, int] | None:
    lo_s, _, hi_s = text.strip().partition("-")
    try:
        lo = int(lo_s)
        hi = int(hi_s) if hi_s else lo
    except ValueError:
        return None
    return lo, hi


def parse_port(spec: str) -> tuple[str, str | None, str]:
    """Short port syntax -> (host_ip, host_port or None, container_port); protocol dropped."""
    s = spec.strip().split("/", 1)[0]
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise ValueError(f"invalid port {spec!r}")
        ip = s[1:end]
        rest = s[end + 1 :].lstrip(":")
        host, _, container = rest.rpartition(":")
        return ip, host or None, container
    parts = s.split(":")
    if len(parts) == 1:
        return "", None, parts[0]
    if len(parts) == 2:
        return "", parts[0] or None, parts[1]
    if len(parts) == 3:
        return parts[0], parts[1] or None, parts[2]
    return ":".join(parts[:-2]), parts[-2] or None, parts[-1]


def _loopback(ip: str) -> bool:
    ip = ip.strip().strip("[]")
    return ip.startswith("127.") or ip in ("::1", "localhost")


def _datastore(container: str) -> tuple[int, str] | None:
    rng = _port_range(container)
    if rng is None:
        return None
    for port, service in DATASTORE_PORTS.items():
        if rng[0] <= port <= rng[1]:
            return port, service
    return None


def _user_is_root(value: Any) -> bool:
    return str(value).split(":", 1)[0].strip() in ("root", "0")


def _norm_cap(value: Any) -> str:
    cap = str(value).strip().upper()
    return cap[4:] if cap.startswith("CAP_") else cap


def _at(pos: Pos) -> tuple[int, int]:
    return pos.line, pos.column


def _check_service(name: str, svc: YMap, col: Collector, *, images: bool = True, project_dir: str = ".") -> None:
    ctx = f"services.{name}"
    image = svc.get("image") if images else None
    if images and "build" in svc:
        judge_build(name, svc["build"], col, project_dir, svc.where_key("build"), rendered=False)
    if images and image is not None and not isinstance(image, str):
        pos = svc.where("image")
        refuse(col, pos.line, pos.column,
               f"service {name!r}: image is {type(image).__name__} {image!r}, not a string; YAML readers "
               "disagree on such values (docker compose may read the text)",
               fix="quote the image reference", context=f"{ctx}.image")
    if isinstance(image, str):
        pos = svc.where("image")
        resolved, missing = _interp(image)
        column = pos.column + (1 if pos.style in ("'", '"') else 0)
        col.image(ImageUse(
            file=col.file, line=pos.line, column=column, text=resolved or image,
            literal="$" not in image and pos.style in ("", "'", '"'), context=f"{ctx}.image",
            unresolved=missing,
        ))
    if svc.get("privileged") is True:
        col.add("CMP-001", *_at(svc.where("privileged")), f"service {name!r} runs privileged")
    volumes = svc.get("volumes")
    if isinstance(volumes, YSeq):
        for i, vol in enumerate(volumes):
            src = None
            where = volumes.where(i)
            if isinstance(vol, str):
                src = _interp(vol)[0].split(":", 1)[0]
            elif isinstance(vol, YMap) and isinstance(vol.get("source"), str):
                src = _interp(vol["source"])[0]
                where = vol.where("source")
            if src and is_socket_path(src):
                col.add("CMP-002", *_at(where),
                        f"service {name!r} mounts the container runtime socket {src}")
    if str(svc.get("network_mode", "")).strip() == "host":
        col.add("CMP-003", *_at(svc.where("network_mode")), f"service {name!r} uses network_mode: host")
    if str(svc.get("pid", "")).strip() == "host":
        col.add("CMP-004", *_at(svc.where("pid")), f"service {name!r} uses pid: host")
    caps = svc.get("cap_add")
    if isinstance(caps, YSeq):
        for i, cap in enumerate(caps):
            if _norm_cap(cap) in ("ALL", "SYS_ADMIN"):
                col.add("CMP-005", *_at(caps.where(i)), f"service {name!r} adds capability {cap}")
    ports = svc.get("ports")
    if isinstance(ports, YSeq):
        for i, port in enumerate(ports):
            _check_port(name, port, ports.where(i), col)
    env = svc.get("environment")
    if isinstance(env, YMap):
        for key, value in env.items():
            reason = secret_reason(str(key), value, col.policy)
            if reason:
                col.add("CMP-007", *_at(env.where(key)),
                        f"service {name!r} sets {key} literally in environment: {reason}")
    elif isinstance(env, YSeq):
        for i, item in enumerate(env):
            if not isinstance(item, str) or "=" not in item:
                continue
            key, value = item.split("=", 1)
            reason = secret_reason(key.strip(), value, col.policy)
            if reason:
                col.add("CMP-007", *_at(env.where(i)),
                        f"service {name!r} sets {key.strip()} literally in environment: {reason}")
    if "user" in svc and svc.get("user") is not None and _user_is_root(svc["user"]):
        col.add("CMP-008", *_at(svc.where("user")), f"service {name!r} runs as user {svc['user']!r}")


def _check_port(name: str, port: Any, pos: Pos, col: Collector) -> None:
    if isinstance(port, YMap):
        target = port.get("target")
        if target is None:
            return
        ip = str(port.get("host_ip") or "")
        container = str(target)
        published = port.get("published")
        where = pos
    else:
        text = pos.raw if pos.raw is not None else str(port)
        text = _interp(text)[0]
        try:
            ip, host, container = parse_port(text)
        except ValueError:
            return
        published = host
        where = pos
    hit = _datastore(container)
    if hit is None or _loopback(ip):
        return
    if ip.strip() not in _ALL_INTERFACES:
        return  # bound to one specific, non-loopback address: not "all interfaces"
    port_no, service = hit
    host_desc = f"host port {published}" if published else "a random host port"
    col.add("CMP-006", *_at(where),
            f"service {name!r} publishes the {service} port {port_no} on all interfaces ({host_desc})",
            fix=f"bind it to loopback: \"127.0.0.1:{published or port_no}:{container}\", or remove it "
                "from `ports` and reach it over the compose network")


_NO_NEW_PRIVILEGES_RE = re.compile(r"^no-new-privileges(?:\s*[:=]\s*true)?$", re.IGNORECASE)


def _service_hygiene(name: str, svc: YMap, col: Collector, anchor: Pos, project_dir: str) -> None:
    """CMP-020 (no `user:` at all), CMP-021 (no no-new-privileges), CMP-022 (secrets in env_file files)."""
    if svc.get("user") is None:
        col.add("CMP-020", *_at(anchor), f"service {name!r} sets no user, so it runs as the image's default user")
    opts = svc.get("security_opt")
    values = [str(o).strip() for o in opts] if isinstance(opts, list) else []
    if not any(_NO_NEW_PRIVILEGES_RE.match(v) for v in values):
        where = svc.where_key("security_opt") if "security_opt" in svc else anchor
        col.add("CMP-021", *_at(where), f"service {name!r} does not set security_opt no-new-privileges:true")
    env_files = svc.get("env_file")
    entries: list[tuple[Any, Pos]] = []
    if isinstance(env_files, str):
        entries.append((env_files, svc.where("env_file")))
    elif isinstance(env_files, YSeq):
        entries.extend((item, env_files.where(i)) for i, item in enumerate(env_files))
    for item, pos in entries:
        path = item.get("path") if isinstance(item, YMap) else item
        if not isinstance(path, str) or "$" in path:
            continue
        full = path if os.path.isabs(path) else os.path.join(project_dir, path)
        if not os.path.isfile(full):
            continue
        for lineno, key, value in _env_file_entries(full):
            reason = secret_reason(key, value, col.policy)
            if reason:
                col.add("CMP-022", *_at(pos),
                        f"service {name!r} reads env_file {path}, whose line {lineno} sets {key}: {reason}")


def _env_file_entries(path: str) -> list[tuple[int, str, str]]:
    """(line, KEY, value) of a compose env file: comments, `export`, quotes as docker compose reads them."""
    out: list[tuple[int, str, str]] = []
    try:
        with open(path, "rb") as fh:
            text = fh.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return out
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        if stripped.startswith("export "):
            stripped = stripped[7:].lstrip()
        key, value = stripped.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out.append((lineno, key.strip(), value))
    return out
