"""Hardening-checklist rules for compose files and Kubernetes manifests (issue 14):

* seccomp / AppArmor: K8S-020 (no RuntimeDefault / Localhost seccomp profile, pod or container),
  K8S-021 and CMP-030 (an ``Unconfined`` / ``unconfined`` seccomp or AppArmor profile anywhere);
* sensitive host paths: K8S-022 (``hostPath``), CMP-033 (bind mounts) of ``/``, ``/etc``,
  ``/root``, ``/proc``, ``/sys``, ``/var/run``, ``/var/lib/docker`` (and their sensitive parts);
* K8S-023 service-account token mounted (``automountServiceAccountToken`` not false);
* K8S-024 a namespace with workloads among the checked manifests but no default-deny
  NetworkPolicy (judged over all checked files: :func:`network_policy_findings`);
* compose: CMP-031 ``read_only: true`` missing, CMP-032 no ``cap_drop: [ALL]``, CMP-034 the
  application directory bind-mounted writable into a non-dev service, CMP-035 a datastore that
  publishes nothing but shares the default network with other services (note).

:mod:`.kubernetes` and :mod:`.compose` call in here; the rules are in the catalogue
(:mod:`.findings`).
"""

from __future__ import annotations

import contextvars
import os
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from supplychain.policy.context import Collector
from supplychain.policy.findings import Finding
from supplychain.policy.yamlsrc import Pos, YMap, YSeq

SENSITIVE_ROOTS = ("/etc", "/root", "/proc", "/sys", "/var/run", "/run", "/var/lib/docker", "/boot",
                   "/var/lib/kubelet", "/var/lib/containerd")
# parts of /etc that are public and commonly mounted read-only (CA bundles, time zone)
_PUBLIC_ETC = ("/etc/ssl/certs", "/etc/pki/ca-trust", "/etc/ca-certificates", "/etc/localtime", "/etc/timezone",
               "/etc/zoneinfo")


def sensitive_host_path(path: str) -> bool:
    """``/`` itself, or one of :data:`SENSITIVE_ROOTS` or below it (public CA / time zone files excepted)."""
    p = posixpath.normpath("/" + path.strip().lstrip("/")) if path.strip() else ""
    if p in ("", "."):
        return False
    if p == "/":
        return True
    if any(p == pub or p.startswith(pub + "/") for pub in _PUBLIC_ETC):
        return False
    return any(p == root or p.startswith(root + "/") for root in SENSITIVE_ROOTS)


def _at(pos: Pos) -> tuple[int, int]:
    return pos.line, pos.column


# ------------------------------------------------------------------------------- Kubernetes

_ALLOWED_SECCOMP = ("RuntimeDefault", "Localhost")


def _profile_type(sc: Any, key: str) -> tuple[str | None, Pos | None]:
    if not isinstance(sc, YMap):
        return None, None
    prof = sc.get(key)
    if not isinstance(prof, YMap):
        return None, None
    t = prof.get("type")
    return (str(t) if t is not None else None), (prof.where("type") if "type" in prof else sc.where(key))


