"""Sensitive files: names that look like secrets (DF-004) and the build context's files that a
directory COPY/ADD sends into the image because no .dockerignore excludes them (DF-016).

Part of :mod:`supplychain.policy.dockerfile` (which re-exports the public names).
"""

from __future__ import annotations

import glob
import os
import re

from supplychain.policy import dockerignore
from supplychain.policy.context import Collector
from supplychain.policy.dockerfile_parse import Instruction, _kw_col

_SENSITIVE_NAMES = {
    ".env", ".npmrc", ".pypirc", ".netrc", ".git-credentials", ".dockercfg", ".htpasswd",
    "credentials", "credentials.json", "credentials.yml", "credentials.yaml", "id_rsa", "id_dsa",
    "id_ecdsa", "id_ed25519", "secrets.yml", "secrets.yaml", "secrets.json", ".pgpass", ".my.cnf",
    "kubeconfig", "auth.json",
}
_SENSITIVE_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".credentials", ".ppk")
_SENSITIVE_PARTS = (".ssh/", ".aws/", ".docker/config.json", ".kube/config", ".gnupg/")
_ENV_EXAMPLES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl")


def _is_remote(src: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", src, re.IGNORECASE)) or src.startswith("git@")


_CONTEXT_WALK_LIMIT = 50_000
# one walk per context, source and ignore file (its size and mtime in the key: an edited file is read again)
_CONTEXT_CACHE: dict[tuple[str, str, str | None, tuple[int, int] | None], list[str]] = {}


def _sensitive_in_context(context: str, rel: str, ignore_path: str | None) -> list[str]:
    """Sensitive files under ``rel`` of the build context that the ignore file does not exclude."""
    st = os.stat(ignore_path) if ignore_path else None
    key = (context, rel, ignore_path, (st.st_size, st.st_mtime_ns) if st else None)
    if key in _CONTEXT_CACHE:
        return _CONTEXT_CACHE[key]
    matcher = dockerignore.load(ignore_path) if ignore_path else dockerignore.PatternMatcher([])
    found: list[str] = []
    seen = 0
    full = os.path.join(context, rel)
    roots = glob.glob(full, include_hidden=True) if glob.has_magic(rel) else [full]
    for root in roots:
        if not os.path.isdir(root) or os.path.islink(root):
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, context).replace(os.sep, "/")
            if not matcher.exclusions:  # an excluded directory cannot be re-included: skip it
                dirnames[:] = [d for d in dirnames if not matcher.excluded(dockerignore.clean(f"{rel_dir}/{d}"))]
            for name in filenames:
                seen += 1
                if seen > _CONTEXT_WALK_LIMIT:
                    break
                path = dockerignore.clean(f"{rel_dir}/{name}")
                if _sensitive(path) and not matcher.excluded(path) and path not in found:
                    found.append(path)
    if len(_CONTEXT_CACHE) > 256:
        _CONTEXT_CACHE.clear()
    _CONTEXT_CACHE[key] = found
    return found


def _context_secrets(col: Collector, inst: Instruction, srcs: list[str]) -> None:
    """DF-016: a directory COPY/ADD sends sensitive files of the build context that no .dockerignore excludes.

    The build context is taken to be the Dockerfile's directory (``docker build .`` next to it)."""
    dockerfile = col.file
    if not os.path.isfile(dockerfile):
        return
    context = os.path.dirname(os.path.abspath(dockerfile))
    ignore_path = dockerignore.ignore_file_for(dockerfile, context)
    found: list[str] = []
    for src in srcs:
        if _is_remote(src) or src.startswith("<<") or "$" in src:
            continue
        rel = dockerignore.clean(src.lstrip("/"))
        if rel.startswith(".."):
            continue
        found.extend(p for p in _sensitive_in_context(context, rel, ignore_path) if p not in found)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        them = "them" if len(found) > 1 else "it"
        why = (f"{os.path.basename(ignore_path)} does not exclude {them}" if ignore_path
               else "there is no .dockerignore")
        col.add("DF-016", inst.line, _kw_col(inst),
                f"{inst.keyword} {' '.join(srcs)} sends {shown} from the build context into the image; {why}")


def _sensitive(src: str) -> bool:
    s = src.strip().rstrip("/")
    if not s or s.startswith(("http://", "https://", "<<")):
        return False
    s = s.replace("\\", "/")
    base = s.rsplit("/", 1)[-1]
    low = base.lower()
    if low.startswith(".env"):
        return not low.endswith(_ENV_EXAMPLES) and (low == ".env" or low.startswith(".env."))
    if low in _SENSITIVE_NAMES or low.endswith(_SENSITIVE_SUFFIXES):
        return True
    if low.startswith(("id_rsa", "id_ecdsa", "id_ed25519", "id_dsa")) and not low.endswith(".pub"):
        return True
    if re.match(r"service[-_]?account.*\.json$", low):
        return True
    padded = "/" + s.lower() + ("/" if not s.endswith("/") else "")
    return any("/" + part in padded for part in _SENSITIVE_PARTS)
