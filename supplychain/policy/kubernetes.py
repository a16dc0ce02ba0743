"""Kubernetes manifest rules (K8S-*) and image references.

Workloads: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
CronJob, PodTemplate, and ``kind: List`` wrappers. Every container in ``containers``,
``initContainers`` and ``ephemeralContainers`` is checked with the pod-level
``securityContext`` merged under the container-level one (container wins).
"""

from __future__ import annotations

from typing import Any

from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.secrets import secret_reason
from supplychain.policy.yamlsrc import Pos, YMap, YSeq

TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}
_DANGEROUS_HOST_PATHS = {"/", "/var/run/docker.sock", "/run/docker.sock", "/var/run",
                         "/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock",
                         "/var/run/crio/crio.sock", "/run/podman/podman.sock"}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def is_manifest(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("apiVersion"), str) and isinstance(doc.get("kind"), str)


def pod_spec(doc: YMap) -> tuple[YMap | None, str]:
    """The PodSpec of a workload and a path prefix describing where it is."""
    kind = doc.get("kind")
    spec = doc.get("spec")
    if not isinstance(spec, YMap):
        if kind == "PodTemplate" and isinstance(doc.get("template"), YMap):
            t = doc["template"].get("spec")
            return (t if isinstance(t, YMap) else None), "template.spec"
        return None, ""
    if kind == "Pod":
        return spec, "spec"
    if kind in TEMPLATE_KINDS:
        t = spec.get("template")
        s = t.get("spec") if isinstance(t, YMap) else None
        return (s if isinstance(s, YMap) else None), "spec.template.spec"
    if kind == "CronJob":
        jt = spec.get("jobTemplate")
        js = jt.get("spec") if isinstance(jt, YMap) else None
        t = js.get("template") if isinstance(js, YMap) else None
        s = t.get("spec") if isinstance(t, YMap) else None
        return (s if isinstance(s, YMap) else None), "spec.jobTemplate.spec.template.spec"
    return None, ""


def iter_containers(spec: YMap) -> list[tuple[str, int, YMap]]:
    out: list[tuple[str, int, YMap]] = []
    for key in CONTAINER_LISTS:
        lst = spec.get(key)
        if isinstance(lst, YSeq):
            for i, c in enumerate(lst):
                if isinstance(c, YMap):
                    out.append((key, i, c))
    return out


def _at(pos: Pos) -> tuple[int, int]:
    return pos.line, pos.column


def check_document(doc: YMap, col: Collector) -> None:
    kind = doc.get("kind")
    if kind == "List" and isinstance(doc.get("items"), YSeq):
        for item in doc["items"]:
            if is_manifest(item):
                check_document(item, col)
        return
    spec, _prefix = pod_spec(doc)
    if spec is None:
        return
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, YMap) else None
    obj = f"{kind}/{name or '?'}"
    for key, rule, what in (("hostNetwork", "K8S-006", "hostNetwork"), ("hostPID", "K8S-007", "hostPID"),
                            ("hostIPC", "K8S-007", "hostIPC")):
        if spec.get(key) is True:
            col.add(rule, *_at(spec.where(key)), f"{obj} sets {what}: true")
    volumes = spec.get("volumes")
    if isinstance(volumes, YSeq):
        for vol in volumes:
            if not isinstance(vol, YMap):
                continue
            hp = vol.get("hostPath")
            if isinstance(hp, YMap) and isinstance(hp.get("path"), str):
                path = hp["path"].strip()
                norm = path.rstrip("/") or "/"
                if norm in _DANGEROUS_HOST_PATHS or norm.endswith(".sock"):
                    col.add("K8S-005", *_at(hp.where("path")),
                            f"{obj} mounts hostPath {path!r} (volume {vol.get('name')!r})")
    pod_sc = spec.get("securityContext")
    pod_sc = pod_sc if isinstance(pod_sc, YMap) else YMap()
    for list_key, i, c in iter_containers(spec):
        _check_container(obj, list_key, i, c, pod_sc, col)


def _sc_get(key: str, container_sc: YMap, pod_sc: YMap) -> tuple[Any, Pos | None]:
    if key in container_sc:
        return container_sc[key], container_sc.where(key)
    if key in pod_sc:
        return pod_sc[key], pod_sc.where(key)
    return None, None


def _check_container(obj: str, list_key: str, i: int, c: YMap, pod_sc: YMap, col: Collector) -> None:
    cname = c.get("name") or f"#{i}"
    where = f"{obj} {list_key[:-1]} {cname!r}"
    image = c.get("image")
    if isinstance(image, str):
        pos = c.where("image")
        column = pos.column + (1 if pos.style in ("'", '"') else 0)
        col.image(ImageUse(file=col.file, line=pos.line, column=column, text=image,
                           literal=pos.style in ("", "'", '"'), context=where))
    csc_raw = c.get("securityContext")
    csc = csc_raw if isinstance(csc_raw, YMap) else YMap()
    anchor = c.where_key("securityContext") if isinstance(csc_raw, YMap) else c.pos
    cpos = _at(anchor)
    if csc.get("privileged") is True:
        col.add("K8S-001", *_at(csc.where("privileged")), f"{where} runs privileged")
    ape = csc.get("allowPrivilegeEscalation")
    if ape is not False:
        if ape is True:
            col.add("K8S-002", *_at(csc.where("allowPrivilegeEscalation")),
                    f"{where} sets allowPrivilegeEscalation: true")
        else:
            col.add("K8S-002", *cpos, f"{where} does not set allowPrivilegeEscalation: false")
    run_as_user, user_pos = _sc_get("runAsUser", csc, pod_sc)
    non_root, _ = _sc_get("runAsNonRoot", csc, pod_sc)
    if run_as_user == 0 and user_pos is not None:
        col.add("K8S-004", *_at(user_pos), f"{where} runs as uid 0 (runAsUser: 0)")
    elif non_root is not True and not (isinstance(run_as_user, int) and run_as_user > 0):
        col.add("K8S-003", *cpos,
                f"{where} may run as root: runAsNonRoot is not true (pod or container) and no "
                "non-zero runAsUser is set")
    caps = csc.get("capabilities")
    drop = caps.get("drop") if isinstance(caps, YMap) else None
    dropped = {str(d).upper().removeprefix("CAP_") for d in drop} if isinstance(drop, YSeq) else set()
    if "ALL" not in dropped:
        col.add("K8S-008", *cpos, f"{where} does not drop all capabilities (capabilities.drop: [ALL])")
    add = caps.get("add") if isinstance(caps, YMap) else None
    if isinstance(add, YSeq):
        for j, cap in enumerate(add):
            if str(cap).upper().removeprefix("CAP_") in ("ALL", "SYS_ADMIN"):
                col.add("K8S-011", *_at(add.where(j)), f"{where} adds capability {cap}")
    if csc.get("readOnlyRootFilesystem") is not True:
        col.add("K8S-009", *cpos, f"{where} does not set readOnlyRootFilesystem: true")
    env = c.get("env")
    if isinstance(env, YSeq):
        for j, item in enumerate(env):
            if not isinstance(item, YMap) or "valueFrom" in item or "value" not in item:
                continue
            key = str(item.get("name", ""))
            reason = secret_reason(key, item.get("value"), col.policy)
            if reason:
                col.add("K8S-010", *_at(item.where("value") if "value" in item else env.where(j)),
                        f"{where} sets env {key} to a literal value: {reason}")