def k8s_pod(obj: str, spec: YMap, containers: Iterable[tuple[str, int, YMap]], col: Collector,
            danger: set[str]) -> None:
    """Pod-spec rules: seccomp / AppArmor, sensitive hostPath, service-account token."""
    pod_sc = spec.get("securityContext")
    pod_seccomp, _pos = _profile_type(pod_sc, "seccompProfile")
    for key in ("seccompProfile", "appArmorProfile"):
        t, pos = _profile_type(pod_sc, key)
        if t is not None and t.lower() == "unconfined" and pos is not None:
            col.add("K8S-021", *_at(pos), f"{obj} sets pod securityContext.{key}.type: {t}")
    for list_key, i, c in containers:
        cname = c.get("name") or f"#{i}"
        where = f"{obj} {list_key[:-1]} {cname!r}"
        csc = c.get("securityContext")
        anchor = c.where_key("securityContext") if isinstance(csc, YMap) else c.pos
        for key in ("seccompProfile", "appArmorProfile"):
            t, pos = _profile_type(csc, key)
            if t is not None and t.lower() == "unconfined" and pos is not None:
                col.add("K8S-021", *_at(pos), f"{where} sets securityContext.{key}.type: {t}")
        c_seccomp, _ = _profile_type(csc, "seccompProfile")
        effective = c_seccomp if c_seccomp is not None else pod_seccomp
        if effective not in _ALLOWED_SECCOMP and (effective or "").lower() != "unconfined":
            col.add("K8S-020", *_at(anchor),
                    f"{where} has no seccomp profile (seccompProfile.type RuntimeDefault or Localhost, "
                    f"pod or container level){'' if effective is None else f'; it is {effective}'}")
    volumes = spec.get("volumes")
    if isinstance(volumes, YSeq):
        for vol in volumes:
            hp = vol.get("hostPath") if isinstance(vol, YMap) else None
            if isinstance(hp, YMap) and isinstance(hp.get("path"), str):
                path = hp["path"].strip()
                norm = path.rstrip("/") or "/"
                if norm not in danger and not norm.endswith(".sock") and sensitive_host_path(path):
                    col.add("K8S-022", *_at(hp.where("path")),
                            f"{obj} mounts the sensitive host path {path!r} (volume {vol.get('name')!r})")
    if spec.get("automountServiceAccountToken") is not False:
        pos = spec.where("automountServiceAccountToken") if "automountServiceAccountToken" in spec else spec.pos
        col.add("K8S-023", *_at(pos),
                f"{obj} mounts a service-account token (automountServiceAccountToken is not false)")


_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_SECCOMP_ANNOTATIONS = ("seccomp.security.alpha.kubernetes.io/pod", "container.seccomp.security.alpha.kubernetes.io/")


def annotation_maps(doc: YMap) -> Iterator[YMap]:
    """The ``metadata.annotations`` maps of an object and of every map nested in it (pod
    templates, CronJob job templates, pod-template CRDs): where Kubernetes reads annotations."""
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, YMap):
            meta = node.get("metadata")
            ann = meta.get("annotations") if isinstance(meta, YMap) else None
            if isinstance(ann, YMap):
                yield ann
            stack.extend(v for k, v in node.items() if isinstance(v, (YMap, YSeq)) and k != "metadata")
        elif isinstance(node, YSeq):
            stack.extend(v for v in node if isinstance(v, (YMap, YSeq)))


def k8s_annotations(obj: str, doc: YMap, col: Collector) -> None:
    """Unconfined AppArmor / seccomp set by (legacy) annotations, on the object or a pod template."""
    for ann in annotation_maps(doc):
        for key, value in ann.items():
            k = str(key)
            if (k.startswith(_APPARMOR_ANNOTATION) or k.startswith(_SECCOMP_ANNOTATIONS)) \
                    and str(value).strip().lower() == "unconfined":
                col.add("K8S-021", *_at(ann.where(key)), f"{obj} sets annotation {k}: {value}")


# NetworkPolicy bookkeeping across files: what each file defines, judged once all are read

@dataclass
class NetworkFacts:
    workloads: list[tuple[str, str, int, str]] = field(default_factory=list)  # ns, file, line, object
    deny_all: set[str] = field(default_factory=set)  # namespaces with a default-deny ingress policy


# filled while `check_paths` checks files (reset before, drained after). The store belongs to the
# check_paths run of the current thread / context: concurrent runs (the admission webhook's
# threads, a library user's) never see each other's facts, and checks outside a run keep none.
_FACTS: contextvars.ContextVar[dict[int, NetworkFacts] | None] = contextvars.ContextVar(
    "supplychain_network_facts", default=None)


def facts_of(col: Collector) -> NetworkFacts:
    store = _FACTS.get()
    if store is None:  # not inside a check_paths run: nothing will judge these facts
        return NetworkFacts()
    return store.setdefault(id(col), NetworkFacts())


def reset() -> None:
    _FACTS.set({})


def forget(col: Collector) -> None:
    """Drop what ``col`` noted (a collector read only for its images)."""
    store = _FACTS.get()
    if store is not None:
        store.pop(id(col), None)


def drain() -> list[NetworkFacts]:
    store = _FACTS.get() or {}
    _FACTS.set(None)
    return list(store.values())


