"""Compose interpolation with defaults, and the images a service's ``build:`` pulls: its
Dockerfile's (with the build ``args``, also ``dockerfile_inline``) and ``docker-image://`` contexts.

Part of :mod:`supplychain.policy.compose` (which re-exports the public names).
"""

from __future__ import annotations

import os
import re
from typing import Any

from supplychain.errors import InputError
from supplychain.policy import dockerfile
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.dockerfile import substitute
from supplychain.policy.unresolved import UNRESOLVED_PREFIX, record_image, refuse
from supplychain.policy.yamlsrc import Pos, read_text


def _interp(text: str) -> tuple[str, str | None]:
    """Compose interpolation with defaults only: ``$$`` -> ``$``, ``${X:-d}`` -> d."""
    marker = "\x00"
    text = text.replace("$$", marker)
    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?)\?[^}]*\}", r"${\1}", text)
    result, missing = substitute(text, {})
    return result.replace(marker, "$"), missing


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
