"""Kustomizations: judged as ``kubectl apply -k`` deploys them, rendered by ``kubectl kustomize``.

The rendered objects are checked like any manifest (:mod:`.kubernetes`); findings and image
references are reported at the source file that defines the object (matched by kind and name
among the kustomization's local resources, bases and components), at the image's literal text
there when it is written literally, else at the ``images:`` entry of the kustomization that
rewrote it, else at the kustomization file. Without kubectl, or when the render fails, the
kustomization is refused (SC-GATE-007): its ``images:`` overrides, patches and generators change
what deploys, so the files alone cannot be judged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from supplychain.errors import InputError
from supplychain.policy import hardening, kubernetes, render
from supplychain.policy.config import default_policy
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.images import parse_image
from supplychain.policy.unresolved import UNRESOLVED_PREFIX, record_image, refuse
from supplychain.policy.yamlsrc import YMap, YSeq, load_all, load_one, read_text

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_FILE_LISTS = ("resources", "bases", "components", "patchesStrategicMerge", "crds")
_MAX_DEPTH = 20


def is_kustomization_name(name: str) -> bool:
    return name in NAMES


def kustomization_file(directory: str) -> str | None:
    for n in NAMES:
        p = os.path.join(directory, n)
        if os.path.isfile(p):
            return p
    return None


def _entries(doc: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(doc, YMap):
        return out
    for key in _FILE_LISTS:
        lst = doc.get(key)
        if isinstance(lst, YSeq):
            out.extend(x for x in lst if isinstance(x, str))
    for key in ("patches", "patchesJson6902"):
        lst = doc.get(key)
        if isinstance(lst, YSeq):
            out.extend(p["path"] for p in lst if isinstance(p, YMap) and isinstance(p.get("path"), str))
    return out


def consumed_files(kfile: str) -> set[str]:
    """Real paths of the local files a kustomization reads as resources or patches."""
    base = os.path.dirname(kfile)
    try:
        doc = load_one(read_text(kfile), kfile)
    except InputError:
        return set()
    out = {os.path.realpath(kfile)}
    for e in _entries(doc):
        if "://" in e or e.startswith("git@"):
            continue
        p = os.path.join(base, e)
        if os.path.isfile(p):
            out.add(os.path.realpath(p))
    return out


@dataclass
class _Source:
    file: str
    line: int
    kind: str
    name: str
    text_lines: list[str] = field(default_factory=list)
    end: int = 0
    images: list[ImageUse] = field(default_factory=list)  # the image uses the object itself declares


def _sources(kfile: str) -> tuple[list[_Source], list[tuple[str, YMap]]]:
    """Manifests in the kustomization's local resources (recursively) and its images: entries."""
    found: list[_Source] = []
    images: list[tuple[str, YMap]] = []
    seen: set[str] = set()
    todo = [(kfile, 0)]
    while todo:
        k, depth = todo.pop()
        real = os.path.realpath(k)
        if real in seen or depth > _MAX_DEPTH:
            continue
        seen.add(real)
        try:
            doc = load_one(read_text(k), k)
        except (InputError, OSError):
            continue
        if isinstance(doc, YMap) and isinstance(doc.get("images"), YSeq):
            images.extend((k, e) for e in doc["images"] if isinstance(e, YMap))
        base = os.path.dirname(k)
        for e in _entries(doc):
            if "://" in e or e.startswith("git@"):
                continue
            p = os.path.normpath(os.path.join(base, e))
            if os.path.isdir(p):
                sub = kustomization_file(p)
                if sub:
                    todo.append((sub, depth + 1))
            elif os.path.isfile(p):
                _index_file(p, found)
    return found, images


def _index_file(path: str, out: list[_Source]) -> None:
    try:
        text = read_text(path)
        docs = list(load_all(text, path))
    except (InputError, OSError):
        return
    lines = text.split("\n")
    shown = os.path.normpath(path).replace(os.sep, "/")
    starts = [line for _d, line in docs] + [len(lines) + 1]
    for i, (doc, line) in enumerate(docs):
        if isinstance(doc, YMap) and kubernetes.is_manifest(doc):
            meta = doc.get("metadata")
            name = meta.get("name") if isinstance(meta, YMap) else None
            src = _Source(shown, line, str(doc["kind"]), str(name or ""), lines, starts[i + 1])
            own = Collector(default_policy(), shown)
            kubernetes.check_document(doc, own)
            hardening.forget(own)  # only its images are wanted: no K8S-024 facts of a raw source
            src.images = own.images
            out.append(src)