def k8s_object(doc: YMap, col: Collector, has_pods: bool) -> None:
    """Note workloads and default-deny NetworkPolicies of one object for K8S-024."""
    meta = doc.get("metadata")
    ns = meta.get("namespace") if isinstance(meta, YMap) else None
    namespace = str(ns) if ns else "default"
    kind = doc.get("kind")
    if kind == "NetworkPolicy" and _default_deny(doc):
        facts_of(col).deny_all.add(namespace)
    elif has_pods:
        name = meta.get("name") if isinstance(meta, YMap) else None
        facts_of(col).workloads.append((namespace, col.file, doc.pos.line, f"{kind}/{name or '?'}"))


def _default_deny(doc: YMap) -> bool:
    """A policy that selects every pod (``podSelector: {}``) and denies ingress: Ingress in
    policyTypes (or no policyTypes) and no ingress rule."""
    spec = doc.get("spec")
    if not isinstance(spec, YMap):
        return False
    sel = spec.get("podSelector")
    if not isinstance(sel, YMap) or any(sel.get(k) for k in ("matchLabels", "matchExpressions")):
        return False
    types = spec.get("policyTypes")
    names = [str(t) for t in types] if isinstance(types, YSeq) else ["Ingress"]
    return "Ingress" in names and not spec.get("ingress")


def network_policy_findings(facts: Iterable[NetworkFacts], make: Any) -> list[Finding]:
    """K8S-024 for each namespace with workloads but no default-deny policy in any checked file;
    ``make(rule, file, line, message)`` builds the finding (or None when the rule is off)."""
    workloads: dict[str, list[tuple[str, int, str]]] = {}
    deny: set[str] = set()
    for f in facts:
        deny |= f.deny_all
        for ns, file, line, obj in f.workloads:
            workloads.setdefault(ns, []).append((file, line, obj))
    out: list[Finding] = []
    for ns, items in sorted(workloads.items()):
        if ns in deny:
            continue
        file, line, obj = items[0]
        more = f" and {len(items) - 1} more" if len(items) > 1 else ""
        finding = make("K8S-024", file, line,
                       f"namespace {ns!r} has workloads ({obj}{more}) but no default-deny NetworkPolicy among the "
                       "checked manifests: no network policy, lateral movement is open")
        if finding is not None:
            out.append(finding)
    return out


# ---------------------------------------------------------------------------------- compose

_UNCONFINED_RE = re.compile(r"^(seccomp|apparmor)\s*[:=]\s*unconfined$", re.IGNORECASE)
_DATASTORE_IMAGES = frozenset({"redis", "valkey", "keydb", "postgres", "postgis", "mysql", "mariadb", "percona",
                               "mongo", "mongodb", "memcached", "elasticsearch", "opensearch", "cassandra",
                               "couchdb", "neo4j", "clickhouse", "influxdb", "timescaledb", "etcd", "rabbitmq",
                               "minio"})
_DEV_RE = re.compile(r"(^|[._-])(dev|devel|development|local|test|tests|testing|debug|override)([._-]|$)",
                     re.IGNORECASE)
_APP_TARGETS = ("/app", "/var/www", "/var/www/html", "/srv", "/srv/app", "/usr/src/app", "/opt/app", "/code",
                "/workspace", "/home/app")


def _datastore_image(image: Any) -> str | None:
    if not isinstance(image, str):
        return None
    name = image.split("@", 1)[0]
    repo = name.rsplit("/", 1)[-1].split(":", 1)[0].lower()
    return repo if repo in _DATASTORE_IMAGES else None


def _dev_service(name: str, svc: YMap, file: str) -> bool:
    profiles = svc.get("profiles")
    names = [str(p) for p in profiles] if isinstance(profiles, YSeq) else []
    return bool(_DEV_RE.search(name) or _DEV_RE.search(os.path.basename(file))
                or any(_DEV_RE.search(p) for p in names))


