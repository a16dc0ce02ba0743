"""What deployers apply beyond plain YAML: JSON manifests and kustomizations; the walk plan.

Hooks for the engine's walk (:mod:`.engine`):

* :func:`kind_by_name` -- ``*.json`` is a JSON manifest stream (``kubectl apply -f DIR`` reads
  ``.json``, ``.yaml`` and ``.yml``), ``kustomization.yaml`` / ``.yml`` / ``Kustomization`` a
  kustomization (rendered, :mod:`.kustomize`);
* :func:`check_text` -- checks those kinds;
* :func:`plan` -- drops walked files that a walked kustomization consumes (its resources and
  patches are judged through the render, as ``kubectl apply -k`` deploys them, not raw).

JSON is read as kubectl reads it: a stream of concatenated JSON values (Go's encoding/json; NaN
and Infinity are not JSON), any object with a list ``items`` is a list. A duplicated key, which
kubectl resolves to the last value while ``kubectl kustomize`` refuses the file, is ambiguous
(SC-GATE-007).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

from supplychain.errors import InputError
from supplychain.policy import kubernetes, kustomize
from supplychain.policy.context import Collector
from supplychain.policy.yamlsrc import Pos, Problem, YMap, YSeq, load_all

JSON, KUSTOMIZATION = "json", "kustomization"
KINDS = frozenset({JSON, KUSTOMIZATION})


def kind_by_name(name: str) -> str | None:
    if kustomize.is_kustomization_name(name):
        return KUSTOMIZATION
    if name.lower().endswith(".json"):
        return JSON
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_docs(text: str, source: str) -> Iterator[tuple[Any, int, list[Problem]]]:
    decoder_problems: list[Problem] = []

    def pairs(items: list[tuple[str, Any]]) -> YMap:
        m = YMap()
        m.pos = Pos(line, 1)
        m.key_pos, m.val_pos = {}, {}
        for k, v in items:
            if k in m:
                decoder_problems.append((line, 1, f"key {k!r} is duplicated in a JSON object; kubectl apply "
                                         "takes the last value, kubectl kustomize refuses the file"))
            m[k] = v
            m.key_pos[k] = m.val_pos[k] = Pos(line, 1)
        return m

    decoder = json.JSONDecoder(object_pairs_hook=pairs, parse_constant=_no_constant)
    idx, n = 0, len(text)
    while True:
        while idx < n and text[idx] in " \t\r\n":
            idx += 1
        if idx >= n:
            return
        line = text.count("\n", 0, idx) + 1
        decoder_problems = []
        try:
            value, end = decoder.raw_decode(text, idx)
        except RecursionError as exc:
            raise InputError(f"{source}:{line}: JSON nested too deeply; refusing to load") from exc
        except ValueError as exc:
            raise InputError(f"{source}:{text.count(chr(10), 0, getattr(exc, 'pos', idx)) + 1}: invalid JSON: "
                             f"{getattr(exc, 'msg', exc)}") from exc
        yield _seqs(value), line, decoder_problems
        idx = end


def _seqs(value: Any) -> Any:
    """Lists from json as YSeq (positions: the object's first line)."""
    stack = [value]
    out = value
    while stack:
        v = stack.pop()
        if isinstance(v, YMap):
            for k, item in list(v.items()):
                if isinstance(item, list) and not isinstance(item, YSeq):
                    seq = YSeq(item)
                    seq.pos = v.pos
                    seq.item_pos = [v.pos] * len(item)
                    v[k] = seq
                    stack.append(seq)
                elif isinstance(item, YMap):
                    stack.append(item)
        elif isinstance(v, YSeq):
            for i, item in enumerate(v):
                if isinstance(item, list) and not isinstance(item, YSeq):
                    seq = YSeq(item)
                    seq.pos = v.pos
                    seq.item_pos = [v.pos] * len(item)
                    v[i] = seq
                    stack.append(seq)
                elif isinstance(item, YMap):
                    stack.append(item)
    if isinstance(out, list) and not isinstance(out, YSeq):
        out = YSeq(out)
    return out


def check_json(text: str, col: Collector) -> str:
    docs = list(_json_docs(text, col.file))
    found = "none"
    if len(docs) == 1 and not docs[0][2]:
        # one clean document: read it again with the YAML reader for line numbers, when it agrees
        try:
            ydocs = [d for d, _ in load_all(text, col.file)]
        except InputError:
            ydocs = []
        if len(ydocs) == 1 and ydocs[0] == docs[0][0] and not getattr(ydocs[0], "problems", None):
            docs = [(ydocs[0], 1, [])]
    for doc, _line, problems in docs:
        if not isinstance(doc, YMap):
            continue
        if problems:
            doc.problems = problems
        if kubernetes.is_manifest(doc) or kubernetes.is_list(doc):
            kubernetes.check_document(doc, col)
            found = kubernetes_kind()
        elif isinstance(doc.get("services"), YMap):  # `docker compose -f stack.json` reads JSON too
            from supplychain.policy import compose

            compose.check_document(doc, col)
            found = "compose"
    return found


def kubernetes_kind() -> str:
    return "kubernetes"


def check_text(text: str, kind: str, col: Collector) -> str:
    if kind == KUSTOMIZATION:
        kustomize.check(text, col)
        return KUSTOMIZATION
    return check_json(text, col)


_PREFILTER = (b"apiVersion", b"\\", b"!!binary")


def _deployable_in_skipped(root: str, exclude: tuple[str, ...]) -> Iterator[str]:
    """Manifests under directories the walk skips for speed (``vendor``, ``node_modules``, ...):
    ``kubectl apply -R -f DIR`` reads them, so the gate must too. Only ``.yaml``/``.yml``/``.json``
    files that can be manifests (they mention apiVersion, or use escapes/tags that could spell it)."""
    from supplychain.policy.engine import SKIP_DIRS, _excluded
    from supplychain.policy.yamlsrc import MAX_FILE_SIZE

    for top, dirs, _files in os.walk(root):
        skipped = sorted(d for d in dirs if d in SKIP_DIRS and d not in (".git", ".hg", ".svn"))
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for d in skipped:
            start = os.path.join(top, d)
            if _excluded(start, exclude):
                continue
            for sub, subdirs, files in os.walk(start):
                subdirs[:] = sorted(x for x in subdirs if not _excluded(os.path.join(sub, x), exclude))
                for f in sorted(files):
                    if not f.lower().endswith((".yaml", ".yml", ".json")):
                        continue
                    full = os.path.join(sub, f)
                    if _excluded(full, exclude):
                        continue
                    try:
                        with open(full, "rb") as fh:
                            head = fh.read(MAX_FILE_SIZE + 1)
                    except OSError:
                        yield full  # let the engine report it
                        continue
                    if len(head) > MAX_FILE_SIZE or any(m in head for m in _PREFILTER):
                        yield full


def _may_deploy(path: str) -> bool:
    """A walked JSON file worth parsing: it mentions apiVersion or services (or uses escapes that
    could spell them); package.json, composer.json, data files are left alone."""
    from supplychain.policy.yamlsrc import MAX_FILE_SIZE

    try:
        with open(path, "rb") as fh:
            head = fh.read(MAX_FILE_SIZE + 1)
    except OSError:
        return True  # the engine reports it
    return len(head) > MAX_FILE_SIZE or any(m in head for m in (*_PREFILTER, b"services"))


def plan(files: Iterable[tuple[str, str | None, bool]], paths: Iterable[str] = (),
         exclude: tuple[str, ...] = ()) -> Iterator[tuple[str, str | None, bool]]:
    """The engine's walk, plus manifests in the directories it skips for speed (see
    :func:`_deployable_in_skipped`), minus walked files a walked kustomization consumes."""
    from pathlib import Path

    from supplychain.policy.engine import detect_kind_by_name

    items = [it for it in files if it[2] or it[1] != JSON or _may_deploy(it[0])]
    for p in paths:
        if os.path.isdir(p):
            items.extend((f, detect_kind_by_name(Path(f)), False) for f in _deployable_in_skipped(p, exclude))
    consumed: set[str] = set()
    for path, kind, _explicit in items:
        if kind == KUSTOMIZATION:
            consumed |= kustomize.consumed_files(path) - {os.path.realpath(path)}
    for path, kind, explicit in items:
        if consumed and not explicit and kind != KUSTOMIZATION and os.path.realpath(path) in consumed:
            continue
        yield path, kind, explicit