def _match(sources: list[_Source], kind: str, name: str) -> _Source | None:
    """The one source object a rendered object comes from, or None when that is not certain (its
    findings are then reported at the kustomization: a path waiver of another file must not lift
    them)."""
    same = [s for s in sources if s.kind == kind]
    exact = [s for s in same if s.name == name]
    if exact:
        return exact[0] if len(exact) == 1 else None
    near = [s for s in same if s.name and s.name in name]  # namePrefix / nameSuffix
    return near[0] if len(near) == 1 else None


def check(text: str, col: Collector) -> None:
    """Render the kustomization ``col.file`` names and check the rendered objects."""
    kfile = col.file
    directory = os.path.dirname(kfile) or "."
    try:
        ok, out = render.kustomize(directory)
    except render.RenderUnavailable:
        refuse(col, 1, None, f"kustomization {kfile} cannot be rendered: kubectl is not installed; its "
               "images: overrides, patches and generators change what deploys",
               fix="install kubectl (`pip install 'supplychain-cli[kustomize]'`), or render it "
                   "(`kubectl kustomize DIR | supplychain gate - ...`)", context="kustomization")
        return
    if not ok:
        refuse(col, 1, None, f"kustomization {kfile} cannot be rendered by kubectl kustomize: {out}",
               fix="fix the kustomization so that `kubectl kustomize` renders it", context="kustomization")
        return
    sources, overrides = _sources(kfile)
    tmp = Collector(col.policy, kfile)
    docs = [(d, line) for d, line in load_all(out, f"{kfile} (rendered)")]
    for doc, _line in docs:
        if isinstance(doc, YMap) and (kubernetes.is_manifest(doc) or kubernetes.is_list(doc)):
            kubernetes.check_document(doc, tmp)
    starts = [line for _d, line in docs]

    def obj_at(line: int) -> YMap | None:
        best = None
        for (d, start) in zip([d for d, _ in docs], starts, strict=True):
            if start <= line:
                best = d
        return best if isinstance(best, YMap) else None

    moved: dict[tuple[int, int | None], tuple[str, int, int | None, bool]] = {}
    for use in tmp.images:
        obj = obj_at(use.line)
        src = None
        if obj is not None:
            meta = obj.get("metadata")
            src = _match(sources, str(obj.get("kind")), str(meta.get("name") if isinstance(meta, YMap) else ""))
        where = _locate(use.text, src, overrides, kfile)
        moved[(use.line, use.column)] = where
        file, line, column, literal = where
        if use.text.startswith(UNRESOLVED_PREFIX):
            col.images.append(ImageUse(file=file, line=line, column=column, text=use.text, literal=False,
                                       context=use.context, unresolved=use.unresolved))
        else:
            record_image(col, ImageUse(file=file, line=line, column=column, text=use.text, literal=literal,
                                       context=f"{use.context} (kustomize)"))
    for f in tmp.findings:
        if f.rule.startswith("SC-IMG-"):
            continue  # recomputed at the source position by col.image
        hit = moved.get((f.line, f.column))
        if hit is None:
            obj = obj_at(f.line)
            meta = obj.get("metadata") if obj is not None else None
            src = _match(sources, str(obj.get("kind")), str(meta.get("name") if isinstance(meta, YMap) else "")) \
                if obj is not None else None
            hit = (src.file, src.line, None, False) if src else (kfile, 1, None, False)
        f.file, f.line, f.column = hit[0], hit[1], hit[2]
        col.findings.append(f)


def _locate(image: str, src: _Source | None, overrides: list[tuple[str, YMap]], kfile: str
            ) -> tuple[str, int, int | None, bool]:
    """Where a rendered image is written: (file, line, column, literal). The source object counts
    only when it declares that image itself (not in a comment, not another object's)."""
    if src is not None and not any(u.text == image for u in src.images):
        src = None
    if src is not None:
        for u in src.images:
            if u.text == image:
                return src.file, u.line, u.column, u.literal
    try:
        name = parse_image(image).name
    except ValueError:
        name = None
    for file, entry in overrides:
        for key in ("newName", "name"):
            value = entry.get(key)
            if isinstance(value, str) and name is not None:
                try:
                    if parse_image(value).name == name:
                        pos = entry.pos
                        return os.path.normpath(file).replace(os.sep, "/"), pos.line, None, False
                except ValueError:
                    continue
    return kfile, 1, None, False