def _bind(vol: Any) -> tuple[str, str, bool] | None:
    """(source, target, read_only) of a bind mount (short or long syntax), else None."""
    if isinstance(vol, str):
        parts = vol.split(":")
        if len(parts) < 2:
            return None
        src, target = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        if not (src.startswith((".", "/", "~", "$")) or src == ""):
            return None  # a named volume
        return src, target, "ro" in mode.split(",")
    if isinstance(vol, YMap) and vol.get("type") == "bind" and isinstance(vol.get("source"), str):
        return vol["source"], str(vol.get("target") or ""), vol.get("read_only") is True
    return None


def _networks(svc: YMap) -> set[str]:
    if str(svc.get("network_mode") or "").strip():
        return set()
    nets = svc.get("networks")
    if nets is None:
        return {"default"}
    if isinstance(nets, YSeq):
        return {str(n) for n in nets}
    if isinstance(nets, YMap):
        return {str(n) for n in nets}
    return {"default"}


def compose_services(services: YMap, col: Collector, project_dir: str) -> None:
    """The compose checklist rules over one document's services."""
    datastores: dict[str, str] = {}
    on_default: list[str] = []
    for name, svc in services.items():
        if not isinstance(svc, YMap):
            continue
        _compose_service(str(name), svc, col, project_dir)
        if "default" in _networks(svc):
            on_default.append(str(name))
            kind = _datastore_image(svc.get("image"))
            if kind is not None and not svc.get("ports"):
                datastores[str(name)] = kind
    for name, kind in datastores.items():
        others = [n for n in on_default if n != name]
        if others:
            col.add("CMP-035", *_at(services.where_key(name)),
                    f"datastore service {name!r} ({kind}) publishes nothing but shares the default network with "
                    f"{', '.join(repr(o) for o in others[:5])}{' ...' if len(others) > 5 else ''}: put it on an "
                    "`internal: true` network shared only with the services that use it")


def _compose_service(name: str, svc: YMap, col: Collector, project_dir: str) -> None:
    anchor = col_anchor = svc.pos
    opts = svc.get("security_opt")
    if isinstance(opts, YSeq):
        for i, opt in enumerate(opts):
            if _UNCONFINED_RE.match(str(opt).strip()):
                col.add("CMP-030", *_at(opts.where(i)), f"service {name!r} sets security_opt {opt}")
    if svc.get("read_only") is not True:
        pos = svc.where("read_only") if "read_only" in svc else anchor
        col.add("CMP-031", *_at(pos), f"service {name!r} does not set read_only: true")
    drop = svc.get("cap_drop")
    dropped = {str(c).strip().upper().removeprefix("CAP_") for c in drop} if isinstance(drop, YSeq) else set()
    if "ALL" not in dropped:
        pos = svc.where_key("cap_drop") if "cap_drop" in svc else col_anchor
        col.add("CMP-032", *_at(pos), f"service {name!r} does not drop all capabilities (cap_drop: [ALL])")
    volumes = svc.get("volumes")
    if not isinstance(volumes, YSeq):
        return
    build = svc.get("build")
    context = build if isinstance(build, str) else (build.get("context") if isinstance(build, YMap) else None)
    contexts = {os.path.normpath(os.path.join(project_dir, str(context)))} if isinstance(context, str) else set()
    dev = _dev_service(name, svc, col.file)
    for i, vol in enumerate(volumes):
        bind = _bind(vol)
        if bind is None:
            continue
        src, target, read_only = bind
        pos = vol.where("source") if isinstance(vol, YMap) and "source" in vol else volumes.where(i)
        if src.startswith("/") and sensitive_host_path(src) and not _socket(src):
            col.add("CMP-033", *_at(pos), f"service {name!r} bind-mounts the sensitive host path {src}")
            continue
        if read_only or dev or src.startswith("/"):
            continue
        full = os.path.normpath(os.path.join(project_dir, os.path.expanduser(src)))
        app_source = full == os.path.normpath(project_dir) or full in contexts
        app_target = target.rstrip("/") in _APP_TARGETS
        if app_source or app_target:
            col.add("CMP-034", *_at(pos),
                    f"service {name!r} mounts {src} writable at {target}: the application directory must not be "
                    "writable in a non-dev service")


def _socket(path: str) -> bool:
    return path.rstrip("/").endswith(".sock")
