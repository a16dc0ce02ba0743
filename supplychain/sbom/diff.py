"""``sbom diff``: what changed between two SBOMs, and ``--fail-on`` for release pipelines.

Components are matched by purl without version (:func:`purl_key`), else by group/name; a key
present several times is paired by version first. Reported:

* ``added`` / ``removed`` (each with its purl, so a namespace swap is visible);
* ``purlChanged``: an added and a removed component with the same name and version but another
  purl (namespace, type or qualifiers: a different package that looks the same), and paired
  components whose purls differ beyond the version (qualifiers such as ``arch`` or ``distro``);
* ``versionChanged``, ``licenseChanged``, ``hashChanged`` (a digest of the same algorithm
  differs, or one side lost every digest), ``scopeChanged``;
* ``edgesAdded`` / ``edgesRemoved``: dependency edges, by component key.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from supplychain.sbom.tools import Bom, Component

__all__ = ["FAIL_ON", "diff_boms", "fail_on_changes", "format_diff", "purl_key"]

FAIL_ON = ("added", "removed", "license", "version")
_FAIL_KEYS = {"added": "added", "removed": "removed", "license": "licenseChanged", "version": "versionChanged"}


def purl_key(purl: str) -> str | None:
    """``pkg:type/namespace/name`` without version, qualifiers or subpath (normalised case)."""
    if not purl.startswith("pkg:"):
        return None
    body = purl[4:].split("#", 1)[0].split("?", 1)[0]
    if "@" in body:
        # the version separator is the last '@' (namespaces such as npm scopes are %40-encoded)
        body = body.rsplit("@", 1)[0]
    parts = [unquote(p) for p in body.strip("/").split("/") if p]
    if len(parts) < 2:
        return None
    ptype = parts[0].lower()
    rest = parts[1:]
    if ptype in ("composer", "npm", "deb", "apk", "rpm", "pypi", "github", "golang", "maven", "gem"):
        rest = [r.lower() for r in rest] if ptype in ("composer", "deb", "apk", "pypi", "github") else rest
    if ptype == "pypi":
        rest = [re.sub(r"[-_.]+", "-", r) for r in rest]
    return "pkg:" + ptype + "/" + "/".join(rest)


def _key(c: Component) -> str:
    if c.purl:
        k = purl_key(c.purl)
        if k:
            return k
    return f"name:{(c.group or '').lower()}/{c.name.lower()}"


def _entry(c: Component) -> dict[str, Any]:
    return {"name": c.display, "version": c.version, "purl": c.purl, "licenses": c.licenses}


def _purl_rest(purl: str | None) -> str:
    """The purl without its version: what must stay equal for the same package."""
    if not purl:
        return ""
    body, sep, quals = purl.partition("?")
    head = body.rsplit("@", 1)[0] if "@" in body.split("/")[-1] else body
    return head + sep + "&".join(sorted(quals.split("#", 1)[0].split("&"))) if quals else head


def _hashes(c: Component) -> dict[str, str]:
    out: dict[str, str] = {}
    for h in c.hashes:
        alg, _, value = h.partition(":")
        out[alg.upper()] = value.lower()
    return out


def _edges(bom: Bom) -> set[tuple[str, str]]:
    keys = {c.ref: _key(c) for c in bom.components}
    if bom.root is not None:
        keys[bom.root.ref] = "(root)"
    return {
        (keys[src], keys[dst])
        for src, targets in bom.dependencies.items()
        for dst in targets
        if src in keys and dst in keys and keys[src] != keys[dst]
    }


def diff_boms(old: Bom, new: Bom) -> dict[str, Any]:
    """The differences between ``old`` and ``new`` (see the module docstring)."""
    old_by: dict[str, list[Component]] = {}
    new_by: dict[str, list[Component]] = {}
    for c in old.components:
        old_by.setdefault(_key(c), []).append(c)
    for c in new.components:
        new_by.setdefault(_key(c), []).append(c)
    added: list[Component] = []
    removed: list[Component] = []
    version_changed: list[dict[str, Any]] = []
    license_changed: list[dict[str, Any]] = []
    hash_changed: list[dict[str, Any]] = []
    scope_changed: list[dict[str, Any]] = []
    purl_changed: list[dict[str, Any]] = []
    unchanged = 0
    for key in sorted(set(old_by) | set(new_by)):
        olds = sorted(old_by.get(key, []), key=lambda c: c.version or "")
        news = sorted(new_by.get(key, []), key=lambda c: c.version or "")
        pairs: list[tuple[Component, Component]] = []
        for o in list(olds):
            match = next((n for n in news if n.version == o.version), None)
            if match is not None:
                pairs.append((o, match))
                olds.remove(o)
                news.remove(match)
        while olds and news:
            pairs.append((olds.pop(0), news.pop(0)))
        removed.extend(olds)
        added.extend(news)
        for o, n in pairs:
            same = True
            if o.version != n.version:
                same = False
                version_changed.append(
                    {"name": n.display, "key": key, "old": o.version, "new": n.version, "purl": n.purl}
                )
            if sorted(o.licenses) != sorted(n.licenses):
                same = False
                license_changed.append({"name": n.display, "key": key, "old": o.licenses, "new": n.licenses})
            oh, nh = _hashes(o), _hashes(n)
            common = set(oh) & set(nh)
            if o.version == n.version and (any(oh[a] != nh[a] for a in common) or (oh and not nh)):
                same = False
                hash_changed.append({"name": n.display, "key": key, "old": o.hashes, "new": n.hashes})
            if (o.scope or "required") != (n.scope or "required") or o.is_dev != n.is_dev:
                same = False
                scope_changed.append({"name": n.display, "key": key,
                                      "old": "dev" if o.is_dev else (o.scope or "required"),
                                      "new": "dev" if n.is_dev else (n.scope or "required")})
            if _purl_rest(o.purl) != _purl_rest(n.purl):
                same = False
                purl_changed.append({"name": n.display, "old": o.purl, "new": n.purl})
            unchanged += same
    # a removed and an added component with the same name and version: another package in disguise
    by_name = {(r.display, r.type): r for r in removed}
    for a in list(added):
        r = by_name.pop((a.display, a.type), None)
        if r is not None and r.purl != a.purl:
            purl_changed.append({"name": a.display, "old": r.purl, "new": a.purl})
    old_edges, new_edges = _edges(old), _edges(new)
    return {
        "old": old.source,
        "new": new.source,
        "added": [_entry(c) for c in added],
        "removed": [_entry(c) for c in removed],
        "versionChanged": version_changed,
        "licenseChanged": license_changed,
        "purlChanged": purl_changed,
        "hashChanged": hash_changed,
        "scopeChanged": scope_changed,
        "edgesAdded": [list(e) for e in sorted(new_edges - old_edges)],
        "edgesRemoved": [list(e) for e in sorted(old_edges - new_edges)],
        "unchanged": unchanged,
    }


def fail_on_changes(d: dict[str, Any], fail_on: list[str]) -> list[str]:
    """Human-readable reasons to fail for each ``fail_on`` kind with changes (empty: pass)."""
    reasons = []
    for kind in fail_on:
        n = len(d[_FAIL_KEYS[kind]])
        if n:
            reasons.append(f"{n} {kind if kind in ('added', 'removed') else kind + ' changed'}")
    return reasons


def format_diff(d: dict[str, Any]) -> str:
    lines = [f"--- {d['old']}", f"+++ {d['new']}"]
    lines.append(
        f"{len(d['added'])} added, {len(d['removed'])} removed, {len(d['versionChanged'])} version changed, "
        f"{len(d['licenseChanged'])} license changed, {len(d['purlChanged'])} purl changed, "
        f"{len(d['hashChanged'])} hash changed, {len(d['scopeChanged'])} scope changed, "
        f"{len(d['edgesAdded'])} edges added, {len(d['edgesRemoved'])} edges removed"
    )

    def lic(x: list[str]) -> str:
        from supplychain.sbom.inspect import short

        return short(" AND ".join(x), 60) if x else "(none)"

    def ident(e: dict[str, Any]) -> str:
        return f"{e['name']}  {e['purl']}" if e.get("purl") else e["name"]

    if d["added"]:
        lines += ["", "added:"] + [f"  + {ident(a)}  [{lic(a['licenses'])}]" for a in d["added"]]
    if d["removed"]:
        lines += ["", "removed:"] + [f"  - {ident(r)}  [{lic(r['licenses'])}]" for r in d["removed"]]
    if d["purlChanged"]:
        lines += ["", "purl changed (same name, another package):"] + [
            f"  ! {v['name']}  {v['old']} -> {v['new']}" for v in d["purlChanged"]
        ]
    if d["versionChanged"]:
        lines += ["", "version changed:"] + [
            f"  ~ {v['key'].removeprefix('pkg:')}  {v['old']} -> {v['new']}" for v in d["versionChanged"]
        ]
    if d["licenseChanged"]:
        lines += ["", "license changed:"] + [
            f"  ~ {v['name']}  {lic(v['old'])} -> {lic(v['new'])}" for v in d["licenseChanged"]
        ]
    if d["hashChanged"]:
        lines += ["", "hash changed (same version, other bytes):"] + [
            f"  ! {v['name']}  {', '.join(v['old']) or '(none)'} -> {', '.join(v['new']) or '(none)'}"
            for v in d["hashChanged"]
        ]
    if d["scopeChanged"]:
        lines += ["", "scope changed:"] + [f"  ~ {v['name']}  {v['old']} -> {v['new']}" for v in d["scopeChanged"]]
    if d["edgesAdded"] or d["edgesRemoved"]:
        lines += ["", "dependency edges:"]
        lines += [f"  + {a.removeprefix('pkg:')} -> {b.removeprefix('pkg:')}" for a, b in d["edgesAdded"]]
        lines += [f"  - {a.removeprefix('pkg:')} -> {b.removeprefix('pkg:')}" for a, b in d["edgesRemoved"]]
    return "\n".join(lines) + "\n"
