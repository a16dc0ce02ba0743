"""Kubernetes manifest rules (K8S-*) and image references.

Which objects and fields are understood (what ``kubectl apply`` would create, read as kubectl
reads it, see :mod:`.yamlsrc`):

* any object with a list ``items`` is a list, whatever its kind (``List``, ``PodList``,
  ``DeploymentList``, ...): kubectl applies its items (recursively), not the object;
* every *pod spec*, wherever it sits in any kind (Pod, Deployment, StatefulSet, DaemonSet,
  ReplicaSet, ReplicationController, Job, CronJob, PodTemplate, and CRDs that embed one: Argo
  Rollouts ``spec.template.spec``, Knative Services, KEDA ScaledJobs ``jobTargetRef.template``,
  Tekton ``podTemplate``, ...): a mapping holding ``containers``, ``initContainers`` or
  ``ephemeralContainers``; its pod-level rules run and every container is checked with the
  pod-level ``securityContext`` merged under the container-level one (container wins);
* every other ``image:`` string anywhere in an object (Tekton ``steps`` / ``sidecars`` /
  ``stepTemplate``, Argo Workflows ``container`` / ``script``, operators' ``spec.image``, ...),
  and image volumes (``volumes[].image.reference``): each is an image reference the gate judges.

``metadata`` and ``status`` are not searched, nor the ``data`` of (core ``v1``) ConfigMaps and Secrets. A
container ``image`` that is not a string, and a document the deployers read ambiguously, are
refused (SC-GATE-007).
"""

from __future__ import annotations

from typing import Any

from supplychain.policy import hardening
from supplychain.policy.context import Collector, ImageUse
from supplychain.policy.secrets import secret_reason
from supplychain.policy.unresolved import refuse
from supplychain.policy.yamlsrc import Pos, YMap, YSeq, problems_of

TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}
_DANGEROUS_HOST_PATHS = {"/", "/var/run/docker.sock", "/run/docker.sock", "/var/run",
                         "/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock",
                         "/var/run/crio/crio.sock", "/run/podman/podman.sock"}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_NOT_SEARCHED = frozenset({"metadata", "status"})
_DATA_KINDS = frozenset({"ConfigMap", "Secret"})
_DATA_KEYS = frozenset({"data", "stringData", "binaryData"})


def is_manifest(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("apiVersion"), str) and isinstance(doc.get("kind"), str)


def is_list(doc: Any) -> bool:
    """kubectl treats any object whose ``items`` is a list as a list of objects to apply."""
    return isinstance(doc, dict) and isinstance(doc.get("items"), list)


def pod_spec(doc: YMap) -> tuple[YMap | None, str]:
    """The first pod spec of an object and its path (e.g. ``spec.template.spec``)."""
    for spec, path in pod_specs(doc):
        return spec, path
    return None, ""


def pod_specs(doc: YMap) -> list[tuple[YMap, str]]:
    """Every pod spec in an object (a mapping with a container list), with its path."""
    return [(m, p) for m, p, pod in _walk(doc) if pod]


def _walk(doc: YMap) -> list[tuple[YMap, str, bool]]:
    """Mappings of interest in document order: (map, path, is_pod_spec); pod specs, and maps
    with an ``image`` key."""
    out: list[tuple[YMap, str, bool]] = []
    skip_data = doc.get("kind") in _DATA_KINDS and doc.get("apiVersion") == "v1"  # not a CRD of that name
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, YMap):
            if any(isinstance(node.get(k), YSeq) for k in CONTAINER_LISTS):
                out.append((node, path, True))
            elif "image" in node:
                out.append((node, path, False))
            children = []
            for k, v in node.items():
                if not isinstance(v, (YMap, YSeq)):
                    continue
                if path == "" and (k in _NOT_SEARCHED or (skip_data and k in _DATA_KEYS)):
                    continue
                children.append((v, f"{path}.{k}" if path else str(k)))
            stack.extend(reversed(children))
        elif isinstance(node, YSeq):
            stack.extend(reversed([(v, f"{path}[{i}]") for i, v in enumerate(node)
                                   if isinstance(v, (YMap, YSeq))]))
    return out


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
    for line, column, what in problems_of(doc):
        refuse(col, line, column, f"{what}; the gate cannot know which image is deployed",
               fix="write the value once, without a merge key (<<) that overrides or is overridden "
                   "by an explicit key, and without duplicated keys",
               context="ambiguous YAML")
    _check_object(doc, col)


def _check_object(doc: YMap, col: Collector) -> None:
    kind = doc.get("kind")
    if is_list(doc):  # kubectl applies the items of any list object, not the object itself
        for item in doc["items"]:
            if isinstance(item, YMap) and (is_manifest(item) or is_list(item)):
                _check_object(item, col)
        if isinstance(kind, str) and kind.endswith("List"):
            return
        # kubectl kustomize unwraps only kinds named *List and keeps this object too: judge both
        pos = doc.where_key("items")
        refuse(col, pos.line, pos.column,
               f"a {kind} with a list `items` is ambiguous: kubectl apply deploys only its items, "
               "kubectl kustomize deploys the object and its items",
               fix="move the items into their own documents", context="ambiguous list")
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, YMap) else None
    obj = f"{kind}/{name or '?'}"
    containers: set[int] = set()
    walked = _walk(doc)
    hardening.k8s_object(doc, col, any(is_pod for _n, _p, is_pod in walked))
    hardening.k8s_annotations(obj, doc, col)
    for node, path, is_pod in walked:
        if is_pod:
            for _key, _i, c in iter_containers(node):
                containers.add(id(c))
            vols = node.get("volumes")  # their `image: {reference: ...}` is read by _check_pod
            if isinstance(vols, YSeq):
                containers.update(id(v) for v in vols if isinstance(v, YMap))
            _check_pod(obj, node, col)
            if "image" in node and id(node) not in containers:  # a CRD's own image beside its pod spec
                _other_image(obj, path, node, col)
        elif id(node) not in containers:
            _other_image(obj, path, node, col)
    _annotation_images(obj, doc, col)


def _other_image(obj: str, path: str, node: YMap, col: Collector) -> None:
    image = node.get("image")
    where = f"{obj} {path + '.' if path else ''}image"
    if isinstance(image, str):  # (image volumes, `image: {reference: ...}`, belong to pod specs)
        _record(col, node, "image", image, where)
    elif image is not None:  # e.g. an operator's `image: {repository: ..., tag: ...}`: it deploys
        pos = node.where("image")  # an image the gate cannot name, so it cannot verify it
        refuse(col, pos.line, pos.column,
               f"{where} is a {type(image).__name__}, not an image reference string; the image it "
               "deploys cannot be determined", fix="write the image as one reference string", context=where)


# Annotations that make a sidecar injector (a mutating webhook) run the image they name in the pod
IMAGE_ANNOTATIONS = frozenset({
    "sidecar.istio.io/proxyImage",  # Istio
    "config.linkerd.io/proxy-image", "config.linkerd.io/init-image", "config.linkerd.io/debug-image",  # Linkerd
    "vault.hashicorp.com/agent-image",  # Vault Agent injector
    "dapr.io/sidecar-image",  # Dapr
})


def _annotation_images(obj: str, doc: YMap, col: Collector) -> None:
    """Images named by injector annotations of the object or its pod templates (the injected
    container runs them although no ``image:`` field says so)."""
    for ann in hardening.annotation_maps(doc):
        for key, value in ann.items():
            if key in IMAGE_ANNOTATIONS and isinstance(value, str):
                _record(col, ann, key, value, f"{obj} annotation {key}")


def _record(col: Collector, node: YMap, key: str, text: str, context: str) -> None:
    pos = node.where(key)
    column = pos.column + (1 if pos.style in ("'", '"') else 0)
    col.image(ImageUse(file=col.file, line=pos.line, column=column, text=text,
                       literal=pos.style in ("", "'", '"'), context=context))


def _check_pod(obj: str, spec: YMap, col: Collector) -> None:
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
            img = vol.get("image")
            if isinstance(img, YMap) and isinstance(img.get("reference"), str):
                _record(col, img, "reference", img["reference"],
                        f"{obj} volume {vol.get('name')!r} image.reference")
    hardening.k8s_pod(obj, spec, iter_containers(spec), col, _DANGEROUS_HOST_PATHS)
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
        _record(col, c, "image", image, where)
    elif image is not None:
        pos = c.where("image")
        refuse(col, pos.line, pos.column,
               f"{where}: image is {type(image).__name__} {image!r}, not a string; YAML readers "
               f"disagree on such values (kubectl apply sends a {type(image).__name__}, kubectl "
               "kustomize and docker compose may read the text)",
               fix="quote the image reference", context=where)
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
